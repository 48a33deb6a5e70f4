import { killTreeCommand } from '../domain/cloud-init.js';
import { gzipSync } from 'node:zlib';

import { ApplicationFailure } from '@temporalio/common';
import ssh2 from 'ssh2';

import {
  SshFailure,
  PgidLineFilter,
  TailBuffer,
  withPgidLine,
  blobKeyType,
  classifyConnectError,
  commandFailure,
  connectSsh,
  expectedKeys,
  formatPublicKey,
  hostKeyAlgorithmsFor,
  hostKeyMatches,
  parseKnownHosts,
  plannedFileContent,
} from './ssh.js';

function publicKey(): { line: string; type: string; blob: Buffer } {
  const line = ssh2.utils.generateKeyPairSync('ed25519').public.trim();
  const [type, b64] = line.split(' ');
  return { line: `${type} ${b64}`, type: type!, blob: Buffer.from(b64!, 'base64') };
}

function unexpected(): never {
  throw new Error('expected a failure');
}

describe('host keys', () => {
  const a = publicKey();
  const b = publicKey();

  it('reads the key type from a blob and formats a presented key', () => {
    expect(blobKeyType(a.blob)).toBe('ssh-ed25519');
    expect(formatPublicKey(a.blob)).toBe(a.line);
    expect(blobKeyType(Buffer.from([0, 0]))).toBeUndefined();
    expect(blobKeyType(Buffer.from([0, 0, 0, 9, 1]))).toBeUndefined();
    expect(formatPublicKey(Buffer.from([0, 0, 0, 0]))).toMatch(/^unknown /);
  });

  it('parses bare keys, known_hosts lines (plain and hashed hosts), comments and several lines', () => {
    const text = [
      '# pinned for host 1',
      '',
      `${a.line}`,
      `10.0.0.1,host1 ${b.line} root@host1`,
      `|1|c2FsdA==|aGFzaA== ${a.line}`,
    ].join('\n');
    expect(parseKnownHosts(text)).toEqual([
      { type: 'ssh-ed25519', blob: a.blob.toString('base64') },
      { type: 'ssh-ed25519', blob: b.blob.toString('base64') },
      { type: 'ssh-ed25519', blob: a.blob.toString('base64') },
    ]);
  });

  it('refuses markers, garbage, a blob of another type and nothing at all', () => {
    expect(() => parseKnownHosts(`@revoked * ${a.line}`)).toThrow(/marker @revoked/);
    expect(() => parseKnownHosts('host1 not-a-key')).toThrow(/not a known_hosts line/);
    expect(() => parseKnownHosts('ssh-ed25519')).toThrow(/not a known_hosts line/);
    expect(() => parseKnownHosts(`ssh-rsa ${a.blob.toString('base64')}`)).toThrow(/does not hold a ssh-rsa/);
    expect(() => parseKnownHosts('# only a comment\n')).toThrow(/no host key/);
  });

  it('matches on type and blob', () => {
    const pinned = parseKnownHosts(a.line);
    expect(hostKeyMatches(a.blob, pinned)).toBe(true);
    expect(hostKeyMatches(b.blob, pinned)).toBe(false);
    expect(hostKeyMatches(b.blob, parseKnownHosts(`${a.line}\n${b.line}`))).toBe(true);
  });

  it('derives the expected keys from a policy', () => {
    expect(expectedKeys({ kind: 'pinned', knownHosts: a.line })).toHaveLength(1);
    expect(expectedKeys({ kind: 'trust-on-first-use' })).toBeUndefined();
    expect(expectedKeys({ kind: 'trust-on-first-use', recorded: ' ' })).toBeUndefined();
    expect(expectedKeys({ kind: 'trust-on-first-use', recorded: b.line })).toEqual([
      { type: 'ssh-ed25519', blob: b.blob.toString('base64') },
    ]);
  });

  it('offers the host key algorithms of the expected key types', () => {
    expect(hostKeyAlgorithmsFor(['ssh-ed25519', 'ssh-ed25519'])).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithmsFor(['ssh-rsa', 'ecdsa-sha2-nistp256'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ecdsa-sha2-nistp256',
    ]);
  });
});

describe('connect failures', () => {
  it.each([
    [
      'All configured authentication methods failed',
      { level: 'client-authentication' },
      'AuthenticationFailed',
      true,
    ],
    ['Handshake failed: no matching host key format', { level: 'handshake' }, 'HostKeyMismatch', true],
    ['connect ECONNREFUSED', { level: 'client-socket', code: 'ECONNREFUSED' }, 'HostUnreachable', false],
    ['Timed out while waiting for handshake', { level: 'client-timeout' }, 'HostUnreachable', false],
    ['getaddrinfo ENOTFOUND x', { level: 'client-dns' }, 'HostUnreachable', false],
    ['read ECONNRESET', { code: 'ECONNRESET' }, 'HostUnreachable', false],
    ['Protocol error', { level: 'protocol' }, 'HostUnreachable', false],
  ])('%s (%p) → %s', (message, extra, type, nonRetryable) => {
    const failure = classifyConnectError(Object.assign(new Error(message), extra), 'root@h:22');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toContain('root@h:22');
  });

  it('refuses an unusable private key or host key policy before dialling, without echoing the key', async () => {
    const secret =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n';
    const failure = await connectSsh({
      address: '192.0.2.1',
      port: 22,
      user: 'root',
      privateKey: secret,
      hostKeyPolicy: { kind: 'trust-on-first-use' },
    }).then(unexpected, (e: unknown) => e as ApplicationFailure);
    expect(failure.type).toBe(SshFailure.InvalidSshConfig);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).not.toContain('c2VjcmV0');

    const bad = await connectSsh({
      address: '192.0.2.1',
      port: 22,
      user: 'root',
      privateKey: ssh2.utils.generateKeyPairSync('ed25519').private,
      hostKeyPolicy: { kind: 'pinned', knownHosts: 'garbage' },
    }).then(unexpected, (e: unknown) => e as ApplicationFailure);
    expect(bad.type).toBe(SshFailure.InvalidSshConfig);
    expect(bad.message).toMatch(/host key policy/);
  });
});

describe('TailBuffer', () => {
  it('keeps only the last bytes', () => {
    const tail = new TailBuffer(8);
    for (const chunk of ['0123', '4567', '89ab', 'cd']) tail.push(Buffer.from(chunk));
    expect(tail.toString()).toBe('6789abcd');
    const one = new TailBuffer(4);
    one.push(Buffer.from('abcdefgh'));
    expect(one.toString()).toBe('efgh');
    expect(new TailBuffer().toString()).toBe('');
  });

  it('stays bounded in memory over a long stream', () => {
    const tail = new TailBuffer(4096);
    for (let i = 0; i < 10_000; i++) tail.push(Buffer.alloc(100, 'x'));
    expect(tail.toString()).toHaveLength(4096);
    expect((tail as unknown as { size: number }).size).toBeLessThan(4096 + 200);
  });
});

describe('commandFailure', () => {
  it('carries exit code and tails, names the command', () => {
    const f = commandFailure('step 2', { exitCode: 3, stdoutTail: 'out\n', stderrTail: 'one\nboom\n' });
    expect(f.type).toBe(SshFailure.CommandFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('step 2 failed with exit code 3: boom');
    expect(f.details).toEqual([
      { exitCode: 3, exitSignal: undefined, stdoutTail: 'out\n', stderrTail: 'one\nboom\n' },
    ]);
  });

  it('names a signal and falls back to stdout', () => {
    const f = commandFailure('x', {
      exitCode: -1,
      exitSignal: 'KILL',
      stdoutTail: 'last words',
      stderrTail: '',
    });
    expect(f.message).toBe('x failed with signal KILL: last words');
    expect(commandFailure('y', { exitCode: 1, stdoutTail: '', stderrTail: '' }).message).toBe(
      'y failed with exit code 1'
    );
  });

  it('recognises sudo without passwordless access', () => {
    const f = commandFailure('x', {
      exitCode: 1,
      stdoutTail: '',
      stderrTail: 'sudo: a password is required\n',
    });
    expect(f.type).toBe(SshFailure.SudoUnavailable);
    expect(f.nonRetryable).toBe(true);
  });
});

describe('plannedFileContent', () => {
  it('decodes text, base64 and gzip+base64', () => {
    const base = { path: '/a', mode: 0o600 };
    expect(plannedFileContent({ ...base, encoding: 'text', content: 'hé' })).toEqual(Buffer.from('hé'));
    expect(plannedFileContent({ ...base, encoding: 'base64', content: 'AAEC' })).toEqual(
      Buffer.from([0, 1, 2])
    );
    const gz = gzipSync(Buffer.from('hello')).toString('base64');
    expect(plannedFileContent({ ...base, encoding: 'gzip+base64', content: gz }).toString()).toBe('hello');
    expect(() => plannedFileContent({ ...base, encoding: 'gzip+base64', content: 'AAEC' })).toThrow(
      /not gzip data/
    );
  });
});

describe('PgidLineFilter', () => {
  it('takes the pgid from the first line, split across chunks, and passes the rest on', () => {
    const f = new PgidLineFilter();
    expect(f.filter(Buffer.from('k0sflow-pg')).toString()).toBe('');
    expect(f.filter(Buffer.from('id:4242\nhello\n')).toString()).toBe('hello\n');
    expect(f.filter(Buffer.from('more')).toString()).toBe('more');
    expect(f.pgid).toBe(4242);
  });

  it('passes output through untouched when the line is not there', () => {
    const f = new PgidLineFilter();
    expect(f.filter(Buffer.from('plain\nout')).toString()).toBe('plain\nout');
    expect(f.pgid).toBeUndefined();
    const long = new PgidLineFilter();
    expect(long.filter(Buffer.alloc(100, 'a')).length).toBe(100);
  });

  it('withPgidLine prints the shell pid before the command', () => {
    expect(withPgidLine('exit 3')).toBe(`printf 'k0sflow-pgid:%s\\n' "$$"\nexit 3`);
  });
});

describe('killTreeCommand', () => {
  it('kills the leader and its descendants by plain pid, TERM then KILL', () => {
    const cmd = killTreeCommand(505);
    expect(cmd).toMatch(/^pids=\$\(ps -eo pid=,ppid= \| awk -v root=505 /);
    expect(cmd).toContain('kill -TERM $pids 2>/dev/null; sleep 1; kill -KILL $pids 2>/dev/null; true');
    expect(cmd).not.toContain('--');
  });
});
