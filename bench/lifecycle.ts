// Starting and stopping what a benchmark runs on: its options, the proving ground, the k0sflow process
// under measure, and the process's exit. Whatever happens (a failure, Ctrl-C), the proving ground goes.
import { join } from 'node:path';

import type { Client } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';

import { readLog, repoRoot, startK0sflow, temporalClient, type K0sflowProcess } from '../test/harness/env.js';
import { down, up, type ProvingGroundEnv } from '../test/proving-ground/index.js';
import { pollUntil } from './measure.js';
import { errorText } from './report.js';

type Say = (msg: string) => void;

// ---------------------------------------------------------------- options

/** Where a bench keeps its proving ground, with its results.json: .proving-ground/<name> (not in git). */
export function benchDir(name: string): { dir: string; results: string } {
  const dir = join(repoRoot, '.proving-ground', name);
  return { dir, results: join(dir, 'results.json') };
}

/** `--sizes 1,10,50`: how many objects each round of a bench creates. */
export function parseSizesOption(opts: {
  bench: string;
  description: string;
  /** What a size counts, for --help. */
  counts: string;
  defaults: number[];
  max: number;
}): { sizes: number[] } {
  const parseSizes = (value: string): number[] => {
    const list = value.split(',').map((v) => Number(v.trim()));
    if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0 || n > opts.max))
      throw new InvalidArgumentError(`expected whole numbers from 1 to ${opts.max}, comma-separated`);
    return list;
  };
  return new Command(opts.bench)
    .description(opts.description)
    .option('--sizes <list>', `${opts.counts} to measure, comma-separated`, parseSizes, opts.defaults)
    .parse()
    .opts<{ sizes: number[] }>();
}

// ---------------------------------------------------------------- k0sflow

/** The k0sflow process under measure, so that a failure or a signal can stop it. */
let running: K0sflowProcess | undefined;

export const runningK0sflow = (): K0sflowProcess | undefined => running;

/**
 * `k0sflow run` as the integration tests run it, but with production's log level and relist period
 * (a relist signals every workflow: extra history events, extra work).
 */
export function startBenchK0sflow(namespace: string): K0sflowProcess {
  running = startK0sflow({ namespace, extraArgs: ['--log-level', 'info', '--relist-interval', '600'] });
  return running;
}

/** startBenchK0sflow, and waits until its worker and bridge run: start-up is not what is measured. */
export async function startBenchK0sflowReady(namespace: string): Promise<K0sflowProcess> {
  const proc = startBenchK0sflow(namespace);
  const ready = await pollUntil(() => {
    const log = readLog(proc);
    return Promise.resolve(log.includes('"msg":"worker running"') && log.includes('"msg":"bridge running"'));
  }, 120_000);
  if (!ready)
    throw new Error(`k0sflow did not start its worker and bridge within 120 s (log ${proc.logFile})`);
  return proc;
}

export async function stopBenchK0sflow(proc: K0sflowProcess): Promise<void> {
  await proc.stop();
  if (running === proc) running = undefined;
}

// ---------------------------------------------------------------- the proving ground

/**
 * On SIGINT/SIGTERM: kills k0sflow, takes down the proving ground in `dir` (if the bench started one)
 * and exits 130; a second signal does not start a second teardown.
 */
export function stopOnSignals(dir: string | undefined, say: Say): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    say(`${sig}: stopping`);
    running?.process.kill('SIGKILL');
    void (dir ? down(dir) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/**
 * A bench's whole run: a proving ground in `dir` (CAPI, no second cluster), each size in turn (printed
 * as soon as it is measured), then results.json and the summary. Whatever happens, k0sflow, the Temporal
 * connection and the proving ground are stopped; a failure still writes and prints what was measured
 * (while everything is up), then goes on to runBench.
 */
export async function runSizes<Context, Result>(bench: {
  dir: string;
  hosts: number;
  sizes: number[];
  say: Say;
  /** What every size needs (clients, a child cluster), once the proving ground is up. */
  prepare: (pg: { env: ProvingGroundEnv; client: Client }) => Promise<Context>;
  runSize: (ctx: Context, n: number) => Promise<Result>;
  printSize: (result: Result) => void;
  /** The last look while k0sflow still runs: after the last size, or on a failure. */
  beforeStop?: () => void;
  /** Writes results.json, with `error` when the bench failed. */
  write: (results: Result[], error?: string) => void;
  printSummary: (results: Result[]) => void;
}): Promise<void> {
  stopOnSignals(bench.dir, bench.say);
  const results: Result[] = [];
  let temporalClose: (() => Promise<void>) | undefined;
  try {
    const env = await up({ dir: bench.dir, hosts: bench.hosts, second: false, capi: true });
    // The harness helpers find the proving ground through this.
    process.env.K0SFLOW_PG_ENV = join(bench.dir, 'env.json');
    const temporal = await temporalClient();
    temporalClose = temporal.close;
    const ctx = await bench.prepare({ env, client: temporal.client });
    for (const n of bench.sizes) {
      const result = await bench.runSize(ctx, n);
      results.push(result);
      bench.printSize(result);
    }
    bench.beforeStop?.();
  } catch (err) {
    bench.beforeStop?.();
    bench.write(results, errorText(err));
    if (results.length > 0) bench.printSummary(results);
    throw err;
  } finally {
    await running?.stop().catch(() => undefined);
    await temporalClose?.().catch(() => undefined);
    await down(bench.dir).catch((err: unknown) => bench.say(`down: ${errorText(err)}`));
  }
  bench.write(results);
  bench.printSummary(results);
}

/** Runs a bench's main and exits with its code; 1, with the stack, only when the bench itself could not run. */
export function runBench(main: () => Promise<number>, say: Say): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    }
  );
}
