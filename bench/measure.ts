// Measuring helpers shared by the benchmarks: CPU time of a process and of the whole machine, from /proc.
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
