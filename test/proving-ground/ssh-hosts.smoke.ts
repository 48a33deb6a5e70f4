// Manual smoke test of ssh-hosts.ts (needs root):  npx tsx test/proving-ground/ssh-hosts.smoke.ts [count]
//
// 1. starts `count` (default 3) hosts, checks host keys, hostnames, sudo as k0sflow, overlay
//    isolation, host -> gateway and host -> host TCP; prints timings and sshd RSS; stops and checks
//    that nothing is left;
// 2. crash test: a child process starting hosts in another dir is SIGKILLed halfway, then
//    stopSshHosts() on that dir must leave nothing behind.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ssh2';
import { startSshHosts, stopSshHosts } from './ssh-hosts.js';
import type { SshHost } from './ssh-hosts.js';

let passed = 0;
let failed = 0;
function check(what: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
}

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;

function connect(host: SshHost, user: string, expectedHostKey = host.hostKey): Promise<Client> {
  const expected = Buffer.from(expectedHostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.on('ready', () => resolve(c))
      .on('error', reject)
      .connect({
        host: host.address,
        port: host.port,
        username: user,
        privateKey: readFileSync(host.privateKeyFile),
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => key.equals(expected),
        readyTimeout: 5000,
      });
  });
}

function exec(c: Client, cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  });
}

interface StateFile {
  id: string;
  resources: { kind: string; name?: string; pid?: number }[];
}

function readState(dir: string): StateFile {
  return JSON.parse(readFileSync(path.join(dir, 'ssh-hosts-state.json'), 'utf8')) as StateFile;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', () => resolve(out));
  });
}

function procInfo(pid: number): { comm: string; rssKb: number; ppid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    if (field('State').startsWith('Z')) return undefined; // exited; only its parent has yet to reap it
    return { comm: field('Name'), rssKb: parseInt(field('VmRSS')) || 0, ppid: Number(field('PPid')) };
  } catch {
    return undefined;
  }
}

/** Processes whose root directory is inside dir (i.e. chrooted into one of its hosts). */
function processesRootedIn(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/root`).startsWith(dir)) out.push(Number(e));
    } catch {
      // gone, or a kernel thread
    }
  }
  return out;
}

async function leftovers(dir: string, id: string): Promise<string[]> {
  const left: string[] = [];
  const netns = await sh('ip', ['netns', 'list']);
  left.push(
    ...netns
      .split('\n')
      .filter((l) => l.startsWith(`kpg-${id}-`))
      .map((l) => `netns ${l}`)
  );
  const links = JSON.parse(await sh('ip', ['-j', 'link', 'show'])) as { ifname: string }[];
  left.push(...links.filter((l) => l.ifname.startsWith(`kpg${id}`)).map((l) => `link ${l.ifname}`));
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  left.push(...mounts.filter((m) => m.split(' ')[1]?.startsWith(dir)).map((m) => `mount ${m}`));
  left.push(...processesRootedIn(dir).map((p) => `process ${p} (${procInfo(p)?.comm ?? '?'})`));
  if (existsSync(path.join(dir, 'ssh-hosts-state.json'))) left.push('state file');
  for (const h of existsSync(path.join(dir, 'hosts')) ? readdirSync(path.join(dir, 'hosts')) : []) {
    for (const sub of ['upper', 'work', 'merged']) {
      if (existsSync(path.join(dir, 'hosts', h, sub))) left.push(`dir hosts/${h}/${sub}`);
    }
  }
  return left;
}

async function smoke(count: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'k0sflow-ssh-smoke-'));
  console.log(`dir ${dir}`);
  let t0 = performance.now();
  const { hosts, gatewayAddress } = await startSshHosts({ dir, count });
  console.log(`started ${count} hosts in ${ms(t0)}; gateway ${gatewayAddress}`);
  for (const h of hosts) console.log(`  ${JSON.stringify(h)}`);
  const { id } = readState(dir);
  const h0 = hosts[0]!;
  const h1 = hosts[1] ?? h0;

  // Host keys, hostnames, sudo.
  for (const h of hosts) {
    t0 = performance.now();
    const c = await connect(h, 'root');
    const connectMs = ms(t0);
    const r = await exec(c, 'hostname');
    check(`${h.name}: root login with verified host key, hostname`, r.stdout.trim() === h.name, connectMs);
    c.end();
    const k = await connect(h, 'k0sflow');
    const s = await exec(k, 'id -un && sudo -n true && sudo -n id -u');
    check(`${h.name}: k0sflow login, sudo -n`, s.code === 0 && s.stdout === 'k0sflow\n0\n', s.stderr.trim());
    k.end();
  }
  if (hosts.length > 1) {
    const wrong = await connect(h0, 'root', h1.hostKey).then(
      (c) => (c.end(), false),
      () => true
    );
    check(`${h0.name}: connection refused when expecting ${h1.name}'s host key`, wrong);
  }

  // Overlay isolation.
  const file = `/root/smoke-${process.pid}-${Date.now()}`;
  const c0 = await connect(h0, 'root');
  const w = await exec(c0, `echo hello > ${file} && cat ${file}`);
  check(`${h0.name}: wrote ${file}`, w.stdout === 'hello\n');
  check(`file is in ${h0.name}'s upper layer`, existsSync(path.join(dir, 'hosts', h0.name, 'upper', file)));
  check('file is absent on the machine', !existsSync(file));
  if (hosts.length > 1) {
    const c1 = await connect(h1, 'root');
    const r = await exec(c1, `test ! -e ${file}`);
    check(`file is absent on ${h1.name}`, r.code === 0);
    const tcp = await exec(c1, `timeout 5 bash -c '</dev/tcp/${h0.address}/22' && echo open`);
    check(`${h1.name} -> ${h0.name}:22 TCP`, tcp.stdout === 'open\n', tcp.stderr.trim());
    c1.end();
  }
  const ps = await exec(c0, 'ps -e -o pid=,comm=');
  check(
    `${h0.name} sees only its own processes`,
    !ps.stdout.includes('node'),
    ps.stdout.trim().replace(/\s+/g, ' ')
  );

  // Host -> machine TCP on the gateway address.
  const server = http.createServer((_req, res) => res.end('hello from the machine\n'));
  await new Promise<void>((r) => server.listen(0, gatewayAddress, r));
  const port = (server.address() as AddressInfo).port;
  t0 = performance.now();
  const cu = await exec(c0, `curl -sS --max-time 5 http://${gatewayAddress}:${port}/`);
  check(
    `${h0.name} -> http://${gatewayAddress}:${port}/`,
    cu.stdout === 'hello from the machine\n',
    `${ms(t0)} ${cu.stderr.trim()}`
  );
  // No traffic is sent anywhere else; check statically that nothing could leave the /24.
  const routes = await exec(c0, 'ip -4 route');
  const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  check(
    `${h0.name} routes only to its /24 and the gateway; machine does not forward (ip_forward=${forward})`,
    forward === '0' &&
      routes.stdout
        .trim()
        .split('\n')
        .every((l) => l.startsWith(`default via ${gatewayAddress} `) || l.includes(`src ${h0.address}`)),
    routes.stdout.trim().replace(/\n/g, ' | ')
  );
  server.close();
  c0.end();

  // Memory.
  const state = readState(dir);
  for (const r of state.resources.filter((x) => x.kind === 'netns')) {
    const pids = (await sh('ip', ['netns', 'pids', r.name!])).split(/\s+/).filter(Boolean).map(Number);
    const infos = pids.map((p) => ({ pid: p, ...procInfo(p) }));
    console.log(
      `  ${r.name}: ${infos.map((i) => `${i.comm} pid ${i.pid} RSS ${((i.rssKb ?? 0) / 1024).toFixed(1)} MiB`).join(', ')}`
    );
  }

  const pidsBefore = processesRootedIn(dir);
  t0 = performance.now();
  await stopSshHosts(dir);
  console.log(`stopped in ${ms(t0)}`);
  const left = await leftovers(dir, id);
  check('nothing left after stop', left.length === 0, left.join('; '));
  check(
    'sshd processes gone',
    pidsBefore.every((p) => procInfo(p) === undefined),
    `${pidsBefore.length} before`
  );
  t0 = performance.now();
  await stopSshHosts(dir);
  const leftAfterSecond = await leftovers(dir, id);
  check('second stop is a no-op', leftAfterSecond.length === 0, ms(t0));
  if (leftAfterSecond.length === 0) rmSync(dir, { recursive: true, force: true });
}

function recorded(dir: string): StateFile['resources'] {
  try {
    return readState(dir).resources;
  } catch {
    return []; // not written yet, or being renamed into place
  }
}

/**
 * A child process starts hosts and is SIGKILLed when `when` says so (mid-start, or after a
 * complete start, like a test runner dying); stopSshHosts must still leave nothing behind.
 */
async function crashTest(
  count: number,
  label: string,
  when: (r: StateFile['resources'], dir: string) => boolean
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'k0sflow-ssh-crash-'));
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, '--child', dir, String(count)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.on('exit', r));
  const deadline = Date.now() + 60_000;
  while (child.exitCode === null && !when(recorded(dir), dir) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  await exited;
  const made = recorded(dir);
  const t0 = performance.now();
  await stopSshHosts(dir);
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 6);
  const left = await leftovers(dir, id);
  const last = made.at(-1);
  check(
    `crash ${label} (${made.length} resources recorded, last ${last?.kind ?? '-'}): stop cleans all`,
    left.length === 0,
    `${ms(t0)} ${left.join('; ')}`
  );
  if (left.length === 0) rmSync(dir, { recursive: true, force: true });
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await startSshHosts({ dir: args[1]!, count: Number(args[2]) });
  writeFileSync(path.join(args[1]!, 'started'), '');
  setInterval(() => undefined, 60_000); // stay alive until killed
} else {
  const count = Number(args[0] ?? 3);
  await smoke(count);
  const kinds = (r: StateFile['resources'], k: string): number => r.filter((x) => x.kind === k).length;
  await crashTest(count, 'after the bridge', (r) => kinds(r, 'bridge') > 0);
  await crashTest(count, 'amid netns/veth', (r) => kinds(r, 'veth') > 1);
  await crashTest(count, 'amid overlays', (r) => kinds(r, 'mount') > 1);
  await crashTest(count, 'at the first sshd', (r) => kinds(r, 'pid') > 0);
  await crashTest(count, 'after a complete start', (_r, dir) => existsSync(path.join(dir, 'started')));
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}
