// The bridge under measurement, alone in its own process so that its RSS is its own.
// Started by bench/bridge.ts with child_process.fork (execArgv: --import tsx --expose-gc) and one
// argument, a JSON RunnerConfig. It builds a Bridge for one namespace and a fresh task queue (no
// worker: workflows start and wait), records every onSignalled latency, samples RSS every 200 ms,
// and answers IPC requests (see RunnerRequest / RunnerReply).
import { pathToFileURL } from 'node:url';

import { Client, Connection } from '@temporalio/client';

import { Bridge } from '../src/bridge/bridge.js';
import { loadKubeConfig, makeKubeClients } from '../src/activities/kube-client.js';
import { createLogger } from '../src/util/log.js';

export interface RunnerConfig {
  kubeconfig: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** The Kubernetes namespace the bridge drives. */
  namespace: string;
  taskQueue: string;
  /** The bridge's signal concurrency; its own default when absent. */
  concurrency?: number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export type RunnerRequest =
  | { id: number; cmd: 'stats'; since?: number; detail?: boolean }
  | { id: number; cmd: 'reset' }
  | { id: number; cmd: 'settle' }
  | { id: number; cmd: 'stop' };

export interface RunnerStats {
  /** Bytes, now. */
  rss: number;
  /** Bytes, highest sample since start or the last reset. */
  peakRss: number;
  /** Bytes, highest sample since start (never reset). */
  peakRssEver: number;
  heapUsed: number;
  tracked: number;
  /** Over the signals acknowledged at or after `since` (Date.now() ms) and since the last reset. */
  latencies: LatencySummary;
  /** Distinct workflows signalled since the last reset. */
  distinct: number;
  /** Date.now() of the first and latest acknowledgement since the last reset (0 when none). */
  firstAckAt: number;
  lastAckAt: number;
  /** Signal attempts the bridge logged as failed (and retried) since start. */
  retries: number;
  /** With `detail`: [workflow id, Date.now() of its ack] for every signal since the last reset. */
  acks?: [string, number][];
}

export type RunnerReply =
  | { type: 'ready'; baselineRss: number; startedAt: number }
  | { type: 'fatal'; message: string }
  | { type: 'reply'; id: number; stats?: RunnerStats; rssAfterSettle?: number; error?: string };

const SAMPLE_MS = 200;

export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

class Recorder {
  latencies: number[] = [];
  ackAt: number[] = [];
  keys: string[] = [];
  distinct = new Set<string>();
  peakRss = 0;
  peakRssEver = 0;
  retries = 0;

  record(key: string, latencyMs: number): void {
    this.latencies.push(latencyMs);
    this.ackAt.push(Date.now());
    this.keys.push(key);
    this.distinct.add(key);
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakRss) this.peakRss = rss;
    if (rss > this.peakRssEver) this.peakRssEver = rss;
  }

  reset(): void {
    this.latencies = [];
    this.ackAt = [];
    this.keys = [];
    this.distinct = new Set();
    this.peakRss = process.memoryUsage.rss();
  }

  stats(tracked: number, since: number | undefined, detail: boolean): RunnerStats {
    this.sample();
    const from = since === undefined ? 0 : this.firstIndexAtOrAfter(since);
    const memory = process.memoryUsage();
    return {
      rss: memory.rss,
      peakRss: this.peakRss,
      peakRssEver: this.peakRssEver,
      heapUsed: memory.heapUsed,
      tracked,
      latencies: summarize(this.latencies.slice(from)),
      distinct: this.distinct.size,
      firstAckAt: this.ackAt[0] ?? 0,
      lastAckAt: this.ackAt[this.ackAt.length - 1] ?? 0,
      retries: this.retries,
      ...(detail ? { acks: this.keys.map((k, i): [string, number] => [k, this.ackAt[i]!]) } : {}),
    };
  }

  private firstIndexAtOrAfter(since: number): number {
    let lo = 0;
    let hi = this.ackAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ackAt[mid]! < since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function send(message: RunnerReply): void {
  process.send?.(message);
}

async function settle(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 300));
  }
  return process.memoryUsage.rss();
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RunnerConfig;
  const recorder = new Recorder();
  // Count the bridge's retry warnings; pass every line through to stderr.
  const log = createLogger('warn', { component: 'bench-bridge' }, (line) => {
    if (line.includes('"msg":"signal failed')) recorder.retries++;
    process.stderr.write(line + '\n');
  });

  const kube = makeKubeClients(loadKubeConfig(config.kubeconfig));
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });

  const baselineRss = await settle();
  recorder.sample();
  const sampler = setInterval(() => recorder.sample(), SAMPLE_MS);

  const bridge = new Bridge({
    kubeConfig: kube.config,
    custom: kube.custom,
    temporal,
    taskQueue: config.taskQueue,
    namespace: config.namespace,
    ...(config.concurrency ? { concurrency: config.concurrency } : {}),
    log,
    onSignalled: (key, latencyMs) => recorder.record(key, latencyMs),
  });
  const startedAt = Date.now();
  bridge.start();
  send({ type: 'ready', baselineRss, startedAt });

  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    clearInterval(sampler);
    await Promise.race([bridge.stop(), new Promise((r) => setTimeout(r, 15_000))]);
    await connection.close();
  };

  process.on('message', (raw: unknown) => {
    const request = raw as RunnerRequest;
    const reply = (extra: Omit<Extract<RunnerReply, { type: 'reply' }>, 'type' | 'id'> = {}): void =>
      send({ type: 'reply', id: request.id, ...extra });
    switch (request.cmd) {
      case 'stats':
        reply({ stats: recorder.stats(bridge.trackedCount, request.since, request.detail ?? false) });
        return;
      case 'reset':
        recorder.reset();
        reply();
        return;
      case 'settle':
        void settle().then((rss) => reply({ rssAfterSettle: rss }));
        return;
      case 'stop':
        if (stopping) return;
        void stop()
          .catch((err: unknown) => process.stderr.write(`bridge-runner: stop: ${String(err)}\n`))
          .finally(() => {
            reply();
            // Let the reply reach the parent before leaving.
            setTimeout(() => process.exit(0), 50);
          });
        return;
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    if (!stopping) void stop().finally(() => process.exit(0));
  });
}

// Run only as the forked child, not when bench/bridge.ts imports summarize() or the types.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    send({ type: 'fatal', message });
    process.stderr.write(`bridge-runner: ${message}\n`);
    setTimeout(() => process.exit(1), 50);
  });
}
