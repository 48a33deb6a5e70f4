// Idle SSH connections kept for a few seconds so a machine's next provisioning step, usually on the
// same worker moments later, skips the handshake. A connection is reused only for the same machine,
// host, user and private key, and only if the key its host presented satisfies the step's host key
// policy; it is never shared by two steps at once.
import { createHash } from 'node:crypto';

import { expectedKeys, hostKeyMatches, type HostKeyPolicy, type SshConnection } from './ssh.js';

export interface PoolKey {
  machineUid: string;
  address: string;
  port: number;
  user: string;
  privateKey: Buffer;
}

interface Idle {
  conn: SshConnection;
  closed: boolean;
  timer: NodeJS.Timeout;
}

export const IDLE_MS = 20_000;

export class SshConnectionPool {
  private readonly idle = new Map<string, Idle>();

  constructor(private readonly idleMs = IDLE_MS) {}

  /** An idle connection for `key` whose host key `policy` accepts, taken out of the pool; else undefined. */
  take(key: PoolKey, policy: HostKeyPolicy): SshConnection | undefined {
    const id = poolId(key);
    const entry = this.idle.get(id);
    if (!entry) return undefined;
    this.idle.delete(id);
    clearTimeout(entry.timer);
    if (!entry.closed && hostKeyAccepted(entry.conn.hostKey, policy)) return entry.conn;
    entry.conn.close();
    return undefined;
  }

  /** Gives a healthy connection back for the next step; closes whatever it replaces. */
  put(key: PoolKey, conn: SshConnection): void {
    const id = poolId(key);
    const previous = this.idle.get(id);
    if (previous) {
      clearTimeout(previous.timer);
      previous.conn.close();
    }
    const entry: Idle = {
      conn,
      closed: false,
      timer: setTimeout(() => this.drop(id, entry), this.idleMs).unref(),
    };
    conn.client.once('close', () => {
      entry.closed = true;
      this.drop(id, entry);
    });
    this.idle.set(id, entry);
  }

  closeAll(): void {
    for (const [id, entry] of this.idle) this.drop(id, entry);
  }

  get size(): number {
    return this.idle.size;
  }

  private drop(id: string, entry: Idle): void {
    clearTimeout(entry.timer);
    if (this.idle.get(id) === entry) this.idle.delete(id);
    entry.conn.close();
  }
}

function poolId(key: PoolKey): string {
  const keyDigest = createHash('sha256').update(key.privateKey).digest('hex');
  return `${key.machineUid}|${key.user}@${key.address}:${key.port}|${keyDigest}`;
}

/** Would a fresh connection under `policy` have accepted the key this one's host presented? */
export function hostKeyAccepted(presented: string, policy: HostKeyPolicy): boolean {
  let expected;
  try {
    expected = expectedKeys(policy);
  } catch {
    return false;
  }
  return (
    expected === undefined || hostKeyMatches(Buffer.from(presented.split(' ')[1] ?? '', 'base64'), expected)
  );
}
