// Process bookkeeping: every process the proving ground starts runs in its own process group, is
// recorded in DIR/state.json the moment it is spawned, and logs to DIR/logs/<name>.log. `down` needs
// nothing but that file, so it also cleans up after an interrupted `up` or a crashed test run.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRecord {
  name: string;
  pid: number;
  /** Field 22 of /proc/PID/stat when spawned: tells our process from a later one reusing the pid. */
  startTime: string | null;
  command: string[];
  log: string;
  startedAt: string;
  /** `down` stops wave 0 first, then wave 1, ... (etcd goes last so API servers shut down cleanly). */
  stopWave?: number;
}

export interface State {
  version: 1;
  dir: string;
  processes: ProcessRecord[];
}

export const statePath = (dir: string): string => join(dir, 'state.json');
export const logPath = (dir: string, name: string): string => join(dir, 'logs', `${name}.log`);

export function readState(dir: string): State | null {
  const file = statePath(dir);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as State;
}

/** Written atomically; all writers are synchronous, so concurrent spawns in one process don't clash. */
export function writeState(dir: string, state: State): void {
  const file = statePath(dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

function procStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces; the fields after the closing parenthesis are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stopWave?: number;
}

/** Starts `command` detached in a new process group with its output in DIR/logs/NAME.log. */
export function startProcess(
  dir: string,
  name: string,
  command: string[],
  opts: SpawnOptions = {}
): ProcessRecord {
  if (aborting) throw new Error(`not starting ${name}: aborting`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const log = logPath(dir, name);
  const fd = openSync(log, 'a');
  const [file, ...args] = command;
  if (!file) throw new Error(`empty command for ${name}`);
  try {
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd ?? dir,
    });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`);
    child.on('error', () => undefined); // reported through the health checks and the log instead
    child.unref();
    const record: ProcessRecord = {
      name,
      pid: child.pid,
      startTime: procStartTime(child.pid),
      command,
      log,
      startedAt: new Date().toISOString(),
      ...(opts.stopWave !== undefined ? { stopWave: opts.stopWave } : {}),
    };
    const state = readState(dir) ?? { version: 1, dir, processes: [] };
    state.processes.push(record);
    writeState(dir, state);
    return record;
  } finally {
    closeSync(fd);
  }
}

/** Pids of all live processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] = state (3), fields[2] = pgrp (5); zombies are already dead.
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

/** Is the process group of this record (still) ours and alive? */
function ownGroupAlive(rec: ProcessRecord): boolean {
  const leaderStart = procStartTime(rec.pid);
  // The leader's pid was reused by an unrelated process: the group is not ours.
  if (leaderStart !== null && rec.startTime !== null && leaderStart !== rec.startTime) return false;
  return groupMembers(rec.pid).length > 0;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
}

/**
 * Stops every recorded group, wave by wave (see ProcessRecord.stopWave): SIGTERM, SIGKILL what is
 * left after `graceMs`, wait until all are gone.
 */
export async function killAll(records: ProcessRecord[], graceMs = 5000): Promise<void> {
  const waves = [...new Set(records.map((r) => r.stopWave ?? 0))].sort((a, b) => a - b);
  for (const wave of waves)
    await killWave(
      records.filter((r) => (r.stopWave ?? 0) === wave),
      graceMs
    );
}

async function killWave(records: ProcessRecord[], graceMs: number): Promise<void> {
  const live = records.filter(ownGroupAlive);
  for (const rec of [...live].reverse()) signalGroup(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let remaining = live;
  while (remaining.length > 0 && Date.now() < deadline) {
    await sleep(100);
    remaining = remaining.filter((r) => groupMembers(r.pid).length > 0);
  }
  for (const rec of remaining) signalGroup(rec.pid, 'SIGKILL');
  const hardDeadline = Date.now() + 5000;
  while (remaining.length > 0 && Date.now() < hardDeadline) {
    await sleep(50);
    remaining = remaining.filter((r) => groupMembers(r.pid).length > 0);
  }
  if (remaining.length > 0) {
    throw new Error(`processes survived SIGKILL: ${remaining.map((r) => `${r.name}(${r.pid})`).join(', ')}`);
  }
}

/** Is the recorded process itself still running (not a zombie)? */
export function isRunning(rec: ProcessRecord): boolean {
  return groupMembers(rec.pid).includes(rec.pid);
}

/** Last lines of a log, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resident set size in MiB of a process group (sum over its members), from /proc. */
export function groupRssMiB(pgid: number): number {
  let kib = 0;
  for (const pid of groupMembers(pgid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return Math.round(kib / 1024);
}

let aborting = false;
/** After this, startProcess refuses to start anything (used while an interrupted `up` is torn down). */
export function setAborting(): void {
  aborting = true;
}
