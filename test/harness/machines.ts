// Building blocks of the RemoteMachine tests: SSH key and bootstrap data Secrets, the seed's objects
// pointed at a proving-ground host, readers for what k0sflow writes, and the k0sflow CLI.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';

import { WORKER_START_COMMAND } from '../../src/domain/worker-bootstrap.js';
import type { SshHost } from '../proving-ground/index.js';
import { eventually, provingGround, repoRoot, type Kube } from './env.js';
import { K0S_PATH } from './hosts.js';
import { MACHINE, RM } from './resources.js';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

export interface RemoteMachineObject {
  metadata: {
    name: string;
    uid: string;
    finalizers?: string[];
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: { providerID?: string; address?: string; port?: number; pool?: string; sshKeyRef?: { name: string } };
  status?: {
    ready?: boolean;
    initialization?: { provisioned?: boolean };
    addresses?: { type: string; address: string }[];
    hostKey?: string;
    conditions?: Condition[];
  };
}

export async function createKeySecret(
  kube: Kube,
  namespace: string,
  name: string,
  host: SshHost
): Promise<void> {
  await kube.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { value: readFileSync(host.privateKeyFile, 'utf8') } },
  });
}

/** k0smotron's worker start chain (design doc section 4.6). */
export const START_CHAIN = WORKER_START_COMMAND;

export interface WorkerBootstrap {
  machineName: string;
  /** Extra runcmd entries, run after the k0s start and before the sentinel. */
  extraCommands?: string[];
  extraFiles?: { path: string; content: string; permissions?: string; owner?: string }[];
}

/**
 * Cloud-config shaped as K0sWorkerConfig writes it (k0smotron v1.10.9): the token file, then
 * download, install, start, sentinel. Stands in for the bootstrap provider until that issue lands.
 */
export function workerCloudConfig(opts: WorkerBootstrap): string {
  const env = provingGround();
  const doc = {
    write_files: [
      { path: '/etc/k0s.token', permissions: '0600', content: 'k0s-double-token' },
      ...(opts.extraFiles ?? []),
    ],
    runcmd: [
      `curl -sSfL --retry 5 ${env.k0sDownloadURL} -o ${K0S_PATH} && chmod +x ${K0S_PATH}`,
      `${K0S_PATH} install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=${opts.machineName}`,
      START_CHAIN,
      ...(opts.extraCommands ?? []),
      'mkdir -p /run/cluster-api && touch /run/cluster-api/bootstrap-success.complete',
    ],
  };
  return `## template: jinja\n#cloud-config\n${stringify(doc)}`;
}

export async function createBootstrapSecret(
  kube: Kube,
  namespace: string,
  name: string,
  cloudConfig: string
): Promise<void> {
  await kube.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name },
      type: 'cluster.x-k8s.io/secret',
      stringData: { value: cloudConfig, format: 'cloud-config' },
    },
  });
}

export async function getRemoteMachine(
  kube: Kube,
  namespace: string,
  name: string
): Promise<RemoteMachineObject> {
  return (await kube.custom.getNamespacedCustomObject({ ...RM, namespace, name })) as RemoteMachineObject;
}

export interface MachineObject {
  status?: { phase?: string; initialization?: Record<string, boolean> };
  spec: { providerID?: string };
}

export async function getMachine(kube: Kube, namespace: string, name: string): Promise<MachineObject> {
  return (await kube.custom.getNamespacedCustomObject({ ...MACHINE, namespace, name })) as MachineObject;
}

export function condition(rm: RemoteMachineObject, type = 'Ready'): Condition | undefined {
  return rm.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the RemoteMachine's Ready condition has `reason`; returns the machine. */
export function readyReason(
  kube: Kube,
  namespace: string,
  name: string,
  reason: string,
  timeoutMs = 120_000
): Promise<RemoteMachineObject> {
  return eventually(async () => {
    const rm = await getRemoteMachine(kube, namespace, name);
    const ready = condition(rm);
    if (ready?.reason !== reason)
      throw new Error(
        `Ready reason of ${namespace}/${name} is ${ready?.reason} (${ready?.message}), not ${reason}`
      );
    return rm;
  }, timeoutMs);
}

/** Runs the k0sflow CLI from source against the proving ground's Temporal, or the one given. */
export async function k0sflowCli(
  args: string[],
  temporal?: { address: string; namespace: string }
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = provingGround();
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          TEMPORAL_ADDRESS: temporal?.address ?? env.temporal.address,
          TEMPORAL_NAMESPACE: temporal?.namespace ?? env.temporal.namespace,
          // The test proving ground runs no Web UI: any base shows how the link is built.
          TEMPORAL_UI_URL: env.temporal.uiUrl ?? 'http://temporal-ui.invalid',
          TEMPORAL_CONFIG_FILE: '/nonexistent',
        },
        timeout: 120_000,
      }
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * A CAPI Machine whose bootstrap data is given directly (Secret `<name>-bootstrap`) and the
 * RemoteMachine it points at, as `kubectl create` would take them.
 */
export function machineObjects(
  name: string,
  opts: { clusterName: string; rmSpec: Record<string, unknown>; annotations?: Record<string, string> }
): KubernetesObject[] {
  return [
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Machine',
      metadata: { name },
      spec: {
        clusterName: opts.clusterName,
        bootstrap: { dataSecretName: `${name}-bootstrap` },
        infrastructureRef: {
          apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
          kind: 'RemoteMachine',
          name,
        },
      },
    } as KubernetesObject,
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteMachine',
      metadata: { name, annotations: opts.annotations ?? {} },
      spec: opts.rmSpec,
    } as KubernetesObject,
  ];
}
