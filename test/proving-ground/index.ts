// The proving ground: Temporal, a management cluster with Cluster API core, optionally a second
// (management-like) cluster and SSH hosts, and the pod test double serving k0sflow's hosted control
// plane pods in both clusters, all as plain processes on this machine. See README.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyOwnCrds, startCapi } from './capi.js';
import { startK0sDoubleServer } from './k0s-double.js';
import { type Cluster, startCluster } from './kube.js';
import { freePorts } from './net.js';
import { POD_DOUBLE_NODE_NAME, podDoubleAddressing, startPodDouble } from './pod-double.js';
import { removeLeftoverAliases } from './pod-double/addresses.js';
import { repoRoot } from './paths.js';
import { groupRssMiB, isRunning, killAll, readState, setAborting, statePath, writeState } from './procs.js';
import type { SshHost } from './ssh-hosts.js';

export { cacheDir, kubectlPath, temporalPath, temporalTestServerPath } from './paths.js';
export type { SshHost } from './ssh-hosts.js';
export { type PodDoubleStatus, readPodDoubleStatus } from './pod-double.js';

/** DIR/env.json: how tests and the lead's code reach what `up` started. */
export interface ProvingGroundEnv {
  temporal: { address: string; namespace: string; uiUrl: string | null };
  /** kubeconfig: absolute path of an admin (system:masters) kubeconfig. */
  management: { kubeconfig: string; server: string };
  /** The second, management-like cluster (what a control plane with `kubeconfigRef` deploys into). */
  second: { kubeconfig: string; server: string } | null;
  hosts: SshHost[];
  /** The machine's address on the hosts' bridge (null without hosts); the second API server listens there. */
  gatewayAddress: string | null;
  /** Every port in use, by name (see PORT_NAMES). */
  ports: Partial<Ports>;
  /** Names of our own CRDs applied from deploy/crds. */
  crds: string[];
  /**
   * Where the hosts download the k0s TEST DOUBLE (test/k0s-double/k0s, not k0s), e.g.
   * `http://10.213.X.1:PORT/k0s`; null without hosts. Served by the recorded process `k0s-double`.
   */
  k0sDownloadURL: string | null;
  /**
   * The pod TEST DOUBLE (recorded process `pod-double`), serving k0sflow's control-plane and etcd
   * pods in both clusters: its Node's name and InternalIP per cluster (NodePorts listen there).
   * null with `podDouble: false`.
   */
  podDouble: { nodeName: string; nodeAddresses: { management: string; second: string | null } } | null;
}

export const PORT_NAMES = [
  'temporal',
  'temporalHttp',
  'temporalMetrics',
  'temporalUi',
  'managementEtcdClient',
  'managementEtcdPeer',
  'managementApiserver',
  'managementControllerManager',
  'capiWebhook',
  'capiHealth',
  'capiDiagnostics',
  'secondEtcdClient',
  'secondEtcdPeer',
  'secondApiserver',
  'secondControllerManager',
  // The HTTP server of the k0s test double (with hosts only).
  'k0sDouble',
] as const;
export type PortName = (typeof PORT_NAMES)[number];
export type Ports = Record<PortName, number>;

export interface UpOptions {
  dir: string;
  /** Number of SSH hosts (default 0). */
  hosts?: number;
  /** Start the second (management-like) cluster (default false). */
  second?: boolean;
  /** Start the pod test double (default true). */
  podDouble?: boolean;
  /** Start CAPI core and apply our CRDs (default true). */
  capi?: boolean;
  /** Temporal Web UI (default false). */
  ui?: boolean;
  /** Fixed ports; every other one is picked free at start. */
  ports?: Partial<Ports>;
  /** Run scripts/install.sh first (default true; env K0SFLOW_SKIP_INSTALL=1 turns it off). */
  install?: boolean;
  /** Leave what started running when `up` fails (default: tear down; env K0SFLOW_PG_KEEP=1). */
  keepOnFailure?: boolean;
  /** Progress messages (default: to stderr). */
  log?: (msg: string) => void;
}

const envPath = (dir: string): string => join(dir, 'env.json');

export function readEnv(dir: string): ProvingGroundEnv {
  const file = envPath(resolve(dir));
  if (!existsSync(file)) throw new Error(`${file} not found: is the proving ground up?`);
  return JSON.parse(readFileSync(file, 'utf8')) as ProvingGroundEnv;
}

/** Runs the installer (all steps but npm: node_modules is in use by this very process). */
export async function runInstaller(log: (msg: string) => void = defaultLog): Promise<void> {
  const t0 = Date.now();
  await new Promise<void>((res, rej) => {
    const child = spawn(
      'bash',
      [join(repoRoot, 'scripts', 'install.sh'), 'apt', 'venv', 'go-tools', 'rootfs'],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      }
    );
    child.on('error', rej);
    child.on('exit', (code) =>
      code === 0 ? res() : rej(new Error(`scripts/install.sh exited with ${code}`))
    );
  });
  log(`installer: ${Date.now() - t0} ms`);
}

function defaultLog(msg: string): void {
  process.stderr.write(`proving-ground: ${msg}\n`);
}

async function choosePorts(fixed: Partial<Ports>, wanted: PortName[]): Promise<Ports> {
  const taken = new Set(Object.values(fixed));
  const need = wanted.filter((n) => fixed[n] === undefined);
  const picked = (await freePorts(need.length + taken.size)).filter((p) => !taken.has(p));
  const ports = { ...fixed } as Ports;
  need.forEach((n, i) => (ports[n] = picked[i]!));
  return ports;
}

/** Our files in DIR (the SSH-hosts module keeps its own: hosts/, ssh/, ssh-hosts-state.json). */
const OUR_ARTEFACTS = [
  'logs',
  'management',
  'second',
  'capi',
  'crds',
  'pod-double',
  'management.kubeconfig',
  'second.kubeconfig',
  'env.json',
];

function clean(dir: string): void {
  for (const f of OUR_ARTEFACTS) rmSync(join(dir, f), { recursive: true, force: true });
  for (const suffix of ['', '-shm', '-wal', '-journal'])
    rmSync(join(dir, `temporal.db${suffix}`), { force: true });
}

function wantedPorts(opts: UpOptions): PortName[] {
  const wanted: PortName[] = ['temporal', 'temporalHttp', 'temporalMetrics'];
  wanted.push(
    'managementEtcdClient',
    'managementEtcdPeer',
    'managementApiserver',
    'managementControllerManager'
  );
  if (opts.ui) wanted.push('temporalUi');
  if (opts.capi ?? true) wanted.push('capiWebhook', 'capiHealth', 'capiDiagnostics');
  if (opts.second)
    wanted.push('secondEtcdClient', 'secondEtcdPeer', 'secondApiserver', 'secondControllerManager');
  if ((opts.hosts ?? 0) > 0) wanted.push('k0sDouble');
  return wanted;
}

type Lap = (what: string) => void;

async function startManagement(
  dir: string,
  ports: Ports,
  withCapi: boolean,
  lap: Lap,
  /** Called as soon as the cluster answers, before CAPI (the pod double starts then). */
  onCluster: (mgmt: Cluster) => void
): Promise<{ mgmt: Cluster; crds: string[] }> {
  const mgmt = await startCluster({
    dir,
    name: 'management',
    address: '127.0.0.1',
    ports: {
      etcdClient: ports.managementEtcdClient,
      etcdPeer: ports.managementEtcdPeer,
      apiserver: ports.managementApiserver,
      controllerManager: ports.managementControllerManager,
    },
  });
  lap('management cluster ready');
  onCluster(mgmt);
  if (!withCapi) return { mgmt, crds: [] };
  // Our CRDs have no webhooks, so they go in while CAPI starts; both must be done before `up`
  // returns (converting v1beta1 Clusters/Machines looks the provider CRDs up).
  const [, crds] = await Promise.all([
    startCapi(dir, mgmt, ports).then(() => lap('CAPI core ready')),
    applyOwnCrds(dir, mgmt.kubeconfig).then((names) => {
      lap(names.length > 0 ? `our ${names.length} CRDs established` : 'no CRDs in deploy/crds');
      return names;
    }),
  ]);
  return { mgmt, crds };
}

interface HostsAndSecond {
  hosts: { hosts: SshHost[]; gatewayAddress: string } | null;
  second: Cluster | null;
  k0sDownloadURL: string | null;
}

async function startHostsAndSecond(
  dir: string,
  ports: Ports,
  count: number,
  withSecond: boolean,
  lap: Lap
): Promise<HostsAndSecond> {
  let hosts: HostsAndSecond['hosts'] = null;
  if (count > 0) {
    const { startSshHosts } = await import('./ssh-hosts.js');
    hosts = await startSshHosts({ dir, count });
    lap(`${count} SSH hosts ready`);
  }
  // --- k0s test double: served to the hosts on the gateway address, alongside the second cluster.
  const k0sDouble = hosts
    ? startK0sDoubleServer(dir, hosts.gatewayAddress, ports.k0sDouble).then((url) => {
        lap(`k0s test double served at ${url}`);
        return url;
      })
    : Promise.resolve(null);
  k0sDouble.catch(() => undefined); // awaited below; don't let it go unhandled meanwhile
  if (!withSecond) return { hosts, second: null, k0sDownloadURL: await k0sDouble };
  const second = await startCluster({
    dir,
    name: 'second',
    // Reachable from the SSH hosts when there are any, else loopback only.
    address: hosts?.gatewayAddress ?? '127.0.0.1',
    // Not management's 10.96.0.0/12: the pod double serves both clusters' ClusterIPs on this machine.
    serviceCIDR: '10.112.0.0/12',
    ports: {
      etcdClient: ports.secondEtcdClient,
      etcdPeer: ports.secondEtcdPeer,
      apiserver: ports.secondApiserver,
      controllerManager: ports.secondControllerManager,
    },
  });
  lap('second cluster ready');
  return { hosts, second, k0sDownloadURL: await k0sDouble };
}

async function failUp(
  dir: string,
  opts: UpOptions,
  failures: PromiseRejectedResult[],
  log: (m: string) => void
): Promise<never> {
  const message = failures
    .map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason)))
    .join('\n---\n');
  if (opts.keepOnFailure || process.env.K0SFLOW_PG_KEEP === '1') {
    log(`up failed; leaving processes running for debugging (logs in ${dir}/logs; clean up with down)`);
  } else {
    log(`up failed; tearing down (logs stay in ${dir}/logs)`);
    await down(dir).catch((err: Error) => log(`down after failure: ${err.message}`));
  }
  throw new Error(`proving ground up failed:\n${message}`);
}

/** Tears down what a previous run left in DIR and removes its files (the SSH-hosts module's stay). */
async function prepareDir(dir: string, log: (m: string) => void): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (readState(dir) !== null || existsSync(join(dir, 'ssh-hosts-state.json'))) {
    log(`stale state in ${dir}: running down first`);
    await down(dir);
  }
  clean(dir);
}

function buildEnv(
  temporal: ProvingGroundEnv['temporal'],
  { mgmt, crds }: { mgmt: Cluster; crds: string[] },
  { hosts, second, k0sDownloadURL }: HostsAndSecond,
  ports: Ports,
  podDouble: ProvingGroundEnv['podDouble']
): ProvingGroundEnv {
  return {
    temporal,
    management: { kubeconfig: mgmt.kubeconfig, server: mgmt.server },
    second: second ? { kubeconfig: second.kubeconfig, server: second.server } : null,
    hosts: hosts?.hosts ?? [],
    gatewayAddress: hosts?.gatewayAddress ?? null,
    ports,
    crds,
    k0sDownloadURL,
    podDouble,
  };
}

/** The pod test double, watching the management cluster and the second one (when started). */
async function startPodDoubleFor(
  dir: string,
  mgmt: Cluster,
  { hosts, second }: HostsAndSecond
): Promise<NonNullable<ProvingGroundEnv['podDouble']>> {
  const { nodeAddresses, pool } = await podDoubleAddressing(dir, hosts?.gatewayAddress ?? null);
  const clusters = [{ name: 'management', kubeconfig: mgmt.kubeconfig, nodeIP: nodeAddresses.management }];
  if (second) clusters.push({ name: 'second', kubeconfig: second.kubeconfig, nodeIP: nodeAddresses.second });
  await startPodDouble(dir, clusters, pool);
  return {
    nodeName: POD_DOUBLE_NODE_NAME,
    nodeAddresses: { management: nodeAddresses.management, second: second ? nodeAddresses.second : null },
  };
}

/** Temporal, the management cluster (+ CAPI), hosts and second cluster, the pod double: in parallel. */
function startParts(dir: string, opts: UpOptions, ports: Ports, lap: Lap) {
  let onCluster: (mgmt: Cluster) => void = () => undefined;
  const mgmtCluster = new Promise<Cluster>((res) => (onCluster = res));
  const mgmt = startManagement(dir, ports, opts.capi ?? true, lap, onCluster);
  const rest = startHostsAndSecond(dir, ports, opts.hosts ?? 0, opts.second ?? false, lap);
  return Promise.allSettled([
    // Imported lazily: @temporalio/client takes a while to load, and `down` doesn't need it.
    import('./temporal.js')
      .then(({ startTemporal }) => startTemporal(dir, ports, opts.ui ?? false))
      .then((t) => (lap('temporal ready'), t)),
    mgmt,
    rest,
    // Alongside CAPI: the double needs only the clusters (and the hosts' bridge).
    opts.podDouble === false
      ? Promise.resolve(null)
      : Promise.race([mgmt.then(() => mgmtCluster), mgmtCluster])
          .then(async (m) => startPodDoubleFor(dir, m, await rest))
          .then((pd) => (lap('pod test double ready'), pd)),
  ] as const);
}

/** The rejected results, each error once (the pod double fails with the cluster it waits for). */
function failuresOf(results: PromiseSettledResult<unknown>[]): PromiseRejectedResult[] {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return failed.filter((r, i) => failed.findIndex((f) => f.reason === r.reason) === i);
}

/**
 * Starts the proving ground in `opts.dir` (tearing down whatever a previous run left there) and
 * returns what DIR/env.json holds. On failure it tears down what it started and throws with the
 * failing component's log tail.
 */
export async function up(opts: UpOptions): Promise<ProvingGroundEnv> {
  const log = opts.log ?? defaultLog;
  const dir = resolve(opts.dir);
  const t0 = Date.now();
  const lap: Lap = (what) => log(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  await prepareDir(dir, log);
  if (opts.install !== false && process.env.K0SFLOW_SKIP_INSTALL !== '1') await runInstaller(log);
  const tStart = Date.now();

  writeState(dir, { version: 1, dir, processes: [] });
  const ports = await choosePorts(opts.ports ?? {}, wantedPorts(opts));
  const [temporalR, mgmtR, restR, podR] = await startParts(dir, opts, ports, lap);
  if (
    temporalR.status === 'rejected' ||
    mgmtR.status === 'rejected' ||
    restR.status === 'rejected' ||
    podR.status === 'rejected'
  ) {
    return failUp(dir, opts, failuresOf([temporalR, mgmtR, restR, podR]), log);
  }
  const env = buildEnv(temporalR.value, mgmtR.value, restR.value, ports, podR.value);
  writeFileSync(envPath(dir), JSON.stringify(env, null, 2) + '\n');
  log(
    `up in ${((Date.now() - tStart) / 1000).toFixed(1)} s (${((Date.now() - t0) / 1000).toFixed(1)} s with installer): ${envPath(dir)}`
  );
  return env;
}

/**
 * Stops everything recorded in DIR/state.json (SIGTERM to each process group, SIGKILL after a
 * grace period) and the SSH hosts. Idempotent; works after a failed or interrupted `up`.
 */
export async function down(dir: string): Promise<void> {
  dir = resolve(dir);
  const state = readState(dir);
  const errors: string[] = [];
  if (state) {
    try {
      await killAll(state.processes);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  // What a pod double that did not stop cleanly left (it removes its aliases itself on SIGTERM).
  await removeLeftoverAliases(dir).catch((err: Error) => errors.push(`pod double aliases: ${err.message}`));
  if (existsSync(join(dir, 'ssh-hosts-state.json')) || existsSync(join(dir, 'hosts'))) {
    try {
      const { stopSshHosts } = await import('./ssh-hosts.js');
      await stopSshHosts(dir);
    } catch (err) {
      errors.push(`stopSshHosts: ${(err as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(`down ${dir}: ${errors.join('; ')}`);
  rmSync(statePath(dir), { force: true });
  rmSync(envPath(dir), { force: true });
}

export interface ProcessStatus {
  name: string;
  pid: number;
  running: boolean;
  rssMiB: number;
  log: string;
}

/** The recorded processes, whether they run, and their resident memory (process group total). */
export function status(dir: string): ProcessStatus[] {
  const state = readState(resolve(dir));
  return (state?.processes ?? []).map((p) => ({
    name: p.name,
    pid: p.pid,
    running: isRunning(p),
    rssMiB: isRunning(p) ? groupRssMiB(p.pid) : 0,
    log: p.log,
  }));
}

/** For signal handlers: no process may start from now on (an interrupted `up` is being torn down). */
export { setAborting };
