// Bridge benchmark: RSS and event-to-signal latency of the bridge at 1,000 and 5,000 objects.
//
//   npm run bench:bridge -- [--objects 1000,5000] [--env PATH/env.json] [--rate 100] [--updates 1000]
//
// Without --env it starts a proving ground in .proving-ground/bench (capi: true) and stops it at the
// end. The bridge runs in a child process (bench/bridge-runner.ts) so that its RSS is its own. It
// prints a table and, last, one JSON line with every figure. Benches print; they never fail on a
// timing (exit 1 only when the bench itself could not run). See bench/README.md.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Connection } from '@temporalio/client';
import type { KubeConfig } from '@kubernetes/client-node';
import { Command, InvalidArgumentError } from 'commander';

import {
  loadKubeConfig,
  makeKubeClients,
  httpStatusOf,
  type KubeClients,
} from '../src/activities/kube-client.js';
import { down, readEnv, up, type ProvingGroundEnv } from '../test/proving-ground/index.js';
import {
  summarize,
  type LatencySummary,
  type RunnerConfig,
  type RunnerReply,
  type RunnerRequest,
  type RunnerStats,
} from './bridge-runner.js';
import { runBench, stopOnSignals } from './lifecycle.js';
import { round, sleep } from './measure.js';
import { machineFacts, sayAs, table } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const RUNNER = join(here, 'bridge-runner.ts');

const RC = {
  group: 'infrastructure.cluster.x-k8s.io',
  version: 'v1beta1',
  plural: 'remoteclusters',
} as const;
const TARGET = { rssMiB: 300, p99Ms: 200, atObjects: 5000 } as const;
const CREATE_CONCURRENCY = 32;
const PATCH_MAX_IN_FLIGHT = 64;
const MiB = 1024 * 1024;

interface Options {
  objects: number[];
  env?: string;
  rate: number;
  updates: number;
  concurrency?: number;
  /** A compiled bridge-runner.js run with plain node (no tsx), for production-like RSS. */
  runnerJs?: string;
}

interface SizeResult {
  objects: number;
  namespace: string;
  create: { ms: number; perSecond: number };
  runner: 'tsx' | 'compiled';
  runnerBaselineMiB: number;
  initialSync: {
    ms: number;
    perSecond: number;
    signalled: number;
    complete: boolean;
    latencyMs: LatencySummary;
    peakRssMiB: number;
  };
  steady: {
    updates: number;
    rate: number;
    achievedRate: number;
    patchMs: LatencySummary;
    signalled: number;
    complete: boolean;
    drainMs: number;
    latencyMs: LatencySummary;
    /** From the bench sending the patch to Temporal acknowledging the signal (wall clock, both processes). */
    patchToSignalMs: LatencySummary;
    peakRssMiB: number;
  };
  peakRssMiB: number;
  rssAfterSettleMiB: number;
  heapUsedAfterSettleMiB: number;
  tracked: number;
  retries: number;
  /** Only where objects === 5000 (the targets are stated at 5,000); null elsewhere. */
  verdict: { rss: 'PASS' | 'MISS'; p99: 'PASS' | 'MISS' } | null;
}

// ---------------------------------------------------------------- small helpers

const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;
const say = sayAs('bench');

function roundSummary(s: LatencySummary): LatencySummary {
  return {
    count: s.count,
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    max: round(s.max),
    mean: round(s.mean),
  };
}

/** Runs `task` over `items` with at most `limit` at once. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Retries throttling and server errors a few times; anything else throws at once. */
async function withRetry<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = httpStatusOf(err);
      const transient = status === undefined || status === 429 || status >= 500;
      if (!transient || attempt >= 4)
        throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      await sleep(200 * 2 ** attempt);
    }
  }
}

/** Polls `probe` until it returns a value `done` accepts or `timeoutMs` passes; returns the last value. */
async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 100
): Promise<{ value: T; ok: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return { value, ok: true };
    if (Date.now() >= deadline) return { value, ok: false };
    await sleep(everyMs);
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

// ---------------------------------------------------------------- the runner process

type RequestBody = RunnerRequest extends infer R ? (R extends RunnerRequest ? Omit<R, 'id'> : never) : never;

class Runner {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (r: Extract<RunnerReply, { type: 'reply' }>) => void; reject: (e: Error) => void }
  >();
  private exited: Error | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => {
      const msg = raw as RunnerReply;
      if (msg.type !== 'reply') return;
      this.waiting.get(msg.id)?.resolve(msg);
      this.waiting.delete(msg.id);
    });
    child.on('exit', (code, signal) => {
      this.exited = new Error(`bridge runner exited (${signal ?? code})`);
      for (const w of this.waiting.values()) w.reject(this.exited);
      this.waiting.clear();
    });
  }

  static async start(
    config: RunnerConfig,
    runnerJs: string | undefined,
    timeoutMs = 60_000
  ): Promise<{ runner: Runner; baselineRss: number; startedAt: number }> {
    // tsx compiles on the fly in a loader thread, which costs RSS of its own (see bench/README.md).
    const child = fork(runnerJs ? resolve(runnerJs) : RUNNER, [JSON.stringify(config)], {
      cwd: repoRoot,
      execArgv: runnerJs ? ['--expose-gc'] : ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const runner = new Runner(child);
    const ready = await new Promise<Extract<RunnerReply, { type: 'ready' }>>((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`bridge runner not ready within ${timeoutMs} ms`)),
        timeoutMs
      );
      child.on('message', (raw: unknown) => {
        const msg = raw as RunnerReply;
        if (msg.type === 'ready') {
          clearTimeout(timer);
          res(msg);
        } else if (msg.type === 'fatal') {
          clearTimeout(timer);
          rej(new Error(`bridge runner failed: ${msg.message}`));
        }
      });
      child.on(
        'exit',
        (code) => (clearTimeout(timer), rej(new Error(`bridge runner exited (${code}) before it was ready`)))
      );
    }).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
    return { runner, baselineRss: ready.baselineRss, startedAt: ready.startedAt };
  }

  request(body: RequestBody, timeoutMs = 30_000): Promise<Extract<RunnerReply, { type: 'reply' }>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        rej(new Error(`bridge runner: no answer to ${body.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => (clearTimeout(timer), res(r)),
        reject: (e) => (clearTimeout(timer), rej(e)),
      });
      const message: RunnerRequest = { ...body, id };
      this.child.send(message);
    });
  }

  async stats(since?: number, detail = false): Promise<RunnerStats> {
    const reply = await this.request({ cmd: 'stats', ...(since !== undefined ? { since } : {}), detail });
    if (!reply.stats) throw new Error(`bridge runner: stats: ${reply.error ?? 'no stats'}`);
    return reply.stats;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.request({ cmd: 'stop' }, 20_000).catch(() => undefined);
    await Promise.race([gone, sleep(5_000)]);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- the load driver's API client

/**
 * A minimal keep-alive HTTPS client for the bench's own creates and patches. @kubernetes/client-node
 * 2.0.1 managed only ~30 requests/s here whatever the concurrency (its https.Agent is built without
 * keepAlive, so likely a TLS handshake per request), too slow to drive 100 patches/s; node:https
 * with a keep-alive agent does ~300/s. The bridge under test uses client-node, untouched.
 */
class KubeRest {
  private constructor(
    private readonly base: URL,
    private readonly agent: Agent,
    private readonly headers: Record<string, string>
  ) {}

  static async from(config: KubeConfig): Promise<KubeRest> {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const tls: RequestOptions = {};
    await config.applyToHTTPSOptions(tls);
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: tls.ca, cert: tls.cert, key: tls.key });
    const headers = Object.fromEntries(
      Object.entries(tls.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])
    );
    return new KubeRest(new URL(cluster.server), agent, headers);
  }

  send(
    method: 'POST' | 'PATCH',
    path: string,
    body: unknown,
    contentType = 'application/json'
  ): Promise<void> {
    const payload = JSON.stringify(body);
    return new Promise((res, rej) => {
      const req = httpsRequest(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method,
          agent: this.agent,
          timeout: 30_000,
          headers: {
            ...this.headers,
            'content-type': contentType,
            'content-length': Buffer.byteLength(payload),
          },
        },
        (resp) => {
          const chunks: Buffer[] = [];
          resp.on('data', (c: Buffer) => chunks.push(c));
          resp.on('end', () => {
            const status = resp.statusCode ?? 0;
            if (status < 400) return res();
            const err = new Error(
              `${method} ${path}: HTTP ${status}: ${Buffer.concat(chunks).toString().slice(0, 300)}`
            );
            rej(Object.assign(err, { code: status }));
          });
        }
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', rej);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const rcPath = (namespace: string, name?: string): string =>
  `/apis/${RC.group}/${RC.version}/namespaces/${namespace}/${RC.plural}${name ? `/${name}` : ''}`;

// ---------------------------------------------------------------- one size

async function createObjects(rest: KubeRest, namespace: string, names: string[]): Promise<number> {
  const t0 = performance.now();
  await pool(names, CREATE_CONCURRENCY, (name) =>
    withRetry(`create ${name}`, () =>
      rest.send('POST', rcPath(namespace), {
        apiVersion: `${RC.group}/${RC.version}`,
        kind: 'RemoteCluster',
        metadata: { name, namespace },
        spec: {},
      })
    )
  );
  return performance.now() - t0;
}

interface PatchRun {
  sentAt: Map<string, number[]>;
  patchMs: number[];
  elapsedMs: number;
}

/** Open loop: patch i is sent at t0 + i/rate, with at most PATCH_MAX_IN_FLIGHT outstanding. */
async function patchAtRate(
  rest: KubeRest,
  namespace: string,
  targets: string[],
  rate: number
): Promise<PatchRun> {
  const sentAt = new Map<string, number[]>();
  const patchMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < targets.length; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= PATCH_MAX_IN_FLIGHT) await Promise.race(inFlight);
    const name = targets[i]!;
    const sent = Date.now();
    const started = performance.now();
    const p = withRetry(`patch ${name}`, () =>
      rest.send(
        'PATCH',
        rcPath(namespace, name),
        { metadata: { labels: { bench: String(i) } } },
        'application/merge-patch+json'
      )
    ).then(
      () => {
        patchMs.push(performance.now() - started);
        const times = sentAt.get(name) ?? [];
        times.push(sent);
        sentAt.set(name, times);
      },
      (err: unknown) => say(`patch failed: ${err instanceof Error ? err.message : String(err)}`)
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  return { sentAt, patchMs, elapsedMs: performance.now() - t0 };
}

/** Wall-clock time from sending a patch to the ack of the signal it caused (latest patch before the ack). */
function patchToSignal(acks: [string, number][], sentAt: Map<string, number[]>): number[] {
  const out: number[] = [];
  for (const [workflowId, ackAt] of acks) {
    const name = workflowId.split('/')[3] ?? '';
    const sends = (sentAt.get(name) ?? []).filter((t) => t <= ackAt);
    if (sends.length > 0) out.push(ackAt - Math.max(...sends));
  }
  return out;
}

/**
 * Best effort, started once after the last size and not awaited to completion: with --env the bench's
 * workflows would wait forever. (Per size it would load Temporal while the next size is measured.)
 */
async function terminateWorkflows(env: ProvingGroundEnv, namespaces: string[]): Promise<void> {
  if (namespaces.length === 0) return;
  const connection = await Connection.connect({ address: env.temporal.address });
  try {
    await connection.workflowService.startBatchOperation({
      namespace: env.temporal.namespace,
      jobId: `bench-cleanup-${randomBytes(4).toString('hex')}`,
      visibilityQuery: `(${namespaces.map((ns) => `K0sflowNamespace = '${ns}'`).join(' OR ')}) AND ExecutionStatus = 'Running'`,
      reason: 'bridge bench cleanup',
      terminationOperation: {},
    });
  } finally {
    await connection.close();
  }
}

function verdictFor(objects: number, peakRssMiB: number, p99: number): SizeResult['verdict'] {
  if (objects !== TARGET.atObjects) return null;
  return { rss: peakRssMiB <= TARGET.rssMiB ? 'PASS' : 'MISS', p99: p99 <= TARGET.p99Ms ? 'PASS' : 'MISS' };
}

async function runSize(
  used: string[],
  kube: KubeClients,
  rest: KubeRest,
  env: ProvingGroundEnv,
  n: number,
  opts: Options
): Promise<SizeResult> {
  const namespace = `bench-${n}-${randomBytes(3).toString('hex')}`;
  used.push(namespace);
  const names = Array.from({ length: n }, (_, i) => `rc-${String(i).padStart(5, '0')}`);
  say(`${n} objects: namespace ${namespace}`);
  await withRetry('create namespace', () =>
    kube.core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'k0sflow.dev/bench': 'bridge' } } },
    })
  );
  let runner: Runner | undefined;
  try {
    const createMs = await createObjects(rest, namespace, names);
    say(`${n} objects: created in ${(createMs / 1000).toFixed(1)} s`);

    // Phase 1: initial sync.
    const started = await Runner.start(
      {
        kubeconfig: env.management.kubeconfig,
        temporalAddress: env.temporal.address,
        temporalNamespace: env.temporal.namespace,
        namespace,
        taskQueue: `bench-${namespace}-${randomBytes(3).toString('hex')}`,
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      },
      opts.runnerJs
    );
    runner = started.runner;
    const r = runner;
    const sync = await pollUntil(
      () => r.stats(),
      (s) => s.distinct >= n,
      60_000 + n * 100,
      100
    );
    const syncMs = (sync.value.lastAckAt || Date.now()) - started.startedAt;
    say(
      `${n} objects: initial sync ${sync.ok ? 'done' : 'TIMED OUT'} in ${(syncMs / 1000).toFixed(1)} s (${sync.value.distinct} signalled)`
    );

    // Phase 2: steady state.
    await r.request({ cmd: 'reset' });
    const steadySince = Date.now();
    const updates = opts.updates;
    const targets =
      updates <= n
        ? shuffle([...names]).slice(0, updates)
        : Array.from({ length: updates }, () => names[Math.floor(Math.random() * n)]!);
    const patches = await patchAtRate(rest, namespace, targets, opts.rate);
    const patched = patches.patchMs.length;
    const drainStart = performance.now();
    // Distinct targets cannot fold in the bridge's queue; repeated ones may, so then the distinct count will do.
    const unique = new Set(targets).size;
    const repeats = unique < targets.length;
    const steady = await pollUntil(
      () => r.stats(steadySince),
      (s) => s.latencies.count >= patched || (repeats && s.distinct >= unique),
      120_000 + (updates / opts.rate) * 1000,
      100
    );
    const drainMs = performance.now() - drainStart;
    say(
      `${n} objects: ${patched} patches in ${(patches.elapsedMs / 1000).toFixed(1)} s; ${steady.value.latencies.count} signalled ${steady.ok ? '' : '(TIMED OUT) '}`
    );
    const detail = await r.stats(steadySince, true);
    const settled = await r.request({ cmd: 'settle' });
    const after = await r.stats();

    const peakRssMiB = mib(Math.max(after.peakRssEver, detail.peakRssEver));
    const steadyLatency = roundSummary(detail.latencies);
    return {
      objects: n,
      namespace,
      create: { ms: Math.round(createMs), perSecond: round((n / createMs) * 1000) },
      runner: opts.runnerJs ? 'compiled' : 'tsx',
      runnerBaselineMiB: mib(started.baselineRss),
      initialSync: {
        ms: syncMs,
        perSecond: round((sync.value.distinct / Math.max(1, syncMs)) * 1000),
        signalled: sync.value.distinct,
        complete: sync.ok,
        latencyMs: roundSummary(sync.value.latencies),
        peakRssMiB: mib(sync.value.peakRssEver),
      },
      steady: {
        updates: patched,
        rate: opts.rate,
        achievedRate: round((patched / patches.elapsedMs) * 1000),
        patchMs: roundSummary(summarize(patches.patchMs)),
        signalled: detail.latencies.count,
        complete: steady.ok,
        drainMs: Math.round(drainMs),
        latencyMs: steadyLatency,
        patchToSignalMs: roundSummary(summarize(patchToSignal(detail.acks ?? [], patches.sentAt))),
        peakRssMiB: mib(detail.peakRss),
      },
      peakRssMiB,
      rssAfterSettleMiB: mib(settled.rssAfterSettle ?? after.rss),
      heapUsedAfterSettleMiB: mib(after.heapUsed),
      tracked: after.tracked,
      retries: after.retries,
      verdict: verdictFor(n, peakRssMiB, steadyLatency.p99),
    };
  } finally {
    await runner?.stop();
    await kube.core
      .deleteNamespace({ name: namespace })
      .catch((err: unknown) => say(`delete namespace ${namespace}: ${String(err)}`));
  }
}

// ---------------------------------------------------------------- output

function mark(value: number, target: number, applies: boolean): string {
  if (!applies) return '';
  return `  (target ≤ ${target}: ${value <= target ? 'PASS' : 'MISS'})`;
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

/** The detail of one size, printed as soon as it is measured. */
function printSize(r: SizeResult): void {
  const gate = r.objects === TARGET.atObjects;
  const s = r.steady;
  const sync = r.initialSync;
  const lines = [
    ``,
    `── ${r.objects} RemoteClusters (namespace ${r.namespace})`,
    `  create (bench, ${CREATE_CONCURRENCY} at once)   ${(r.create.ms / 1000).toFixed(1)} s, ${r.create.perSecond}/s`,
    `  runner RSS before bridge start    ${r.runnerBaselineMiB} MiB (node${r.runner === 'tsx' ? ' + tsx' : ''} + clients)`,
    `  initial sync                      ${(sync.ms / 1000).toFixed(1)} s, ${sync.perSecond} signals/s, ${sync.signalled}/${r.objects}${sync.complete ? '' : ' INCOMPLETE'}`,
    `    list-to-signal latency          p50 ${ms(sync.latencyMs.p50)}  p99 ${ms(sync.latencyMs.p99)}  max ${ms(sync.latencyMs.max)}`,
    `    peak RSS                        ${sync.peakRssMiB} MiB`,
    `  steady state                      ${s.updates} patches at ${s.rate}/s (achieved ${s.achievedRate}/s), ${s.signalled} signalled${s.complete ? '' : ' INCOMPLETE'}`,
    `    patch request (bench)           p50 ${ms(s.patchMs.p50)}  p99 ${ms(s.patchMs.p99)}`,
    `    event-to-signal p50             ${ms(s.latencyMs.p50)}`,
    `    event-to-signal p90             ${ms(s.latencyMs.p90)}`,
    `    event-to-signal p99             ${ms(s.latencyMs.p99)}${mark(s.latencyMs.p99, TARGET.p99Ms, gate)}`,
    `    event-to-signal max             ${ms(s.latencyMs.max)}`,
    `    patch-to-signal p50 / p99       ${ms(s.patchToSignalMs.p50)} / ${ms(s.patchToSignalMs.p99)} (wall clock, incl. API server + watch)`,
    `    peak RSS                        ${s.peakRssMiB} MiB`,
    `  peak RSS (whole run)              ${r.peakRssMiB} MiB${mark(r.peakRssMiB, TARGET.rssMiB, gate)}`,
    `  RSS after forced settle (gc)      ${r.rssAfterSettleMiB} MiB (heap used ${r.heapUsedAfterSettleMiB} MiB)`,
    `  tracked / signal retries          ${r.tracked} / ${r.retries}`,
  ];
  console.log(lines.join('\n'));
}

/** One row per size, with the targets beside the gated figures. */
function printSummary(results: SizeResult[]): void {
  const head = [
    'objects',
    'sync s',
    'sync/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'peak RSS MiB',
    'settled MiB',
  ];
  const rows = results.map((r) => {
    const verdict = r.verdict;
    return [
      String(r.objects),
      (r.initialSync.ms / 1000).toFixed(1),
      String(r.initialSync.perSecond),
      r.steady.latencyMs.p50.toFixed(1),
      r.steady.latencyMs.p90.toFixed(1),
      r.steady.latencyMs.p99.toFixed(1) + (verdict ? ` ${verdict.p99}` : ''),
      r.steady.latencyMs.max.toFixed(1),
      r.peakRssMiB.toFixed(1) + (verdict ? ` ${verdict.rss}` : ''),
      r.rssAfterSettleMiB.toFixed(1),
    ];
  });
  console.log(
    [
      ``,
      `runner: ${results[0]?.runner === 'compiled' ? 'node (compiled JS)' : 'node --import tsx'}; p-figures: steady-state event-to-signal latency`,
      ...table(head, rows, 0),
      `targets at ${TARGET.atObjects} objects: peak RSS ≤ ${TARGET.rssMiB} MiB, p99 ≤ ${TARGET.p99Ms} ms (PASS/MISS beside the figure)`,
    ].join('\n')
  );
}

// ---------------------------------------------------------------- main

function parseList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0))
    throw new InvalidArgumentError('expected positive whole numbers, comma-separated');
  return list;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function parseOptions(): Options {
  const program = new Command('bench:bridge')
    .description("the bridge's RSS and event-to-signal latency at a given number of objects")
    .option('--objects <list>', 'object counts to measure, comma-separated', parseList, [1000, 5000])
    .option(
      '--env <path>',
      "a running proving ground's env.json or its dir (else one is started in .proving-ground/bench)"
    )
    .option(
      '--rate <n>',
      'label patches per second in the steady-state phase (the dev server sustains ~35 signals/s on 2 cores)',
      parsePositive,
      20
    )
    .option('--updates <n>', 'label patches in the steady-state phase', parsePositive, 1000)
    .option('--concurrency <n>', "the bridge's signal concurrency (default: the bridge's own)", parsePositive)
    .option(
      '--runner-js <path>',
      'a tsc-compiled bench/bridge-runner.js to run with plain node (default: built into .proving-ground/bench-build)'
    )
    .option('--tsx', 'run the bridge from source under tsx (adds about 90 MiB of RSS for the loader)')
    .parse();
  const o = program.opts<Options & { tsx?: boolean }>();
  // Production runs compiled code: measure that unless asked otherwise.
  const runnerJs = o.runnerJs ?? (o.tsx ? undefined : buildRunner());
  return { ...o, updates: Math.round(o.updates), ...(runnerJs ? { runnerJs } : {}) };
}

/** Compiles the runner and the bridge with tsc, as `npm run build` compiles k0sflow. */
function buildRunner(): string {
  const out = join(repoRoot, '.proving-ground', 'bench-build');
  say(`compiling the runner into ${out}`);
  execFileSync(
    join(repoRoot, 'node_modules/.bin/tsc'),
    ['-p', join(repoRoot, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false', '--noEmit', 'false'],
    { stdio: 'inherit' }
  );
  if (!existsSync(join(out, 'node_modules')))
    symlinkSync(join(repoRoot, 'node_modules'), join(out, 'node_modules'));
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, 'bench/bridge-runner.js');
}

async function main(): Promise<number> {
  const opts = parseOptions();
  const ownDir = opts.env ? undefined : join(repoRoot, '.proving-ground', 'bench');
  stopOnSignals(ownDir, say);

  let env: ProvingGroundEnv;
  if (opts.env) env = readEnv(opts.env.endsWith('.json') ? dirname(resolve(opts.env)) : resolve(opts.env));
  else {
    say(`starting a proving ground in ${ownDir}`);
    env = await up({ dir: ownDir!, capi: true });
  }
  const results: SizeResult[] = [];
  let rest: KubeRest | undefined;
  const namespaces: string[] = [];
  try {
    const kube = makeKubeClients(loadKubeConfig(env.management.kubeconfig));
    rest = await KubeRest.from(kube.config);
    for (const n of opts.objects) {
      try {
        const result = await runSize(namespaces, kube, rest, env, n, opts);
        results.push(result);
        printSize(result);
      } catch (err) {
        say(`${n} objects failed: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
    }
  } finally {
    rest?.close();
    if (!ownDir) {
      await terminateWorkflows(env, namespaces).catch((err: unknown) =>
        say(`terminate workflows of ${namespaces.join(', ')}: ${String(err)}`)
      );
    }
    if (ownDir) await down(ownDir).catch((err: unknown) => say(`down: ${String(err)}`));
  }
  printSummary(results);
  console.log(
    JSON.stringify({
      bench: 'bridge',
      date: new Date().toISOString(),
      machine: machineFacts(),
      options: {
        objects: opts.objects,
        rate: opts.rate,
        updates: opts.updates,
        concurrency: opts.concurrency ?? null,
        runner: opts.runnerJs ? 'node (compiled)' : 'node --import tsx',
      },
      targets: TARGET,
      results,
    })
  );
  return 0;
}

runBench(main, say);
