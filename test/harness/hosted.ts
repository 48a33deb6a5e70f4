// Helpers for the hosted control plane's tests: the control plane object, a free node port, kubectl
// through a kubeconfig k0sflow wrote, and the TLS chain of the API server the pod double serves.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

import { kindInfo } from '../../src/domain/api/index.js';
import { kubectlPath } from '../proving-ground/index.js';
import type { KubernetesObject } from '@kubernetes/client-node';

import { eventually, parseManifests, type Kube } from './env.js';
import { seedManifest } from './seeds.js';
import type { Condition } from './machines.js';

const run = promisify(execFile);

const info = kindInfo('K0smotronControlPlane');
export const KMC = { group: info.group, version: info.version, plural: info.plural };

export interface ControlPlaneObject {
  metadata: { name: string; uid: string; generation: number; finalizers?: string[] };
  spec: Record<string, unknown> & { controlPlaneEndpoint?: { host: string; port: number } };
  status?: {
    ready?: boolean;
    initialized?: boolean;
    initialization?: { controlPlaneInitialized?: boolean };
    externalManagedControlPlane?: boolean;
    version?: string;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    selector?: string;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export async function getControlPlane(
  kube: Kube,
  namespace: string,
  name: string
): Promise<ControlPlaneObject> {
  return (await kube.custom.getNamespacedCustomObject({ ...KMC, namespace, name })) as ControlPlaneObject;
}

export function cpCondition(cp: ControlPlaneObject, type: string): Condition | undefined {
  return cp.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the control plane's `type` condition has `reason` (and returns the object). */
export async function controlPlaneReason(
  kube: Kube,
  namespace: string,
  name: string,
  type: string,
  reason: string,
  timeoutMs = 240_000
): Promise<ControlPlaneObject> {
  return eventually(
    async () => {
      const cp = await getControlPlane(kube, namespace, name);
      const c = cpCondition(cp, type);
      if (c?.reason !== reason)
        throw new Error(`${type}: ${c?.reason} ${c?.message ?? ''}, waiting for ${reason}`);
      return cp;
    },
    timeoutMs,
    1000
  );
}

/** A node port no Service of the management cluster uses (the API server would reject a clash). */
export async function freeNodePort(kube: Kube): Promise<number> {
  const services = await kube.core.listServiceForAllNamespaces();
  const used = new Set(services.items.flatMap((s) => (s.spec?.ports ?? []).map((p) => p.nodePort ?? 0)));
  for (;;) {
    const port = 30100 + Math.floor(Math.random() * 1300) * 2; // pairs: API and konnectivity
    if (!used.has(port) && !used.has(port + 1)) return port;
  }
}

/** Runs the proving ground's kubectl with a kubeconfig given as text. */
export async function kubectlWith(kubeconfig: string, args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'k0sflow-kubeconfig-'));
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kubeconfig, { mode: 0o600 });
  try {
    const { stdout } = await run(kubectlPath(), [`--kubeconfig=${file}`, '--request-timeout=20s', ...args]);
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function secretText(kube: Kube, namespace: string, name: string, key: string): Promise<string> {
  const secret = await kube.core.readNamespacedSecret({ namespace, name });
  return Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
}

/**
 * Connects with `ca` as the only trust anchor: resolves with the serving certificate's issuer when the
 * chain verifies, rejects otherwise.
 */
export function servingCertificateIssuer(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca, servername: host.match(/^[\d.]+$/) ? undefined : host }, () => {
      const cn = socket.getPeerCertificate().issuer.CN;
      socket.end();
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

const SEED_KINDS = ['Cluster', 'K0smotronControlPlane', 'RemoteCluster'];

/** The seed's three objects, renamed to `name`, the control plane on `apiPort`. */
export function seedObjects(
  name: string,
  apiPort: number,
  cpSpec: Record<string, unknown> = {}
): KubernetesObject[] {
  return parseManifests(seedManifest('remote-machine-provider', SEED_KINDS, 0)).map((o) => {
    const obj = structuredClone(o) as KubernetesObject & { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    obj.metadata = { ...obj.metadata, name };
    if (obj.kind === 'Cluster') {
      obj.spec.controlPlaneRef.name = name;
      obj.spec.infrastructureRef.name = name;
    }
    if (obj.kind === 'K0smotronControlPlane') {
      obj.spec = {
        ...obj.spec,
        ...cpSpec,
        service: { ...obj.spec.service, ...(cpSpec.service ?? {}), apiPort, konnectivityPort: apiPort + 1 },
      };
    }
    return obj;
  });
}
