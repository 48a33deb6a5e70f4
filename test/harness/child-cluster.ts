// A child cluster for tests that need one: a hosted control plane (the seed's objects) served by the
// pod double, admin clients from the `<cluster>-kubeconfig` Secret k0sflow writes, k0s join tokens
// for it, and deleting it again so the pod double frees its processes and addresses.
import { CertificatesV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

import { encodeTokenFile, newBootstrapToken, type BootstrapToken } from '../../src/activities/join-token.js';
import { joinKubeconfig, tokenSecretManifest, type JoinRole } from '../../src/domain/join-token.js';
import { createAll, eventually, rejection, type Kube } from './env.js';
import { KMC, controlPlaneReason, freeNodePort, secretText, seedObjects } from './hosted.js';
import { CLUSTER, RC } from './resources.js';

export interface ChildCluster {
  name: string;
  namespace: string;
  /** The admin kubeconfig of the `<name>-kubeconfig` Secret. */
  kubeconfig: string;
  /** Its `server` (`https://<node address>:<node port>`). */
  server: string;
  /** The cluster CA (PEM), as the kubeconfig names it. */
  caPem: string;
  core: CoreV1Api;
  certificates: CertificatesV1Api;
  coordination: CoordinationV1Api;
}

interface KubeconfigDoc {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
}

/** Server and CA (PEM) of a kubeconfig's first cluster. */
export function kubeconfigServerAndCa(kubeconfig: string): { server: string; caPem: string } {
  const cluster = (parse(kubeconfig) as KubeconfigDoc).clusters[0]!.cluster;
  return {
    server: cluster.server,
    caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'),
  };
}

/**
 * Creates the seed's Cluster, K0smotronControlPlane and RemoteCluster as `name` in `namespace` (k0sflow
 * must be running for it), waits until the control plane is Available, and returns admin clients of
 * the child cluster.
 */
export async function createChildCluster(kube: Kube, namespace: string, name: string): Promise<ChildCluster> {
  const apiPort = await freeNodePort(kube);
  await createAll(kube, namespace, seedObjects(name, apiPort));
  await controlPlaneReason(kube, namespace, name, 'Available', 'Available');
  const kubeconfig = await eventually(
    async () => {
      const text = await secretText(kube, namespace, `${name}-kubeconfig`, 'value');
      if (!text) throw new Error(`${name}-kubeconfig has no value yet`);
      return text;
    },
    120_000,
    1000
  );
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  const core = config.makeApiClient(CoreV1Api);
  // The API server answers (the pod double reports Ready only once it does, but be sure).
  await eventually(() => core.readNamespace({ name: 'kube-node-lease' }), 60_000, 1000);
  return {
    name,
    namespace,
    kubeconfig,
    ...kubeconfigServerAndCa(kubeconfig),
    core,
    certificates: config.makeApiClient(CertificatesV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
  };
}

/** A bootstrap token Secret in the child's kube-system, shaped as k0sflow writes it; returns the token. */
export async function createJoinToken(
  child: ChildCluster,
  role: JoinRole,
  machineName: string,
  ttlSeconds = 3600
): Promise<BootstrapToken> {
  const token = newBootstrapToken();
  const manifest = tokenSecretManifest({
    ...token,
    role,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    ttlSeconds,
    owner: {
      configKind: role === 'worker' ? 'K0sWorkerConfig' : 'K0sControllerConfig',
      configNamespace: child.namespace,
      configName: machineName,
      machineName,
      clusterName: child.name,
    },
  });
  await child.core.createNamespacedSecret({ namespace: manifest.metadata.namespace, body: manifest });
  return token;
}

/** A k0s token file (base64 of gzip of the join kubeconfig) for `<id>.<secret>` against the child. */
export function tokenFile(
  child: ChildCluster,
  role: JoinRole,
  token: BootstrapToken,
  overrides: { caPem?: string; server?: string } = {}
): string {
  return encodeTokenFile(
    joinKubeconfig({
      server: overrides.server ?? child.server,
      caPem: overrides.caPem ?? child.caPem,
      role,
      token: `${token.id}.${token.secret}`,
    })
  );
}

/** Deletes the Cluster, control plane and RemoteCluster and waits until they are gone (k0sflow must run). */
export async function deleteChildCluster(kube: Kube, namespace: string, name: string): Promise<void> {
  const gone = async (coordinates: { group: string; version: string; plural: string }): Promise<void> => {
    const message = await rejection(
      kube.custom.getNamespacedCustomObject({ ...coordinates, namespace, name })
    );
    if (!/not found/i.test(message)) throw new Error(`${coordinates.plural}/${name}: ${message}`);
  };
  for (const coordinates of [CLUSTER, KMC, RC]) {
    await kube.custom
      .deleteNamespacedCustomObject({ ...coordinates, namespace, name })
      .catch(() => undefined);
  }
  await eventually(
    async () => {
      for (const coordinates of [CLUSTER, KMC, RC]) await gone(coordinates);
    },
    180_000,
    1000
  );
}
