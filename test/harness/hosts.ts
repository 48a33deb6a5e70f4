// Test-side access to the proving ground's SSH hosts: run commands as root (to arrange faults and
// look at what provisioning left), read the k0s test double's call log, start extra sshd instances.
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';

import type { SshHost } from '../proving-ground/index.js';

export interface HostResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function connectHost(host: SshHost): Promise<Client> {
  const expected = Buffer.from(host.hostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn
      .once('ready', () => resolve(conn))
      .once('error', reject)
      .connect({
        host: host.address,
        port: host.port,
        username: 'root',
        privateKey: readFileSync(host.privateKeyFile),
        readyTimeout: 20_000,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => expected.length > 0 && key.equals(expected),
      });
  });
}

export function runOn(conn: Client, command: string): Promise<HostResult> {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code, stdout, stderr }));
    });
  });
}

/** One command as root on `host`, on a connection of its own. */
export async function hostRun(host: SshHost, command: string): Promise<HostResult> {
  const conn = await connectHost(host);
  try {
    return await runOn(conn, command);
  } finally {
    conn.end();
  }
}

export interface CallLine {
  uid: string;
  via: string;
  argv: string;
}

/** calls.log of the k0s test double → the call lines (`<time> uid=N via=V ARGV`) and the note lines. */
export function parseCalls(log: string): { calls: CallLine[]; notes: string[] } {
  const calls: CallLine[] = [];
  const notes: string[] = [];
  for (const line of log.split('\n').filter((l) => l !== '')) {
    const call = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ uid=(\d+) via=(\S+) (.*)$/.exec(line);
    const note = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ uid=\d+ note (.*)$/.exec(line);
    if (call) calls.push({ uid: call[1]!, via: call[2]!, argv: call[3]! });
    else if (note) notes.push(note[1]!);
    else throw new Error(`calls.log line in no known format: ${JSON.stringify(line)}`);
  }
  return { calls, notes };
}

export const K0S_PATH = '/usr/local/bin/k0s';

/** Leaves a host as the proving ground made it: no k0s double, no state, no extra sshd. */
export const CLEAN_HOST = [
  `if [ -x ${K0S_PATH} ]; then ${K0S_PATH} stop; ${K0S_PATH} reset; fi`,
  // Stand-ins a failed test may have orphaned (the host has its own PID namespace: only the double's).
  'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = k0s-double ] && kill "${p#/proc/}"; done',
  'for f in /run/sshd-extra-*.pid; do [ -s "$f" ] && kill "$(cat "$f")"; rm -f "$f"; done',
  `rm -rf ${K0S_PATH} /var/lib/k0s-double /etc/k0s.token /etc/init.d/k0sworker /etc/init.d/k0scontroller`,
  'rm -rf /var/lib/kubelet-k0s-double-test /etc/k0s-double-test.yaml /var/lib/k0sflow /etc/k0sflow-test',
  'rm -f /run/cluster-api/bootstrap-success.complete',
  'true',
]
  .map((c) => `{ ${c}; } >/dev/null 2>&1`)
  .join('; ');

/**
 * Starts a second sshd on `port` (root login by key, as the first). With `newHostKey` it presents a
 * freshly made ed25519 key instead of the host's own: a host re-installed under the same address.
 * Returns the key it presents, `type base64`.
 */
export async function startExtraSshd(host: SshHost, port: number, newHostKey = false): Promise<string> {
  const key = newHostKey ? `/run/sshd-extra-${port}-key` : '/etc/ssh/ssh_host_ed25519_key';
  const config = `/run/sshd-extra-${port}.conf`;
  const script = [
    'set -e',
    newHostKey ? `rm -f ${key} ${key}.pub; ssh-keygen -q -t ed25519 -N '' -f ${key}` : 'true',
    `printf 'Port ${port}\\nHostKey ${key}\\nPidFile /run/sshd-extra-${port}.pid\\nPasswordAuthentication no\\n' > ${config}`,
    `/usr/sbin/sshd -f ${config}`,
    `for i in 1 2 3 4 5 6 7 8 9 10; do [ -s /run/sshd-extra-${port}.pid ] && break; sleep 0.2; done`,
    `cut -d' ' -f1,2 ${key}.pub`,
  ].join('\n');
  const result = await hostRun(host, script);
  if (result.code !== 0) throw new Error(`extra sshd on ${host.name}:${port}: ${result.stderr}`);
  return result.stdout.trim();
}

export async function stopExtraSshd(host: SshHost, port: number): Promise<void> {
  await hostRun(host, `f=/run/sshd-extra-${port}.pid; [ -s $f ] && kill "$(cat $f)"; rm -f $f; true`);
}
