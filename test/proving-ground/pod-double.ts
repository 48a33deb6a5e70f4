// Starts the pod TEST DOUBLE (./pod-double/main.ts) for `up` as the recorded process `pod-double`,
// and chooses its addresses. See README.md, "Pod double".
//
// Addresses:
// - with SSH hosts (gateway G = 10.213.X.1 on the hosts' bridge): management's Node is G, the second
//   cluster's Node is 10.213.X.2 (an alias, so the two clusters' NodePorts never collide), pods and
//   LoadBalancer Services get 10.213.X.200-254 as /32 aliases on the bridge: this machine and the
//   hosts reach them all.
// - without hosts: 127.Y.0.1 (management Node), 127.Y.0.2 (second), pods and LoadBalancers from
//   127.Y.1.1 up; Y (16-239) is derived from DIR so proving grounds side by side don't collide. No
//   aliases are needed: all of 127/8 is local.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './net.js';
import { repoRoot } from './paths.js';
import type { PoolConfig } from './pod-double/addresses.js';
import {
  type PodDoubleConfig,
  type WatchedCluster,
  configFile,
  readyFile,
  statusFile,
} from './pod-double/config.js';
import type { PodReport } from './pod-double/pod-runner.js';
import { isRunning, logTail, startProcess } from './procs.js';

export { NODE_NAME as POD_DOUBLE_NODE_NAME } from './pod-double/config.js';
export type { PodReport } from './pod-double/pod-runner.js';

const run = promisify(execFile);
const entry = (): string => join(repoRoot, 'test', 'proving-ground', 'pod-double', 'main.ts');

export interface PodDoubleAddressing {
  nodeAddresses: { management: string; second: string };
  pool: PoolConfig;
}

async function deviceOf(address: string): Promise<string> {
  const { stdout } = await run('ip', ['-j', '-4', 'addr', 'show']);
  const links = JSON.parse(stdout) as { ifname: string; addr_info?: { local?: string }[] }[];
  const link = links.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
  if (!link) throw new Error(`no device holds ${address}`);
  return link.ifname;
}

export async function podDoubleAddressing(
  dir: string,
  gatewayAddress: string | null
): Promise<PodDoubleAddressing> {
  if (gatewayAddress) {
    const subnet = gatewayAddress.split('.').slice(0, 3).join('.');
    return {
      nodeAddresses: { management: gatewayAddress, second: `${subnet}.2` },
      pool: { device: await deviceOf(gatewayAddress), first: `${subnet}.200`, last: `${subnet}.254` },
    };
  }
  const y = 16 + (createHash('sha256').update(dir).digest().readUInt16BE(0) % 224);
  return {
    nodeAddresses: { management: `127.${y}.0.1`, second: `127.${y}.0.2` },
    pool: { device: null, first: `127.${y}.1.1`, last: `127.${y}.255.254` },
  };
}

/** Starts the double for `clusters` and returns once it has registered its Nodes and watches. */
export async function startPodDouble(
  dir: string,
  clusters: WatchedCluster[],
  pool: PoolConfig
): Promise<void> {
  const config: PodDoubleConfig = { dir, clusters, pool };
  mkdirSync(join(dir, 'pod-double'), { recursive: true });
  writeFileSync(configFile(dir), JSON.stringify(config, null, 2) + '\n');
  const proc = startProcess(
    dir,
    'pod-double',
    [process.execPath, '--import', 'tsx', entry(), '--config', configFile(dir)],
    // `--import tsx` resolves from the working directory; NODE_OPTIONS from jest is not wanted.
    { cwd: repoRoot, env: { NODE_OPTIONS: '' } }
  );
  await waitFor(
    'pod double',
    () => {
      const file = readyFile(dir);
      return Promise.resolve(
        existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid === proc.pid
      );
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      alive: () => (isRunning(proc) ? null : `exited; log ${proc.log}:\n${logTail(proc.log)}`),
    }
  );
}

export interface PodDoubleStatus {
  at: string;
  pid: number;
  /** The double's own resident memory. */
  rssMiB: number;
  nodeName: string;
  addressesInUse: string[];
  clusters: {
    name: string;
    nodeIP: string;
    /** namespace/name → address. */
    loadBalancers: Record<string, string>;
    privateEtcds: { dataDir: string; pid: number | null; rssMiB: number }[];
  }[];
  pods: PodReport[];
}

/** What the double reports (DIR/pod-double/status.json, rewritten every 2 s); null when not running. */
export function readPodDoubleStatus(dir: string): PodDoubleStatus | null {
  const file = statusFile(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PodDoubleStatus) : null;
}
