import { hostname } from 'node:os';

import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  DefaultLogger,
  type LogLevel as TemporalLogLevel,
} from '@temporalio/worker';

import { loadKubeConfig, makeKubeClients, type KubeClients } from '../activities/kube-client.js';
import { Bridge } from '../bridge/bridge.js';
import { LeaseElector } from '../bridge/leader.js';
import { ensureSearchAttributes } from '../search-attributes.js';
import { resolveTemporalSettings, type TemporalFlags, type TemporalSettings } from '../temporal-config.js';
import { createLogger, errorText, type LogLevel, type Logger } from '../util/log.js';
import { createWorker } from '../worker.js';

export interface RunOptions extends TemporalFlags {
  kubeconfig?: string;
  watchNamespace?: string;
  taskQueue: string;
  logLevel: LogLevel;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  bridge: boolean;
  worker: boolean;
  relistIntervalSeconds: number;
  /** Lifetime of join tokens unless a Cluster's annotation says otherwise. */
  tokenTtlSeconds: number;
}

/** `k0sflow run`: the bridge (while leader) and the worker, until SIGINT or SIGTERM. */
export async function run(opts: RunOptions): Promise<void> {
  const log = createLogger(opts.logLevel, { component: 'k0sflow' });
  const temporalLogLevel: TemporalLogLevel = opts.logLevel === 'debug' ? 'DEBUG' : 'WARN';
  Runtime.install({ logger: new DefaultLogger(temporalLogLevel), shutdownSignals: [] });

  const kube = makeKubeClients(loadKubeConfig(opts.kubeconfig));
  const temporal = resolveTemporalSettings(opts);
  const identity = `${hostname()}-${process.pid}`;
  log.info('starting', {
    temporal: temporal.connection.address,
    temporalNamespace: temporal.namespace,
    taskQueue: opts.taskQueue,
    kubernetes: kube.config.getCurrentCluster()?.server,
    watchNamespace: opts.watchNamespace ?? '(all)',
    tokenTtlSeconds: opts.tokenTtlSeconds,
  });

  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info('shutting down', { signal });
      stop.abort();
    });
  }

  const ctx: RunContext = { opts, temporal, kube, identity, stop: stop.signal, log };
  const tasks: Promise<void>[] = [];
  if (opts.worker) tasks.push(runWorker(ctx));
  if (opts.bridge) tasks.push(runBridge(ctx));
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    log.error('stopped with an error', { error: errorText(failed.reason) });
    process.exitCode = 1;
  }
  log.info('stopped');
}

/** What the worker and the bridge of one `k0sflow run` share. */
interface RunContext {
  opts: RunOptions;
  temporal: TemporalSettings;
  kube: KubeClients;
  identity: string;
  stop: AbortSignal;
  log: Logger;
}

async function runWorker({ opts, temporal, kube, identity, stop, log }: RunContext): Promise<void> {
  const connection = await NativeConnection.connect(temporal.connection);
  try {
    const worker = await createWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: opts.taskQueue,
      kube,
      identity,
      tokenTtlSeconds: opts.tokenTtlSeconds,
    });
    log.info('worker running', { taskQueue: opts.taskQueue });
    // Graceful: on stop the worker stops polling and lets running activities finish (or be cancelled)
    // first. runUntil also covers a stop that came while the worker was still being created.
    await worker.runUntil(waitForAbort(stop));
  } finally {
    await connection.close();
  }
}

async function runBridge({ opts, temporal, kube, identity, stop, log }: RunContext): Promise<void> {
  const connection = await Connection.connect(temporal.connection);
  try {
    await ensureSearchAttributes(connection, temporal.namespace, log);
    const client = new Client({ connection, namespace: temporal.namespace });
    const drive = async (lost: AbortSignal): Promise<void> => {
      const bridge = new Bridge({
        kubeConfig: kube.config,
        custom: kube.custom,
        temporal: client,
        taskQueue: opts.taskQueue,
        ...(opts.watchNamespace ? { namespace: opts.watchNamespace } : {}),
        relistIntervalMs: opts.relistIntervalSeconds * 1000,
        log: log.child({ part: 'bridge' }),
      });
      bridge.start();
      log.info('bridge running');
      await waitForAbort(lost);
      await bridge.stop();
    };
    if (!opts.leaderElect) {
      await drive(stop);
      return;
    }
    const elector = new LeaseElector({
      coordination: kube.coordination,
      core: kube.core,
      namespace: opts.leaderElectionNamespace,
      name: opts.leaderElectionId,
      identity,
      log: log.child({ part: 'leader-election' }),
    });
    stop.addEventListener('abort', () => elector.stop());
    await elector.run(drive);
  } finally {
    await connection.close();
  }
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
