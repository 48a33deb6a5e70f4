// Measuring helpers shared by the benchmarks: CPU time of a process and of the whole machine, from /proc;
// rounding and percentile summaries; polling that records when things were first seen.
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) of a process so far, from /proc (clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The machine's busy and total CPU time so far, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
  } catch {
    return null;
  }
}

export function busyPercent(
  from: ReturnType<typeof machineCpu>,
  to: ReturnType<typeof machineCpu>
): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return Math.round(((to.busy - from.busy) / (to.total - from.total)) * 100);
}

export interface CpuFigures {
  /** CPU seconds (user + system) the k0sflow process used. */
  k0sflowSeconds: number | null;
  /** Busy share of all the machine's cores, every process (the bench, the proving ground, others). */
  machineBusyPercent: number | null;
}

/** Starts a CPU measurement of `pid` and of the whole machine; the returned function ends it. */
export function cpuMeter(pid: number | undefined): () => CpuFigures {
  const k0 = processCpuSeconds(pid);
  const m0 = machineCpu();
  return () => {
    const k1 = processCpuSeconds(pid);
    return {
      k0sflowSeconds: k0 !== null && k1 !== null ? round(k1 - k0) : null,
      machineBusyPercent: busyPercent(m0, machineCpu()),
    };
  };
}

// ---------------------------------------------------------------- figures

/** Figures are kept to 0.1 (ms, s, KiB): finer is noise at these scales. */
export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Milliseconds since `t0` (a performance.now()), rounded. */
export const sinceMs = (t0: number): number => round(performance.now() - t0);

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  max: number;
}

/** Nearest-rank p50, p90 and maximum of the finite values, rounded to 0.1; NaN when there are none. */
export function summarize(values: readonly (number | null | undefined)[]): Summary {
  const sorted = Float64Array.from(
    values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  );
  if (sorted.length === 0) return { count: 0, p50: NaN, p90: NaN, max: NaN };
  sorted.sort();
  const rank = (p: number): number => round(sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!);
  return { count: sorted.length, p50: rank(0.5), p90: rank(0.9), max: round(sorted[sorted.length - 1]!) };
}

/** A summary without p90: the hosted bench never reported one, and its results.json keeps its shape. */
export type MedianSummary = Omit<Summary, 'p90'>;

export function summarizeMedian(values: readonly (number | null | undefined)[]): MedianSummary {
  const { count, p50, max } = summarize(values);
  return { count, p50, max };
}

/** The latest of some first-seen times (a missing one counts as 0). */
export const latestMs = (values: readonly (number | null)[]): number =>
  Math.max(...values.map((v) => v ?? 0));

// ---------------------------------------------------------------- polling

/** After the last object is done, before histories are read: lets the last workflow tasks land. */
export const SETTLE_MS = 2_000;
/** k0sflow and the machine are measured idle this long before the creates, as a baseline. */
export const IDLE_MS = 5_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did.
 * A check that throws counts as false: the benches poll APIs that are still coming up.
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 500
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return true;
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * Polls `list` until `count` of its objects have passed `isDone`, and records when each was first seen
 * so (ms after `t0`, a performance.now()). A failed list keeps the previous one. `last` is the last list
 * (for each object's conditions), `lastSeenMs` when the last of `count` was seen (null if not all were).
 */
export async function pollFirstSeen<T extends { metadata: { name: string } }>(opts: {
  list: () => Promise<T[]>;
  isDone: (object: T) => boolean;
  count: number;
  t0: number;
  timeoutMs: number;
  everyMs?: number;
}): Promise<{ seenAt: Map<string, number>; last: T[]; lastSeenMs: number | null }> {
  const seenAt = new Map<string, number>();
  let last: T[] = [];
  await pollUntil(
    async () => {
      last = await opts.list().catch(() => last);
      const now = sinceMs(opts.t0);
      for (const o of last)
        if (!seenAt.has(o.metadata.name) && opts.isDone(o)) seenAt.set(o.metadata.name, now);
      return seenAt.size >= opts.count;
    },
    opts.timeoutMs,
    opts.everyMs
  );
  return { seenAt, last, lastSeenMs: seenAt.size === opts.count ? Math.max(...seenAt.values()) : null };
}
