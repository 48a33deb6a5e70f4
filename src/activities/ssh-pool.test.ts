import { EventEmitter } from 'node:events';

import ssh2 from 'ssh2';

import { formatPublicKey, type SshConnection } from './ssh.js';
import { SshConnectionPool, hostKeyAccepted, type PoolKey } from './ssh-pool.js';

const hostKey = (): string => {
  const pub = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').public);
  if (pub instanceof Error) throw pub;
  return formatPublicKey(pub.getPublicSSH());
};

function fakeConnection(presented: string): SshConnection & { closes: number; emitter: EventEmitter } {
  const emitter = new EventEmitter();
  const conn = {
    client: emitter as unknown as SshConnection['client'],
    user: 'root',
    address: '10.0.0.1',
    port: 22,
    hostKey: presented,
    hostKeyNewlyTrusted: true,
    closes: 0,
    emitter,
    close: () => {
      conn.closes++;
    },
  };
  return conn;
}

const key = (over: Partial<PoolKey> = {}): PoolKey => ({
  machineUid: 'uid-1',
  address: '10.0.0.1',
  port: 22,
  user: 'root',
  privateKey: Buffer.from('private key A'),
  ...over,
});

describe('hostKeyAccepted', () => {
  const a = hostKey();
  const b = hostKey();
  it('accepts any key with nothing recorded, else only the recorded or pinned one', () => {
    expect(hostKeyAccepted(a, { kind: 'trust-on-first-use' })).toBe(true);
    expect(hostKeyAccepted(a, { kind: 'trust-on-first-use', recorded: a })).toBe(true);
    expect(hostKeyAccepted(a, { kind: 'trust-on-first-use', recorded: b })).toBe(false);
    expect(hostKeyAccepted(a, { kind: 'pinned', knownHosts: `10.0.0.1 ${a}\n` })).toBe(true);
    expect(hostKeyAccepted(a, { kind: 'pinned', knownHosts: `10.0.0.1 ${b}` })).toBe(false);
    expect(hostKeyAccepted(a, { kind: 'pinned', knownHosts: 'garbage' })).toBe(false);
  });
});

describe('SshConnectionPool', () => {
  const presented = hostKey();
  const policy = { kind: 'trust-on-first-use' as const, recorded: presented };

  it("hands a step's connection to the machine's next step, once", () => {
    const pool = new SshConnectionPool();
    const conn = fakeConnection(presented);
    pool.put(key(), conn);
    expect(pool.take(key(), policy)).toBe(conn);
    expect(pool.take(key(), policy)).toBeUndefined();
    expect(conn.closes).toBe(0);
    pool.closeAll();
  });

  it('never hands it to another machine, user, host or private key', () => {
    const pool = new SshConnectionPool();
    pool.put(key(), fakeConnection(presented));
    for (const other of [
      { machineUid: 'uid-2' },
      { user: 'k0sflow' },
      { port: 2222 },
      { privateKey: Buffer.from('private key B') },
    ]) {
      expect(pool.take(key(other), policy)).toBeUndefined();
    }
    expect(pool.size).toBe(1);
    pool.closeAll();
    expect(pool.size).toBe(0);
  });

  it('closes instead of reusing a connection whose host key the step would refuse, or that closed', () => {
    const pool = new SshConnectionPool();
    const refused = fakeConnection(presented);
    pool.put(key(), refused);
    expect(pool.take(key(), { kind: 'trust-on-first-use', recorded: hostKey() })).toBeUndefined();
    expect(refused.closes).toBe(1);

    const dead = fakeConnection(presented);
    pool.put(key(), dead);
    dead.emitter.emit('close');
    expect(pool.take(key(), policy)).toBeUndefined();
  });

  it('closes an idle connection after the idle time', async () => {
    const pool = new SshConnectionPool(20);
    const conn = fakeConnection(presented);
    pool.put(key(), conn);
    await new Promise((r) => setTimeout(r, 60));
    expect(conn.closes).toBe(1);
    expect(pool.take(key(), policy)).toBeUndefined();
  });
});
