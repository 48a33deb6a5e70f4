// The SSH execution layer against real sshd hosts of the proving ground (hosts 1 and 2; host 0
// belongs to another suite). Everything created on the hosts is removed in afterAll.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { ApplicationFailure } from '@temporalio/common';
import ssh2 from 'ssh2';

import {
  BOOTSTRAP_SENTINEL,
  installScriptFile,
  parseBootstrapData,
  shellQuote,
} from '../../src/domain/cloud-init.js';
import {
  SshFailure,
  connectSsh,
  fileExists,
  plannedFileContent,
  requireFile,
  runCommand,
  runCommandChecked,
  uploadFile,
  type HostKeyPolicy,
  type SshConnection,
} from '../../src/activities/ssh.js';
import { eventually, provingGround } from '../harness/env.js';
import type { SshHost } from '../proving-ground/index.js';

const ED25519 = ['ssh-ed25519'];
const tag = randomBytes(3).toString('hex');
/** Every path this suite creates, per host, removed at the end. */
const created = new Map<SshHost, Set<string>>();

let h1: SshHost;
let h2: SshHost;
let privateKey: string;
const open: SshConnection[] = [];

function track(host: SshHost, path: string): string {
  const paths = created.get(host) ?? new Set<string>();
  paths.add(path);
  created.set(host, paths);
  return path;
}

async function connect(
  host: SshHost,
  opts: { user?: string; policy?: HostKeyPolicy; key?: string; address?: string; timeoutMs?: number } = {}
): Promise<SshConnection> {
  const conn = await connectSsh({
    address: opts.address ?? host.address,
    port: host.port,
    user: opts.user ?? 'root',
    privateKey: opts.key ?? privateKey,
    hostKeyPolicy: opts.policy ?? { kind: 'pinned', knownHosts: host.hostKey },
    serverHostKeyAlgorithms: ED25519,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  open.push(conn);
  return conn;
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('expected a failure');
}

async function sh(conn: SshConnection, command: string, sudo = false): Promise<string> {
  return (await runCommandChecked(conn, command, { sudo })).stdoutTail.trim();
}

beforeAll(() => {
  const env = provingGround();
  if (env.hosts.length < 3) throw new Error('needs K0SFLOW_PG_HOSTS=3 (this suite uses hosts 1 and 2)');
  h1 = env.hosts[1]!;
  h2 = env.hosts[2]!;
  privateKey = readFileSync(h1.privateKeyFile, 'utf8');
});

afterAll(async () => {
  for (const [host, paths] of created) {
    const conn = await connect(host);
    await runCommand(conn, `rm -rf ${[...paths].map(shellQuote).join(' ')}`);
  }
  for (const conn of open) conn.close();
});

describe('connecting', () => {
  it('accepts the pinned host key and reaches that host', async () => {
    const conn = await connect(h1);
    expect(conn.hostKey).toBe(h1.hostKey);
    expect(conn.hostKeyNewlyTrusted).toBe(false);
    expect(await sh(conn, 'hostname')).toBe(h1.name);
  });

  it('accepts a pinned known_hosts line with host patterns and a comment', async () => {
    const conn = await connect(h2, {
      policy: { kind: 'pinned', knownHosts: `${h2.address} ${h2.hostKey} h2` },
    });
    expect(await sh(conn, 'hostname')).toBe(h2.name);
  });

  it('refuses a wrong pinned key with HostKeyMismatch carrying the real key', async () => {
    const f = await failure(connect(h1, { policy: { kind: 'pinned', knownHosts: h2.hostKey } }));
    expect(f.type).toBe(SshFailure.HostKeyMismatch);
    expect(f.nonRetryable).toBe(true);
    expect(f.details?.[0]).toMatchObject({ presentedKey: h1.hostKey });
  });

  it('trusts on first use, reports the key, then enforces it', async () => {
    const first = await connect(h2, { policy: { kind: 'trust-on-first-use' } });
    expect(first.hostKeyNewlyTrusted).toBe(true);
    expect(first.hostKey).toBe(h2.hostKey);

    const again = await connect(h2, { policy: { kind: 'trust-on-first-use', recorded: first.hostKey } });
    expect(again.hostKeyNewlyTrusted).toBe(false);
    expect(await sh(again, 'hostname')).toBe(h2.name);

    // Same recorded key, other machine (as after a VM was recreated at that address).
    const f = await failure(connect(h1, { policy: { kind: 'trust-on-first-use', recorded: first.hostKey } }));
    expect(f.type).toBe(SshFailure.HostKeyMismatch);
    expect(f.details?.[0]).toMatchObject({ presentedKey: h1.hostKey });
  });

  it('trust on first use without forced algorithms still gets the ed25519 key', async () => {
    const conn = await connectSsh({
      address: h1.address,
      port: h1.port,
      user: 'root',
      privateKey,
      hostKeyPolicy: { kind: 'trust-on-first-use' },
    });
    open.push(conn);
    expect(conn.hostKey).toBe(h1.hostKey);
  });

  it('reports a refused private key as AuthenticationFailed', async () => {
    const wrongKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    for (const user of ['root', 'k0sflow']) {
      const f = await failure(connect(h1, { user, key: wrongKey }));
      expect(f.type).toBe(SshFailure.AuthenticationFailed);
      expect(f.nonRetryable).toBe(true);
    }
  });

  it('reports an unreachable address as retryable HostUnreachable within the timeout', async () => {
    const address = h1.address.replace(/\.\d+$/, '.250');
    const started = Date.now();
    const f = await failure(connect(h1, { address, timeoutMs: 4000 }));
    const elapsed = Date.now() - started;
    expect(f.type).toBe(SshFailure.HostUnreachable);
    expect(f.nonRetryable).toBe(false);
    expect(elapsed).toBeLessThan(4000 + 1500);
  });
});

describe('commands', () => {
  it('returns exit codes and bounded output tails', async () => {
    const conn = await connect(h1);
    expect((await runCommand(conn, 'exit 7')).exitCode).toBe(7);
    const r = await runCommand(conn, 'echo out; echo err >&2; exit 3');
    expect(r).toEqual({ exitCode: 3, stdoutTail: 'out\n', stderrTail: 'err\n' });

    const big = await runCommand(conn, `head -c 200000 /dev/zero | tr '\\0' a; echo END`);
    expect(big.exitCode).toBe(0);
    expect(big.stdoutTail).toHaveLength(4096);
    expect(big.stdoutTail.endsWith('aaaaEND\n')).toBe(true);
  });

  it('runCommandChecked fails with CommandFailed carrying exit code and tail', async () => {
    const conn = await connect(h1);
    const f = await failure(
      runCommandChecked(conn, 'echo progress; echo broken >&2; exit 4', { what: 'step' })
    );
    expect(f.type).toBe(SshFailure.CommandFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('step failed with exit code 4: broken');
    expect(f.details?.[0]).toMatchObject({ exitCode: 4, stdoutTail: 'progress\n', stderrTail: 'broken\n' });
  });

  it('heartbeats while a command runs', async () => {
    const conn = await connect(h1);
    let beats = 0;
    const r = await runCommand(conn, 'sleep 1.5', { heartbeat: () => beats++, heartbeatIntervalMs: 200 });
    expect(r.exitCode).toBe(0);
    expect(beats).toBeGreaterThanOrEqual(4);
  });

  it('times out and aborts by closing the channel; the connection stays usable', async () => {
    const conn = await connect(h1);
    const started = Date.now();
    const timedOut = await failure(runCommand(conn, 'sleep 30', { timeoutMs: 500 }));
    expect(timedOut.type).toBe(SshFailure.CommandTimedOut);

    const controller = new AbortController();
    const reason = new Error('cancelled by test');
    setTimeout(() => controller.abort(reason), 300);
    const aborted = await failure(runCommand(conn, 'sleep 31', { signal: controller.signal }));
    expect(aborted).toBe(reason);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await failure(runCommand(conn, 'true', { signal: controller.signal }))).toBe(reason);

    expect(await sh(conn, 'echo still-here')).toBe('still-here');
    // The channel's end took the remote processes with it.
    await eventually(
      async () => expect((await runCommand(conn, "pgrep -f '^sleep 3[01]$'")).exitCode).toBe(1),
      5000
    );
  });

  it('aborting a sudo command kills it on the host too', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 500);
    const never = track(h2, `/etc/k0sflow-never-${tag}`);
    const f = await failure(
      runCommand(conn, `sleep 32; touch ${never}`, { sudo: true, signal: controller.signal })
    );
    expect(f.message).toBe('stop');
    const root = await connect(h2);
    await eventually(
      async () => expect((await runCommand(root, "pgrep -f '^sleep 32$'")).exitCode).toBe(1),
      5000
    );
  });

  it('wraps with sudo for k0sflow, so it can write under /etc; without sudo it cannot', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    const path = track(h2, `/etc/k0sflow-sudo-${tag}`);
    expect(await sh(conn, 'id -u')).not.toBe('0');
    expect(await sh(conn, 'id -u', true)).toBe('0');
    const denied = await runCommand(conn, `echo no > ${path}`);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderrTail).toMatch(/Permission denied/);
    expect((await runCommand(conn, `echo "it's" > ${path}`, { sudo: true })).exitCode).toBe(0);
    expect(await sh(conn, `cat ${path}`)).toBe(`it's`);
  });

  it('does not wrap root even when sudo is asked for; wraps k0sflow', async () => {
    // The command's shell is a child of sshd when run as is, of sudo when wrapped.
    const parent = 'ps -o comm= -p $PPID';
    expect(await sh(await connect(h1), parent, true)).toBe('sshd');
    expect(await sh(await connect(h1, { user: 'k0sflow' }), parent, true)).toBe('sudo');
  });
});

describe('uploads', () => {
  for (const [label, user, sudo] of [
    ['root', 'root', false],
    ['k0sflow with sudo', 'k0sflow', true],
  ] as const) {
    it(`as ${label}: missing directory created, modes kept, overwrite truncates and keeps the mode`, async () => {
      const conn = await connect(h1, { user });
      const root = track(h1, `/etc/k0sflow-upload-${tag}-${user}`);
      const secretPath = `${root}/secret/token`;
      const scriptPath = `${root}/bin/run.sh`;

      await uploadFile(conn, {
        path: secretPath,
        content: Buffer.from('first content\n'),
        mode: 0o600,
        sudo,
      });
      await uploadFile(conn, {
        path: scriptPath,
        content: Buffer.from('#!/bin/sh\necho ran\n'),
        mode: 0o755,
        sudo,
      });
      expect(await sh(conn, `stat -c '%a %U' ${secretPath} ${scriptPath} ${root}/secret`, true)).toBe(
        '600 root\n755 root\n600 root'
      );
      expect(await sh(conn, `cat ${secretPath}`, true)).toBe('first content');

      await uploadFile(conn, { path: secretPath, content: Buffer.from('2nd\n'), mode: 0o755, sudo });
      expect(await sh(conn, `stat -c %a ${secretPath}`, true)).toBe('600');
      expect(await sh(conn, `cat ${secretPath}`, true)).toBe('2nd');
      expect(await sh(conn, scriptPath, true)).toBe('ran');
    });
  }

  it('streams binary content byte for byte and applies the owner', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    const path = track(h2, `/etc/k0sflow-binary-${tag}`);
    const content = randomBytes(300_000);
    await uploadFile(conn, { path, content, mode: 0o640, owner: 'k0sflow:k0sflow', sudo: true });
    expect(await sh(conn, `stat -c '%a %U %G %s' ${path}`, true)).toBe(
      `640 k0sflow k0sflow ${content.length}`
    );
    const sum = (await runCommandChecked(conn, `sha256sum ${path}`, { sudo: true })).stdoutTail.split(' ')[0];
    expect(sum).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('fails with CommandFailed naming the path when k0sflow uploads under /etc without sudo', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    const path = track(h2, `/etc/k0sflow-nosudo-${tag}/file`);
    const f = await failure(uploadFile(conn, { path, content: Buffer.from('x'), mode: 0o644, sudo: false }));
    expect(f.type).toBe(SshFailure.CommandFailed);
    expect(f.message).toContain(`upload of ${path}`);
    expect(f.message).toMatch(/Permission denied|cannot/);
  });
});

describe('commandsAsScript and the sentinel', () => {
  it('the install script runs with set -e and stops at the first failing line', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    const dir = track(h2, `/etc/k0sflow-ws-${tag}`);
    const script = installScriptFile(dir, [`echo one > ${dir}/one`, 'false', `echo two > ${dir}/two`]);
    await uploadFile(conn, {
      path: script.path,
      content: plannedFileContent(script),
      mode: script.mode,
      sudo: true,
    });
    expect(await sh(conn, `stat -c %a ${script.path}`, true)).toBe('700');
    const r = await runCommand(conn, shellQuote(script.path), { sudo: true });
    expect(r.exitCode).toBe(1);
    expect(await sh(conn, `cat ${dir}/one`, true)).toBe('one');
    expect((await runCommand(conn, `test -e ${dir}/two`, { sudo: true })).exitCode).toBe(1);
  });

  it('sentinel check: false, then true once the bootstrap wrote it, through sudo', async () => {
    const conn = await connect(h2, { user: 'k0sflow' });
    track(h2, BOOTSTRAP_SENTINEL);
    await runCommandChecked(conn, 'rm -rf /run/cluster-api', { sudo: true });
    expect(await fileExists(conn, BOOTSTRAP_SENTINEL, true)).toBe(false);
    const missing = await failure(requireFile(conn, BOOTSTRAP_SENTINEL, true));
    expect(missing.type).toBe(SshFailure.MissingSentinel);
    expect(missing.nonRetryable).toBe(true);

    // Readable only by root: without sudo the check cannot see it.
    await runCommandChecked(conn, `mkdir -p -m 0700 /run/cluster-api && touch ${BOOTSTRAP_SENTINEL}`, {
      sudo: true,
    });
    expect(await fileExists(conn, BOOTSTRAP_SENTINEL, true)).toBe(true);
    expect(await fileExists(conn, BOOTSTRAP_SENTINEL, false)).toBe(false);
    await requireFile(conn, BOOTSTRAP_SENTINEL, true);
    await runCommandChecked(conn, `rm -rf /run/cluster-api`, { sudo: true });
  });

  it('a k0smotron-shaped payload: files in order, commands one by one, sentinel', async () => {
    const conn = await connect(h1, { user: 'k0sflow' });
    const dir = track(h1, `/etc/k0sflow-payload-${tag}`);
    track(h1, '/run/cluster-api');
    const payload = `## template: jinja
#cloud-config
write_files:
  - path: ${dir}/k0s.token
    content: ${Buffer.from('token-data').toString('base64')}
    encoding: b64
    permissions: "0600"
  - path: ${dir}/conf/k0s.yaml
    content: |
      apiVersion: k0s.k0sproject.io/v1beta1
    permissions: 0644
runcmd:
  - [sh, -c, "cat ${dir}/k0s.token > ${dir}/copied"]
  - mkdir -p /run/cluster-api && touch ${BOOTSTRAP_SENTINEL}
`;
    const parsed = parseBootstrapData(payload);
    if (!parsed.ok) throw new Error(parsed.error);
    for (const file of parsed.plan.files) {
      await uploadFile(conn, {
        path: file.path,
        content: plannedFileContent(file),
        mode: file.mode,
        sudo: true,
      });
    }
    for (const command of parsed.plan.commands) await runCommandChecked(conn, command, { sudo: true });
    await requireFile(conn, BOOTSTRAP_SENTINEL, true);
    expect(await sh(conn, `stat -c %a ${dir}/k0s.token ${dir}/conf/k0s.yaml`, true)).toBe('600\n644');
    expect(await sh(conn, `cat ${dir}/copied`, true)).toBe('token-data');
  });
});
