// What the benchmarks print and write: figures as text, tables, and the results.json every bench
// leaves beside its proving ground.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, relative } from 'node:path';

import type { CpuFigures } from './measure.js';

/** Progress and problems go to stderr, so that stdout holds only the figures. */
export const sayAs =
  (bench: string) =>
  (msg: string): void =>
    void process.stderr.write(`${bench}: ${msg}\n`);

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A figure with `digits` decimals; '-' where there is none (not measured, or no value to summarize). */
export const num = (v: number | null | undefined, digits = 1): string =>
  v !== null && v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : '-';

export const pct = (v: number | null): string => (v === null ? '-' : `${v}%`);

/** Milliseconds as seconds; a wait that never ended (null, NaN) shows as INCOMPLETE. */
export const secs = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || !Number.isFinite(ms) ? 'INCOMPLETE' : `${(ms / 1000).toFixed(1)} s`;

export const cpuText = (c: CpuFigures): string =>
  `k0sflow CPU ${c.k0sflowSeconds === null ? '-' : `${num(c.k0sflowSeconds)} s`}, machine busy ${pct(c.machineBusyPercent)}`;

/** Lines of a table with a header rule; the first `leftColumns` columns are left-aligned, the rest right. */
export function table(head: string[], rows: string[][], leftColumns = 1): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The machine the figures come from: they mean little without it. */
export const machineFacts = (): { cpus: number; memMiB: number; node: string } => ({
  cpus: cpus().length,
  memMiB: Math.round(totalmem() / 2 ** 20),
  node: process.version,
});

/** The last line of a bench's output: where every figure was written. */
export const figuresLine = (file: string): string => `figures: ${relative(process.cwd(), file) || file}`;

/**
 * Writes `file` (results.json): bench name, date, machine and options first, then the bench's own
 * fields in the order given.
 */
export function writeResults(
  file: string,
  head: { bench: string; options: unknown },
  fields: Record<string, unknown>
): void {
  mkdirSync(dirname(file), { recursive: true });
  const doc = {
    bench: head.bench,
    date: new Date().toISOString(),
    machine: machineFacts(),
    options: head.options,
    ...fields,
  };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
}
