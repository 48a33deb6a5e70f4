// The SSH execution layer RemoteMachine provisioning runs on: connect with key auth and a verified
// host key, run commands (optionally under sudo), upload files the k0smotron way, check the sentinel.
// These are helpers for activities, not activities: the private key and file contents pass through
// them in process memory only. Activities receive Secret references and read the secrets themselves.
import { ApplicationFailure } from '@temporalio/activity';
import { gunzipSync } from 'node:zlib';

// ssh2 is CommonJS: Node's ESM loader sees `Client` as a named export but not `utils`.
import ssh2, { type Client, type ClientChannel, type ConnectConfig } from 'ssh2';

import {
  fileExistsCommand,
  killTreeCommand,
  uploadScript,
  withSudo,
  type PlannedFile,
} from '../domain/cloud-init.js';

/** Failure types the workflow layer reads (`ApplicationFailure.type`). */
export const SshFailure = {
  /** Retryable: refused, no route, DNS, connect/handshake timeout, connection lost. */
  HostUnreachable: 'HostUnreachable',
  /** Non-retryable: the server refused our key. */
  AuthenticationFailed: 'AuthenticationFailed',
  /** Non-retryable: the presented host key is not the expected one; details[0].presentedKey has it. */
  HostKeyMismatch: 'HostKeyMismatch',
  /** Non-retryable: the policy or the private key cannot be used at all. */
  InvalidSshConfig: 'InvalidSshConfig',
  /** Non-retryable: exit code and output tails in details[0]. */
  CommandFailed: 'CommandFailed',
  /** Non-retryable: sudo asked for a password or is missing (useSudo without passwordless sudo). */
  SudoUnavailable: 'SudoUnavailable',
  /** Retryable: the command ran longer than its timeout; its channel was closed. */
  CommandTimedOut: 'CommandTimedOut',
  /** Non-retryable: the bootstrap sentinel file is absent after the commands ran. */
  MissingSentinel: 'MissingSentinel',
} as const;

export type HostKeyPolicy =
  /** `knownHosts`: OpenSSH known_hosts line(s) or bare `type base64` keys; any of them may match. */
  | { kind: 'pinned'; knownHosts: string }
  /** Accept and report the presented key when nothing is recorded; enforce `recorded` otherwise. */
  | { kind: 'trust-on-first-use'; recorded?: string };

export interface ConnectSshOptions {
  address: string;
  port: number;
  user: string;
  /** PEM/OpenSSH private key; never logged, never part of an error. */
  privateKey: string | Buffer;
  hostKeyPolicy: HostKeyPolicy;
  /** Whole connect + handshake + auth; default 20 s. */
  timeoutMs?: number;
  /** Host key algorithms to offer; default: those of the pinned/recorded keys, else ed25519 first. */
  serverHostKeyAlgorithms?: string[];
}

export interface SshConnection {
  client: Client;
  user: string;
  address: string;
  port: number;
  /** The key the server presented, `type base64` (public: safe to record and report). */
  hostKey: string;
  /** True when trust-on-first-use accepted a key with nothing recorded: the caller should record it. */
  hostKeyNewlyTrusted: boolean;
  close(): void;
}

export interface PublicKey {
  type: string;
  /** The base64 of the SSH wire-format key blob. */
  blob: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
export const OUTPUT_TAIL_BYTES = 4096;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];
const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-.+@openssh\.com)$/;

// ---------------------------------------------------------------------------------------------
// Host keys (pure)

/** The key type written inside an SSH public key blob (its first wire-format string). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `type base64` of a presented key blob. */
export function formatPublicKey(blob: Buffer): string {
  return `${blobKeyType(blob) ?? 'unknown'} ${blob.toString('base64')}`;
}

/**
 * The keys of known_hosts text: each non-comment line is `[markers] [hosts] type base64 [comment]`
 * or a bare `type base64`. Host patterns are ignored (the pin belongs to one machine);
 * `@revoked` and `@cert-authority` lines are refused. Throws on an unusable line.
 */
export function parseKnownHosts(text: string): PublicKey[] {
  const keys = text
    .split('\n')
    .map((raw) => raw.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map(parseKnownHostsLine);
  if (keys.length === 0) throw new Error('no host key given');
  return keys;
}

function parseKnownHostsLine(line: string): PublicKey {
  const fields = line.split(/\s+/);
  if (fields[0]?.startsWith('@')) throw new Error(`known_hosts marker ${fields[0]} is not supported`);
  const at = fields.findIndex((f) => KEY_TYPE.test(f));
  const type = at >= 0 ? fields[at] : undefined;
  const blob = at >= 0 ? fields[at + 1] : undefined;
  if (type === undefined || blob === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) {
    throw new Error(`not a known_hosts line or public key: ${line.slice(0, 80)}`);
  }
  const bytes = Buffer.from(blob, 'base64');
  if (blobKeyType(bytes) !== type) throw new Error(`the ${type} key's blob does not hold a ${type} key`);
  return { type, blob: bytes.toString('base64') };
}

/** Does the presented blob equal one of the expected keys (type and blob)? */
export function hostKeyMatches(presented: Buffer, expected: readonly PublicKey[]): boolean {
  const type = blobKeyType(presented);
  const blob = presented.toString('base64');
  return expected.some((k) => k.type === type && k.blob === blob);
}

/** The host key algorithms that make a server present a key of these types. */
export function hostKeyAlgorithmsFor(types: readonly string[]): string[] {
  const algorithms = types.flatMap((t) =>
    t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]
  );
  return [...new Set(algorithms)];
}

/** The keys a policy enforces; undefined for trust-on-first-use with nothing recorded. */
export function expectedKeys(policy: HostKeyPolicy): PublicKey[] | undefined {
  if (policy.kind === 'pinned') return parseKnownHosts(policy.knownHosts);
  if (policy.recorded === undefined || policy.recorded.trim() === '') return undefined;
  return parseKnownHosts(policy.recorded);
}

// ---------------------------------------------------------------------------------------------
// Connecting

interface SshError extends Error {
  level?: string;
  code?: string;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Maps an ssh2 connect error to a failure the workflow layer can act on. */
export function classifyConnectError(err: SshError, where: string): ApplicationFailure {
  const message = `ssh ${where}: ${err.message}`;
  if (err.level === 'client-authentication') {
    return ApplicationFailure.nonRetryable(message, SshFailure.AuthenticationFailed);
  }
  if (/no matching host key/i.test(err.message)) {
    return ApplicationFailure.nonRetryable(
      `${message} (the server offers none of the expected host key types)`,
      SshFailure.HostKeyMismatch
    );
  }
  const socket = err.level === 'client-socket' || err.level === 'client-dns';
  if (socket || err.level === 'client-timeout' || (err.code && SOCKET_CODES.has(err.code))) {
    return ApplicationFailure.retryable(message, SshFailure.HostUnreachable);
  }
  // Protocol hiccups (a server restarting mid-handshake, …): worth another try.
  return ApplicationFailure.retryable(message, SshFailure.HostUnreachable);
}

/**
 * Opens an SSH connection with key authentication and host key verification.
 * Errors are ApplicationFailures of the types in `SshFailure`.
 */
export async function connectSsh(opts: ConnectSshOptions): Promise<SshConnection> {
  const where = `${opts.user}@${opts.address}:${opts.port}`;
  let expected: PublicKey[] | undefined;
  try {
    expected = expectedKeys(opts.hostKeyPolicy);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `ssh ${where}: host key policy: ${(err as Error).message}`,
      SshFailure.InvalidSshConfig
    );
  }
  const parsed = ssh2.utils.parseKey(opts.privateKey);
  if (parsed instanceof Error) {
    // The parser's message names the problem, never the key material.
    throw ApplicationFailure.nonRetryable(
      `ssh ${where}: private key: ${parsed.message}`,
      SshFailure.InvalidSshConfig
    );
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const algorithms =
    opts.serverHostKeyAlgorithms ??
    (expected ? hostKeyAlgorithmsFor(expected.map((k) => k.type)) : DEFAULT_HOST_KEY_ALGORITHMS);

  return new Promise<SshConnection>((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: string | undefined;
    let mismatch = false;
    let settled = false;
    const settle = (failure?: ApplicationFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (failure === undefined) return;
      client.end();
      client.destroy();
      reject(failure);
    };
    // ssh2's readyTimeout covers the handshake; this also covers a socket that never connects.
    const timer = setTimeout(
      () =>
        settle(
          ApplicationFailure.retryable(
            `ssh ${where}: timed out after ${timeoutMs} ms`,
            SshFailure.HostUnreachable
          )
        ),
      timeoutMs
    );
    const hostVerifier = (key: Buffer): boolean => {
      presented = formatPublicKey(key);
      if (expected === undefined || hostKeyMatches(key, expected)) return true;
      mismatch = true;
      return false;
    };
    client.on('ready', () => {
      if (settled) return client.end();
      settle();
      // Later errors surface through the channel calls; an unheard 'error' would crash the process.
      client.on('error', () => undefined);
      resolve({
        client,
        user: opts.user,
        address: opts.address,
        port: opts.port,
        hostKey: presented ?? '',
        hostKeyNewlyTrusted: expected === undefined,
        close: () => client.end(),
      });
    });
    client.on('error', (err: SshError) => {
      if (mismatch) {
        settle(
          ApplicationFailure.nonRetryable(
            `ssh ${where}: host key mismatch: the server presented ${presented ?? '(none)'}`,
            SshFailure.HostKeyMismatch,
            { presentedKey: presented, address: opts.address, port: opts.port }
          )
        );
      } else settle(classifyConnectError(err, where));
    });
    client.on('close', () =>
      settle(
        ApplicationFailure.retryable(
          `ssh ${where}: connection closed during handshake`,
          SshFailure.HostUnreachable
        )
      )
    );
    const config: ConnectConfig = {
      host: opts.address,
      port: opts.port,
      username: opts.user,
      privateKey: opts.privateKey,
      hostVerifier,
      algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
    };
    try {
      client.connect(config);
    } catch (err) {
      settle(
        ApplicationFailure.nonRetryable(
          `ssh ${where}: ${(err as Error).message}`,
          SshFailure.InvalidSshConfig
        )
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface RunOptions {
  /** RemoteMachine `useSudo`; root is never wrapped. */
  sudo?: boolean;
  /** The SSH user, for the root check; default the connection's. */
  user?: string;
  /** Called every `heartbeatIntervalMs` while the command runs (Context.current().heartbeat). */
  heartbeat?: () => void;
  heartbeatIntervalMs?: number;
  /** No timeout by default. */
  timeoutMs?: number;
  /** Aborting closes the channel (Context.current().cancellationSignal). */
  signal?: AbortSignal;
  /** Bytes streamed to the command's stdin, then EOF. Without it stdin is closed at once. */
  stdin?: Buffer;
}

export interface CommandResult {
  /** -1 when the command ended without an exit status (killed by a signal, channel closed). */
  exitCode: number;
  /** Set when the command was killed by a signal. */
  exitSignal?: string;
  /** The last OUTPUT_TAIL_BYTES of each stream, never the whole output. */
  stdoutTail: string;
  stderrTail: string;
}

/** Keeps the last `max` bytes written to it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max = OUTPUT_TAIL_BYTES) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= this.max) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    const tail = all.length > this.max ? all.subarray(all.length - this.max) : all;
    // A cut through a multi-byte character shows as U+FFFD at the start; harmless in a tail.
    return tail.toString('utf8');
  }
}

/** Runs `command` (wrapped in sudo when asked for) on its own exec channel. */
export function runCommand(
  conn: SshConnection,
  command: string,
  opts: RunOptions = {}
): Promise<CommandResult> {
  const ctx = { sudo: opts.sudo ?? false, user: opts.user ?? conn.user };
  return exec(conn, withSudo(command, ctx), opts, ctx);
}

const PGID_PREFIX = 'k0sflow-pgid:';

/**
 * sshd makes the session's shell a process-group leader; its pid, printed first, lets an abort kill
 * the whole group (OpenSSH refuses channel signal requests under privilege separation).
 */
export function withPgidLine(command: string): string {
  return `printf '${PGID_PREFIX}%s\\n' "$$"\n${command}`;
}

/** Strips the pgid line from the start of stdout; passes the rest on. */
export class PgidLineFilter {
  pgid: number | undefined;
  private head: Buffer | undefined = Buffer.alloc(0);

  /** The part of `chunk` that is real output. */
  filter(chunk: Buffer): Buffer {
    if (this.head === undefined) return chunk;
    const data = Buffer.concat([this.head, chunk]);
    const nl = data.indexOf(0x0a);
    if (nl < 0 && data.length < 64) {
      this.head = data;
      return Buffer.alloc(0);
    }
    this.head = undefined;
    const line = nl < 0 ? '' : data.subarray(0, nl).toString('latin1');
    if (!line.startsWith(PGID_PREFIX)) return data;
    const pgid = Number(line.slice(PGID_PREFIX.length));
    if (Number.isInteger(pgid) && pgid > 1) this.pgid = pgid;
    return data.subarray(nl + 1);
  }
}

/** Fire and forget: kill what the aborted command left running. */
function killGroup(conn: SshConnection, pgid: number, ctx: { sudo: boolean; user: string }): void {
  const kill = withSudo(killTreeCommand(pgid), ctx);
  try {
    conn.client.exec(kill, (err, stream) => {
      if (err) return;
      stream.on('error', () => undefined);
      stream.resume();
      stream.stderr.resume();
      stream.end();
    });
  } catch {
    // The connection is gone, and the session's processes with it.
  }
}

/** `runCommand`, but a non-zero exit is a `CommandFailed` (or `SudoUnavailable`) failure. */
export async function runCommandChecked(
  conn: SshConnection,
  command: string,
  opts: RunOptions & { what?: string } = {}
): Promise<CommandResult> {
  const result = await runCommand(conn, command, opts);
  if (result.exitCode !== 0) throw commandFailure(opts.what ?? command, result);
  return result;
}

/** The failure for a command that exited non-zero; `what` names it (keep secrets out of it). */
export function commandFailure(what: string, result: CommandResult): ApplicationFailure {
  const details = {
    exitCode: result.exitCode,
    exitSignal: result.exitSignal,
    stdoutTail: result.stdoutTail,
    stderrTail: result.stderrTail,
  };
  if (
    /sudo: (a password is required|a terminal is required|.*command not found)|sudo: not found/.test(
      result.stderrTail
    )
  ) {
    return ApplicationFailure.nonRetryable(
      `${what}: user is not root and passwordless sudo is not available: ${lastLine(result.stderrTail)}`,
      SshFailure.SudoUnavailable,
      details
    );
  }
  const status = result.exitSignal ? `signal ${result.exitSignal}` : `exit code ${result.exitCode}`;
  const tail = lastLine(result.stderrTail) || lastLine(result.stdoutTail);
  return ApplicationFailure.nonRetryable(
    `${what} failed with ${status}${tail ? `: ${tail}` : ''}`,
    SshFailure.CommandFailed,
    details
  );
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

function exec(
  conn: SshConnection,
  command: string,
  opts: RunOptions,
  ctx: { sudo: boolean; user: string }
): Promise<CommandResult> {
  const where = `${conn.user}@${conn.address}:${conn.port}`;
  return new Promise<CommandResult>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortReason(opts.signal));
    const stdout = new TailBuffer();
    const stderr = new TailBuffer();
    const pgidLine = new PgidLineFilter();
    let channel: ClientChannel | undefined;
    let exitCode = -1;
    let exitSignal: string | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const onAbort = (): void => finish(abortReason(opts.signal));
    const finish = (failure?: Error): void => {
      if (settled) return;
      settled = true;
      timers.forEach((t) => clearTimeout(t));
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure === undefined) {
        resolve({
          exitCode,
          ...(exitSignal !== undefined ? { exitSignal } : {}),
          stdoutTail: stdout.toString(),
          stderrTail: stderr.toString(),
        });
        return;
      }
      // Closing the channel alone leaves the remote processes running.
      if (pgidLine.pgid !== undefined) killGroup(conn, pgidLine.pgid, ctx);
      channel?.close();
      reject(failure);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.heartbeat) {
      const beat = opts.heartbeat;
      timers.push(setInterval(() => beat(), opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS));
    }
    if (opts.timeoutMs !== undefined) {
      const ms = opts.timeoutMs;
      timers.push(
        setTimeout(
          () =>
            finish(
              ApplicationFailure.retryable(
                `ssh ${where}: command timed out after ${ms} ms`,
                SshFailure.CommandTimedOut,
                {
                  stdoutTail: stdout.toString(),
                  stderrTail: stderr.toString(),
                }
              )
            ),
          ms
        )
      );
    }
    try {
      conn.client.exec(withPgidLine(command), (err, stream) => {
        if (err)
          return finish(
            ApplicationFailure.retryable(`ssh ${where}: ${err.message}`, SshFailure.HostUnreachable)
          );
        channel = stream;
        if (settled) {
          stream.close();
          return;
        }
        stream.on('data', (d: Buffer) => stdout.push(pgidLine.filter(d)));
        stream.stderr.on('data', (d: Buffer) => stderr.push(d));
        stream.on('exit', (code: number | null, signal?: string) => {
          if (typeof code === 'number') exitCode = code;
          if (signal) exitSignal = signal;
        });
        stream.on('close', () => finish());
        stream.on('error', (e: Error) =>
          finish(ApplicationFailure.retryable(`ssh ${where}: ${e.message}`, SshFailure.HostUnreachable))
        );
        stream.end(opts.stdin);
      });
    } catch (err) {
      // ssh2 throws synchronously when the connection is already gone.
      finish(
        ApplicationFailure.retryable(`ssh ${where}: ${(err as Error).message}`, SshFailure.HostUnreachable)
      );
    }
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : ApplicationFailure.retryable('command aborted', 'Aborted');
}

// ---------------------------------------------------------------------------------------------
// Files

export interface UploadInput {
  /** Absolute path on the host. */
  path: string;
  content: Buffer;
  /** Mode for a new file and a missing parent directory; an existing file keeps its mode. */
  mode: number;
  /** `user` or `user:group`. */
  owner?: string;
  sudo: boolean;
}

/**
 * Writes `content` to `path` with k0smotron's semantics (see `uploadScript`): one exec channel,
 * content on stdin, the script under sudo when asked for. Failures are `CommandFailed`
 * naming the path (never the content).
 */
export async function uploadFile(
  conn: SshConnection,
  file: UploadInput,
  opts: Omit<RunOptions, 'sudo' | 'stdin'> = {}
): Promise<void> {
  const script = uploadScript({
    path: file.path,
    mode: file.mode,
    ...(file.owner ? { owner: file.owner } : {}),
  });
  await runCommandChecked(conn, script, {
    ...opts,
    sudo: file.sudo,
    stdin: file.content,
    what: `upload of ${file.path}`,
  });
}

/** The bytes of a planned file: its content decoded per its `encoding`. Invalid gzip → InvalidBootstrapData. */
export function plannedFileContent(file: PlannedFile): Buffer {
  if (file.encoding === 'text') return Buffer.from(file.content, 'utf8');
  const bytes = Buffer.from(file.content, 'base64');
  if (file.encoding === 'base64') return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `write_files ${file.path}: content is not gzip data: ${(err as Error).message}`,
      'InvalidBootstrapData'
    );
  }
}

/** Does `path` exist on the host (checked under sudo when asked for)? */
export async function fileExists(
  conn: SshConnection,
  path: string,
  sudo: boolean,
  opts: Omit<RunOptions, 'sudo' | 'stdin'> = {}
): Promise<boolean> {
  const result = await runCommand(conn, fileExistsCommand(path), { ...opts, sudo });
  if (result.exitCode === 0) return true;
  if (result.exitCode === 1 && result.stderrTail.trim() === '') return false;
  throw commandFailure(`check for ${path}`, result);
}

/** Throws `MissingSentinel` (non-retryable) unless the sentinel exists. */
export async function requireFile(conn: SshConnection, path: string, sudo: boolean): Promise<void> {
  if (await fileExists(conn, path, sudo)) return;
  throw ApplicationFailure.nonRetryable(
    `bootstrap sentinel file not found: ${path}`,
    SshFailure.MissingSentinel,
    {
      path,
    }
  );
}
