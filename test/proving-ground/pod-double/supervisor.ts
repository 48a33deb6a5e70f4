// The processes of the pod TEST DOUBLE's pods (kube-apiserver, kube-controller-manager, etcd). They
// are spawned *not* detached, so they stay in the pod-double's process group, which `down` kills as
// a whole; the double also stops them itself on SIGTERM. A process that exits on its own is
// restarted with a back-off, like a kubelet restarts a container.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './log.js';

export interface ProcessSpec {
  /** e.g. kube-apiserver; with the pod's key in log lines. */
  name: string;
  command: string[];
  logFile: string;
  env?: Record<string, string>;
}

const all = new Set<Supervised>();
let shuttingDown = false;

/** Stops every supervised process (SIGTERM, SIGKILL after the grace period); nothing restarts after this. */
export async function stopAllProcesses(graceMs = 3000): Promise<void> {
  shuttingDown = true;
  await Promise.all([...all].map((p) => p.stop(graceMs)));
}

/** What a pod's processes see of names: /etc/hosts, /etc/resolv.conf and their hostname. */
export interface PodNames {
  hostsFile: string;
  resolvFile: string;
  hostname: string;
}

/**
 * `command` run in private mount and UTS namespaces, as in the pod: `hostsFile` bind-mounted over
 * /etc/hosts (Service and pod names, see hosts-file.ts), `resolvFile` over /etc/resolv.conf (a
 * resolver that answers nothing at once, as cluster DNS answers NXDOMAIN, instead of the machine's,
 * which may time out) and the pod's hostname (API servers name their identity lease after it).
 * unshare and sh exec, so the pid stays the program's.
 */
export function inPod(names: PodNames, command: string[]): string[] {
  return [
    'unshare',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    'mount --bind "$0" /etc/hosts && mount --bind "$1" /etc/resolv.conf && hostname "$2" && shift 2 && exec "$@"',
    names.hostsFile,
    names.resolvFile,
    names.hostname,
    ...command,
  ];
}

export class Supervised {
  restarts = 0;
  lastExit: string | null = null;
  private child: ChildProcess | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;

  constructor(
    readonly spec: ProcessSpec,
    private readonly onChange: () => void
  ) {}

  start(): void {
    if (shuttingDown || this.stopping) return;
    mkdirSync(dirname(this.spec.logFile), { recursive: true });
    const fd = openSync(this.spec.logFile, 'a');
    const [file, ...args] = this.spec.command;
    try {
      const child = spawn(file!, args, {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...this.spec.env },
      });
      child.on('error', (err) => log(`${this.spec.name}: ${err.message}`));
      child.on('exit', (code, signal) => this.exited(child, code, signal));
      this.child = child;
      this.startedAt = Date.now();
      all.add(this);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident memory of the process in MiB (0 when not running). */
  rssMiB(): number {
    if (!this.running() || this.pid === null) return 0;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return Math.round(Number(m?.[1] ?? 0) / 1024);
    } catch {
      return 0;
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && this.running()) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    all.delete(this);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.lastExit = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.stopping || shuttingDown) return;
    this.restarts++;
    // Back-off like a kubelet's, shorter: 1 s, 2 s, 4 s ... 30 s; reset after a minute of running.
    const ranMs = Date.now() - this.startedAt;
    const delay = ranMs > 60_000 ? 1000 : Math.min(1000 * 2 ** Math.min(this.restarts - 1, 5), 30_000);
    log(`${this.spec.name} exited (${this.lastExit}); restart ${this.restarts} in ${delay} ms`);
    this.restartTimer = setTimeout(() => this.start(), delay);
    this.onChange();
  }
}
