// Shared helpers for integration tests: the proving ground started once by jest's global setup,
// a namespace per test, and k0sflow itself run as a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

import {
  CustomObjectsApi,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { parseAllDocuments } from 'yaml';

import type { ProvingGroundEnv } from '../proving-ground/index.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

export function provingGround(): ProvingGroundEnv {
  const path = process.env.K0SFLOW_PG_ENV;
  if (!path) throw new Error('K0SFLOW_PG_ENV is not set: run integration tests through jest (global setup)');
  return JSON.parse(readFileSync(path, 'utf8')) as ProvingGroundEnv;
}

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
}

export function managementKube(): Kube {
  const config = new KubeConfig();
  config.loadFromFile(provingGround().management.kubeconfig);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(config),
  };
}

/** A fresh namespace per test file: tests share servers, never objects. */
export async function createNamespace(kube: Kube, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kube.core.createNamespace({ body: { metadata: { name, labels: { 'k0sflow.dev/test': prefix } } } });
  return name;
}

/** Parses a multi-document YAML manifest into objects. */
export function parseManifests(text: string): KubernetesObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === 'object');
}

/** Creates each object in `namespace`, in order, as `kubectl create -n` would. */
export async function createAll(
  kube: Kube,
  namespace: string,
  objects: KubernetesObject[]
): Promise<KubernetesObject[]> {
  const created: KubernetesObject[] = [];
  for (const object of objects) {
    const body = { ...object, metadata: { ...object.metadata, namespace } };
    created.push(await kube.objects.create(body));
  }
  return created;
}

/** The message of a rejected API request, for asserting on validation errors. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        return (JSON.parse(body) as { message: string }).message;
      } catch {
        return body;
      }
    }
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('expected the API server to reject the request');
}

/** Polls until `check` stops throwing; returns its value. Timeouts are generous: tests never assert speed. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 60_000,
  everyMs = 250
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const env = provingGround();
  const connection = await Connection.connect({ address: env.temporal.address });
  return {
    client: new Client({ connection, namespace: env.temporal.namespace }),
    close: () => connection.close(),
  };
}

export interface K0sflowProcess {
  process: ChildProcess;
  logFile: string;
  /** SIGTERM and wait: a graceful shutdown. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Runs `k0sflow run` from source against the proving ground, scoped to one namespace and task queue. */
export function startK0sflow(opts: {
  namespace: string;
  taskQueue?: string;
  extraArgs?: string[];
  name?: string;
}): K0sflowProcess {
  const env = provingGround();
  const logDir = join(repoRoot, '.proving-ground', 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `k0sflow-${opts.name ?? opts.namespace}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const args = [
    '--import',
    'tsx',
    join(repoRoot, 'src/cli/main.ts'),
    'run',
    '--watch-namespace',
    opts.namespace,
    '--task-queue',
    opts.taskQueue ?? opts.namespace,
    '--leader-election-namespace',
    opts.namespace,
    '--relist-interval',
    '30',
    '--log-level',
    'debug',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      KUBECONFIG: env.management.kubeconfig,
      TEMPORAL_ADDRESS: env.temporal.address,
      TEMPORAL_NAMESPACE: env.temporal.namespace,
      TEMPORAL_CONFIG_FILE: '/nonexistent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let stopping = false;
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code, signal) => {
      // An exit nobody asked for is a test failure's cause: show it where jest prints output.
      if (!stopping)
        console.error(`k0sflow exited unexpectedly (code ${code}, signal ${signal}):\n${tail(logFile)}`);
      resolveExit(code);
    })
  );
  return {
    process: child,
    logFile,
    exited,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 30_000)));
      const outcome = await Promise.race([exited, deadline]);
      clearTimeout(timer);
      if (outcome !== 'hung') return outcome;
      child.kill('SIGKILL');
      await exited;
      throw new Error(`k0sflow did not shut down within 30 s of SIGTERM:\n${tail(logFile)}`);
    },
    async kill() {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function readLog(proc: K0sflowProcess): string {
  return readFileSync(proc.logFile, 'utf8');
}
