// SSH hosts for the proving ground: real sshd processes, each in its own network namespace, UTS
// namespace, mount namespace and PID namespace, chrooted into a private overlayfs over one cached
// Debian bookworm rootfs (scripts/build-rootfs.sh). No containers, no network beyond this machine.
//
// Layout under `dir`:
//   ssh/id_ed25519{,.pub}          client key of this run, authorized for root and k0sflow
//   hosts/<name>/{upper,work}      the host's overlay layers (its whole writable disk)
//   hosts/<name>/merged            the host's root, mounted on the machine (readable from tests)
//   hosts/<name>/sshd.log          sshd's stderr (kept after stop)
//   ssh-hosts-state.json           every resource, recorded *before* it is made (write-ahead),
//                                  so that stopSshHosts() can undo a start that crashed halfway
//
// Network: one bridge on the machine holds the gateway .1 of a private 10.213.X.0/24 (X derived
// from `dir`); host i is .(10+i) with a default route via the gateway. No NAT; forwarding is off on
// the bridge (and is expected off on the machine), so a host reaches the other hosts over the bridge
// and the machine's own addresses (gatewayAddress is the one to use), and nothing beyond.
//
// Needs root.

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'ssh2';

export interface SshHost {
  name: string;
  address: string;
  port: number;
  user: string;
  privateKeyFile: string;
  hostKey: string;
}

const execFileP = promisify(execFile);

const STATE_FILE = 'ssh-hosts-state.json';
const SUBNET_PREFIX = '10.213';
const MAX_HOSTS = 200;
const READY_TIMEOUT_MS = 30_000;
const NON_ROOT_USER = 'k0sflow';

type Resource =
  | { kind: 'bridge'; name: string }
  | { kind: 'netns'; name: string }
  | { kind: 'veth'; name: string }
  | { kind: 'mount'; path: string }
  | { kind: 'pid'; pid: number; startTime: string }
  | { kind: 'dir'; path: string };

interface State {
  version: 1;
  dir: string;
  id: string;
  subnet?: string;
  gatewayAddress?: string;
  rootfs?: string;
  resources: Resource[];
  hosts: SshHost[];
}

// ---------------------------------------------------------------------------------------------
// Small helpers

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, {
      cause: err,
    });
  }
}

async function tryRun(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    return await run(cmd, args);
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function dirId(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 6);
}

// Interface names must stay within 15 characters: "kpg" + 6 hex + "v" + up to 3 digits.
function names(id: string, i: number): { netns: string; vethHost: string; vethPeer: string } {
  return { netns: `kpg-${id}-${i}`, vethHost: `kpg${id}v${i}`, vethPeer: `kpg${id}p${i}` };
}
const bridgeName = (id: string): string => `kpg${id}br`;

function statePath(dir: string): string {
  return path.join(dir, STATE_FILE);
}

function saveState(state: State): void {
  const file = statePath(state.dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** Write-ahead: the resource is on disk before it exists, so a crash can never leak it. */
function record(state: State, r: Resource): void {
  state.resources.push(r);
  saveState(state);
}

function loadState(dir: string): State | undefined {
  try {
    return JSON.parse(readFileSync(statePath(dir), 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** Mount points at or under `prefix`, as the machine's mount namespace sees them. */
function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const target = line.split(' ')[1]?.replace(/\\040/g, ' ');
    if (target && (target === prefix || target.startsWith(prefix + '/'))) out.push(target);
  }
  return out;
}

/** Field 22 of /proc/PID/stat: the process's start time, to tell a recorded pid from a reused one. */
function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie is as good as gone
    return fields[19];
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Rootfs and subnet

async function ensureRootfs(): Promise<string> {
  const fromEnv = process.env['K0SFLOW_ROOTFS'];
  if (fromEnv) return fromEnv;
  const script = fileURLToPath(new URL('../../scripts/build-rootfs.sh', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited with ${String(code)}`))
    );
  });
  const printed = stdout.trim().split('\n').pop() ?? '';
  // Once seen in a full run: the script succeeded but its stdout came back empty. Its --path answer names
  // the same cached image without building anything.
  const rootfs = printed || (await rootfsPathOf(script));
  if (!existsSync(path.join(rootfs, 'usr/sbin/sshd'))) throw new Error(`no usable rootfs at '${rootfs}'`);
  return rootfs;
}

async function rootfsPathOf(script: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [script, '--path']);
  return stdout.trim();
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** Does any route or address on the machine (except a default route) overlap 10.213.x.0/24? */
async function subnetInUse(x: number): Promise<boolean> {
  const lo = ipToInt(`${SUBNET_PREFIX}.${x}.0`);
  const hi = lo + 255;
  const routes = JSON.parse(await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all'])) as {
    dst?: string;
  }[];
  const addrs = JSON.parse(await run('ip', ['-4', '-j', 'addr', 'show'])) as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  const cidrs = [
    ...routes.map((r) => r.dst ?? ''),
    ...addrs.flatMap((a) => (a.addr_info ?? []).map((i) => `${i.local ?? ''}/${i.prefixlen ?? 32}`)),
  ];
  return cidrs.some((cidr) => {
    if (!cidr || cidr === 'default') return false;
    const [net = '', lenStr] = cidr.split('/');
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(net)) return false;
    const len = lenStr === undefined ? 32 : Number(lenStr);
    if (len === 0) return false;
    const size = 2 ** (32 - len);
    const start = Math.floor(ipToInt(net) / size) * size;
    return start <= hi && start + size - 1 >= lo;
  });
}

async function chooseSubnet(id: string): Promise<number> {
  const first = (parseInt(id.slice(0, 4), 16) % 250) + 2; // 2..251
  for (let k = 0; k < 250; k++) {
    const x = ((first - 2 + k) % 250) + 2;
    if (!(await subnetInUse(x))) return x;
  }
  throw new Error(`no free ${SUBNET_PREFIX}.X.0/24 subnet on this machine`);
}

// ---------------------------------------------------------------------------------------------
// Start

// Runs as PID 1 of the host's new PID namespace, in its own (private) mount namespace: every mount
// made here disappears with the host's last process, so nothing can leak into the machine.
const HOST_INIT = `
set -eu
M=$1; N=$2
mount -t proc -o nosuid,nodev,noexec proc "$M/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$M/sys"
mount -t tmpfs -o nosuid,mode=0755,size=16m tmpfs "$M/dev"
mknod -m 666 "$M/dev/null" c 1 3
mknod -m 666 "$M/dev/zero" c 1 5
mknod -m 666 "$M/dev/full" c 1 7
mknod -m 666 "$M/dev/random" c 1 8
mknod -m 666 "$M/dev/urandom" c 1 9
mknod -m 666 "$M/dev/tty" c 5 0
mkdir -p "$M/dev/pts" "$M/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
ln -s /proc/self/fd "$M/dev/fd"
ln -s /proc/self/fd/0 "$M/dev/stdin"
ln -s /proc/self/fd/1 "$M/dev/stdout"
ln -s /proc/self/fd/2 "$M/dev/stderr"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$M/dev/shm"
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs "$M/run"
mkdir -p "$M/run/lock" "$M/run/sshd"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$M/tmp"
exec chroot "$M" /bin/sh -c 'hostname "$1" && exec /usr/sbin/sshd -D -e' sh "$N"
`;

/** Warn about machine settings that would let host traffic out or filter host -> gateway traffic. */
function checkMachineNetwork(): void {
  const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '');
  if (read('/proc/sys/net/ipv4/ip_forward') === '1') {
    console.warn('ssh-hosts: net.ipv4.ip_forward=1 on this machine; the hosts must not route beyond it');
  }
  const tables = read('/proc/net/ip_tables_names');
  if (tables)
    console.warn(
      `ssh-hosts: iptables tables loaded (${tables.replace(/\n/g, ' ')}); host -> gateway may be filtered`
    );
}

async function addBridge(state: State, bridge: string, gateway: string): Promise<void> {
  record(state, { kind: 'bridge', name: bridge });
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  // Belt and braces: no forwarding of what the hosts send, whatever the machine's default is.
  await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '0');
  await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  await run('ip', ['link', 'set', bridge, 'up']);
}

async function makeClientKey(state: State): Promise<string> {
  const sshDir = path.join(state.dir, 'ssh');
  record(state, { kind: 'dir', path: sshDir });
  await rm(sshDir, { recursive: true, force: true });
  await mkdir(sshDir, { mode: 0o700, recursive: true });
  const keyFile = path.join(sshDir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'k0sflow-proving-ground', '-f', keyFile]);
  await chmod(keyFile, 0o600);
  return keyFile;
}

async function setupNetwork(
  state: State,
  i: number,
  address: string,
  bridge: string,
  gateway: string
): Promise<void> {
  const n = names(state.id, i);
  record(state, { kind: 'netns', name: n.netns });
  await run('ip', ['netns', 'add', n.netns]);
  record(state, { kind: 'veth', name: n.vethHost });
  await run('ip', ['link', 'add', n.vethHost, 'type', 'veth', 'peer', 'name', n.vethPeer, 'netns', n.netns]);
  await run('ip', ['link', 'set', n.vethHost, 'master', bridge, 'up']);
  const inNs = (...args: string[]): Promise<string> => run('ip', ['-n', n.netns, ...args]);
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', n.vethPeer, 'name', 'eth0');
  await inNs('addr', 'add', `${address}/24`, 'dev', 'eth0');
  await inNs('link', 'set', 'eth0', 'up');
  await inNs('route', 'add', 'default', 'via', gateway);
}

async function setupRoot(state: State, name: string, rootfs: string): Promise<string> {
  const hostDir = path.join(state.dir, 'hosts', name);
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => path.join(hostDir, d)) as [
    string,
    string,
    string,
  ];
  for (const d of [upper, work, merged]) {
    record(state, { kind: 'dir', path: d });
    await rm(d, { recursive: true, force: true });
    await mkdir(d, { recursive: true });
  }
  record(state, { kind: 'mount', path: merged });
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${rootfs},upperdir=${upper},workdir=${work}`,
    merged,
  ]);
  return merged;
}

/**
 * The host's own keys, made in its chroot. Not `ssh-keygen -A`: its RSA-3072 key costs 2 to 6 s of
 * CPU per host on this machine, so hosts get ed25519 and ECDSA keys only (sshd is told so, to keep
 * it from looking for the RSA one).
 */
async function makeHostKeys(merged: string, name: string): Promise<void> {
  await Promise.all(
    ['ed25519', 'ecdsa'].map((t) =>
      run('chroot', [
        merged,
        'ssh-keygen',
        '-q',
        '-t',
        t,
        '-N',
        '',
        '-C',
        `root@${name}`,
        '-f',
        `/etc/ssh/ssh_host_${t}_key`,
      ])
    )
  );
  await writeFile(
    path.join(merged, 'etc/ssh/sshd_config.d/10-host-keys.conf'),
    'HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n'
  );
}

async function authorize(merged: string, user: string, publicKey: string): Promise<void> {
  const passwd = await readFile(path.join(merged, 'etc/passwd'), 'utf8');
  const entry = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
  if (!entry) throw new Error(`no user ${user} in the rootfs`);
  const [, , uid = '0', gid = '0', , home = '/'] = entry.split(':');
  const sshDir = path.join(merged, home, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(sshDir, 'authorized_keys'), publicKey, { mode: 0o600 });
  await chown(sshDir, Number(uid), Number(gid));
  await chown(path.join(sshDir, 'authorized_keys'), Number(uid), Number(gid));
}

function spawnSshd(state: State, i: number, name: string, merged: string): number {
  const { netns } = names(state.id, i);
  const log = openSync(path.join(state.dir, 'hosts', name, 'sshd.log'), 'a');
  const child = spawn(
    'ip',
    // --kill-child: if unshare dies, the host's PID 1 (sshd) and so the whole PID namespace die too.
    [
      'netns',
      'exec',
      netns,
      'unshare',
      '--uts',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      'sh',
      '-c',
      HOST_INIT,
      'host-init',
      merged,
      name,
    ],
    { detached: true, stdio: ['ignore', log, log] }
  );
  closeSync(log);
  child.on('error', () => undefined); // surfaces as a readiness timeout with the log attached
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn sshd for ${name}`);
  record(state, { kind: 'pid', pid, startTime: procStartTime(pid) ?? '' });
  return pid;
}

function sshConnectOnce(host: SshHost, privateKey: Buffer): Promise<void> {
  const expected = Buffer.from(host.hostKey.split(' ')[1] ?? '', 'base64');
  return new Promise((resolve, reject) => {
    const conn = new Client();
    conn
      .on('ready', () => {
        conn.end();
        resolve();
      })
      .on('error', reject)
      .connect({
        host: host.address,
        port: host.port,
        username: host.user,
        privateKey,
        readyTimeout: 5_000,
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => key.equals(expected),
      });
  });
}

async function waitReady(host: SshHost, pid: number, logFile: string): Promise<void> {
  const privateKey = await readFile(host.privateKeyFile);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      await sshConnectOnce(host, privateKey);
      return;
    } catch (err) {
      lastErr = err;
    }
    if (procStartTime(pid) === undefined) break; // sshd (or its namespace setup) died
    await sleep(100);
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(
    `sshd of ${host.name} (${host.address}) not ready: ${String(lastErr)}\n--- ${logFile} ---\n${log}`
  );
}

async function startHost(
  state: State,
  i: number,
  ctx: { rootfs: string; bridge: string; gateway: string; subnet: string; keyFile: string; hostsLine: string }
): Promise<SshHost> {
  const name = `pg-host-${i}`;
  const address = `${ctx.subnet}.${10 + i}`;
  await setupNetwork(state, i, address, ctx.bridge, ctx.gateway);
  const merged = await setupRoot(state, name, ctx.rootfs);

  await writeFile(path.join(merged, 'etc/hostname'), `${name}\n`);
  await writeFile(
    path.join(merged, 'etc/hosts'),
    `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost ip6-localhost ip6-loopback\n${ctx.hostsLine}`
  );
  const pub = await readFile(`${ctx.keyFile}.pub`, 'utf8');
  await authorize(merged, 'root', pub);
  await authorize(merged, NON_ROOT_USER, pub);
  await makeHostKeys(merged, name);
  const hostKeyPub = await readFile(path.join(merged, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
  const hostKey = hostKeyPub.trim().split(/\s+/).slice(0, 2).join(' ');

  const pid = spawnSshd(state, i, name, merged);
  const host: SshHost = { name, address, port: 22, user: 'root', privateKeyFile: ctx.keyFile, hostKey };
  await waitReady(host, pid, path.join(state.dir, 'hosts', name, 'sshd.log'));
  return host;
}

/**
 * Starts `count` SSH hosts (pg-host-0 …) and returns once each accepts a key login as root.
 * Whatever an earlier run left in `dir` is stopped first. On failure everything made is undone.
 */
export async function startSshHosts(opts: {
  dir: string;
  count: number;
}): Promise<{ hosts: SshHost[]; gatewayAddress: string }> {
  const dir = path.resolve(opts.dir);
  const { count } = opts;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new Error(`count must be an integer in 1..${MAX_HOSTS}, got ${count}`);
  }
  if (process.getuid?.() !== 0) throw new Error('startSshHosts needs root (netns, mount, chroot)');
  if (/[,:\s]/.test(dir))
    throw new Error(`dir must not contain ',', ':' or spaces (overlayfs options): ${dir}`);

  await mkdir(dir, { recursive: true });
  await stopSshHosts(dir);
  checkMachineNetwork();
  const rootfs = await ensureRootfs();

  const id = dirId(dir);
  const state: State = { version: 1, dir, id, rootfs, resources: [], hosts: [] };
  saveState(state);
  try {
    const x = await chooseSubnet(id);
    const subnet = `${SUBNET_PREFIX}.${x}`;
    const gateway = `${subnet}.1`;
    state.subnet = `${subnet}.0/24`;
    state.gatewayAddress = gateway;
    saveState(state);

    const bridge = bridgeName(id);
    await addBridge(state, bridge, gateway);
    const keyFile = await makeClientKey(state);
    const hostsLine =
      `${gateway} pg-gateway\n` +
      Array.from({ length: count }, (_, i) => `${subnet}.${10 + i} pg-host-${i}\n`).join('');
    const ctx = { rootfs, bridge, gateway, subnet, keyFile, hostsLine };

    const hosts = await Promise.all(Array.from({ length: count }, (_, i) => startHost(state, i, ctx)));
    state.hosts = hosts;
    saveState(state);
    return { hosts, gatewayAddress: gateway };
  } catch (err) {
    await stopSshHosts(dir).catch((stopErr: unknown) => {
      console.error(`ssh-hosts: clean-up after a failed start also failed: ${String(stopErr)}`);
    });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Stop

async function killAll(pids: Set<number>): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while ([...pids].some((p) => procStartTime(p) !== undefined)) {
    if (Date.now() > deadline) throw new Error(`processes would not die: ${[...pids].join(' ')}`);
    await sleep(20);
  }
}

async function unmount(target: string): Promise<void> {
  if (!mountsUnder(target).includes(target)) return;
  if ((await tryRun('umount', [target])) === undefined) await run('umount', ['-l', target]);
}

async function removeDir(p: string): Promise<void> {
  const mounted = mountsUnder(p);
  if (mounted.length > 0) throw new Error(`not deleting ${p}: still mounted there: ${mounted.join(', ')}`);
  await rm(p, { recursive: true, force: true });
}

async function netnsNames(): Promise<string[]> {
  return ((await tryRun('ip', ['netns', 'list'])) ?? '').split('\n').map((l) => l.split(' ')[0] ?? '');
}

async function linkNames(): Promise<string[]> {
  const links = JSON.parse((await tryRun('ip', ['-j', 'link', 'show'])) ?? '[]') as { ifname: string }[];
  return links.map((l) => l.ifname);
}

function resourcesOf<K extends Resource['kind']>(res: Resource[], k: K): Extract<Resource, { kind: K }>[] {
  return res.filter((r): r is Extract<Resource, { kind: K }> => r.kind === k);
}

/** Everything in our namespaces, plus recorded pids that are still the same process (not reused). */
async function killHostProcesses(
  netns: Iterable<string>,
  recorded: { pid: number; startTime: string }[]
): Promise<void> {
  const pids = new Set<number>();
  for (const ns of netns) {
    for (const p of ((await tryRun('ip', ['netns', 'pids', ns])) ?? '').split(/\s+/)) {
      if (p) pids.add(Number(p));
    }
  }
  for (const r of recorded) {
    if (procStartTime(r.pid) === r.startTime) pids.add(r.pid);
  }
  await killAll(pids);
}

/** What would leak for good if the state file were forgotten now. */
async function leftovers(dir: string, id: string, netns: Set<string>): Promise<string[]> {
  const left = (await netnsNames()).filter((n) => netns.has(n)).map((n) => `netns ${n}`);
  left.push(...(await linkNames()).filter((n) => n.startsWith(`kpg${id}`)).map((n) => `link ${n}`));
  left.push(...mountsUnder(path.join(dir, 'hosts')).map((m) => `mount ${m}`));
  return left;
}

/**
 * Undoes everything startSshHosts made in `dir`, from its state file and, should that be missing
 * or stale, from the names derived from `dir`. Idempotent; tolerant of half-made state.
 * Keeps hosts/<name>/sshd.log.
 */
export async function stopSshHosts(dir: string): Promise<void> {
  dir = path.resolve(dir);
  const id = dirId(dir);
  const res = loadState(dir)?.resources ?? [];

  // Sweep by name too: namespaces and links carry the id derived from dir.
  const netns = new Set([
    ...resourcesOf(res, 'netns').map((r) => r.name),
    ...(await netnsNames()).filter((n) => n.startsWith(`kpg-${id}-`)),
  ]);
  const ourLinks = (await linkNames()).filter((n) => n.startsWith(`kpg${id}`));

  // 1. Processes (their private mounts of /proc, /dev, /run, /tmp go with them).
  await killHostProcesses(netns, resourcesOf(res, 'pid'));

  // 2. Mounts, newest first, then anything else still mounted under dir/hosts.
  for (const r of resourcesOf(res, 'mount').reverse()) await unmount(r.path);
  for (const m of mountsUnder(path.join(dir, 'hosts')).sort().reverse()) await unmount(m);

  // 3. Namespaces (deleting one also deletes the veth end inside it, hence its pair), 4. links.
  for (const ns of netns) await tryRun('ip', ['netns', 'del', ns]);
  const isBridge = (n: string): boolean => n.endsWith('br');
  const veths = new Set([
    ...resourcesOf(res, 'veth').map((r) => r.name),
    ...ourLinks.filter((n) => !isBridge(n)),
  ]);
  for (const v of veths) await tryRun('ip', ['link', 'del', v]);
  const bridges = new Set([...resourcesOf(res, 'bridge').map((r) => r.name), ...ourLinks.filter(isBridge)]);
  for (const b of bridges) await tryRun('ip', ['link', 'del', b]);

  // 5. Directories (the hosts' disks and this run's client key); logs stay.
  const hostsDir = path.join(dir, 'hosts');
  const hostDirs = existsSync(hostsDir) ? readdirSync(hostsDir).map((h) => path.join(hostsDir, h)) : [];
  const swept = hostDirs.flatMap((h) => ['upper', 'work', 'merged'].map((d) => path.join(h, d)));
  for (const d of new Set([...resourcesOf(res, 'dir').map((r) => r.path), ...swept])) await removeDir(d);

  // Verify before forgetting the state.
  const left = await leftovers(dir, id, netns);
  if (left.length > 0) throw new Error(`stopSshHosts(${dir}) left: ${left.join(', ')}`);
  await rm(statePath(dir), { force: true });
}
