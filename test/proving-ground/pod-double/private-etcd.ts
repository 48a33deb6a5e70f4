// A private etcd for control planes whose datastore the pod TEST DOUBLE cannot serve (k0s `kine`
// storage with a SQL DSN, or `etcd` without an external cluster, which k0s would run itself). One
// per StatefulSet (so its replicas share it), on 127.0.0.1 ports, plain HTTP; it stops when its last
// pod stops and its data lives as long as the StatefulSet (see data GC in cluster.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './log.js';
import { freePorts, waitFor } from '../net.js';
import { etcdPath, requireBinary } from '../paths.js';
import { Supervised } from './supervisor.js';

interface Entry {
  users: Set<string>;
  ready: Promise<string>;
  proc: Supervised;
}

export class PrivateEtcds {
  private readonly entries = new Map<string, Promise<Entry>>();

  constructor(private readonly logDir: string) {}

  /** The client URL of the private etcd for `dataDir`, started if needed; `user` is the pod's key. */
  async acquire(dataDir: string, user: string): Promise<string> {
    let pending = this.entries.get(dataDir);
    if (!pending) {
      pending = this.start(dataDir);
      this.entries.set(dataDir, pending);
    }
    const entry = await pending;
    entry.users.add(user);
    return entry.ready;
  }

  async release(dataDir: string, user: string): Promise<void> {
    const entry = await this.entries.get(dataDir);
    if (!entry) return;
    entry.users.delete(user);
    if (entry.users.size > 0) return;
    this.entries.delete(dataDir);
    await entry.proc.stop();
    log(`private etcd for ${dataDir} stopped (no pod uses it)`);
  }

  /** Resident memory of each running private etcd, by data directory. */
  async report(): Promise<{ dataDir: string; pid: number | null; rssMiB: number }[]> {
    const entries = await Promise.all(
      [...this.entries].map(async ([dataDir, e]) => ({ dataDir, proc: (await e).proc }))
    );
    return entries.map(({ dataDir, proc }) => ({ dataDir, pid: proc.pid, rssMiB: proc.rssMiB() }));
  }

  /** Data directories of the private etcds that run now. */
  inUse(): string[] {
    return [...this.entries.keys()];
  }

  private async start(dataDir: string): Promise<Entry> {
    const [client, peer] = await freePorts(2);
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    mkdirSync(dataDir, { recursive: true });
    const proc = new Supervised(
      {
        name: `private-etcd ${dataDir}`,
        // data/<ns>/<owner>/private-etcd → logs/pods/<cluster>/<ns>/<owner>-private-etcd.log
        logFile: join(
          this.logDir,
          ...dataDir.split('/').slice(-3, -2),
          `${dataDir.split('/').at(-2)}-private-etcd.log`
        ),
        command: [
          requireBinary(etcdPath()),
          '--name=default',
          `--data-dir=${join(dataDir, 'etcd')}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
      },
      () => undefined
    );
    proc.start();
    log(
      `starting a private etcd at ${url} (data ${dataDir}): the datastore the k0s config names cannot be served by the double`
    );
    const ready = waitFor(
      `private etcd ${url}`,
      async () => (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok,
      { timeoutMs: 30_000, intervalMs: 100 }
    ).then(() => url);
    ready.catch(() => undefined);
    return { users: new Set(), ready, proc };
  }
}
