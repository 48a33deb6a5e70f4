// The child (workload) cluster of a CAPI Cluster, reached the CAPI way: through the `<cluster>-kubeconfig`
// Secret's `value`. Clients are kept per Secret version, so a rotated kubeconfig takes effect at once.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';

import { errorMessage, isNotFound, reuseConnections, type KubeClients } from './kube-client.js';
import { kubeCall } from './objects.js';

export interface ChildCluster {
  core: CoreV1Api;
  /** The API server URL the kubeconfig names. */
  server: string;
  /** The CA the kubeconfig trusts (PEM), when it names one. */
  caPem?: string;
}

/** Failure types the bootstrap workflows report as conditions and retry on a timer. */
export const CHILD_KUBECONFIG_MISSING = 'ChildKubeconfigMissing';
export const CHILD_CLUSTER_UNREACHABLE = 'ChildClusterUnreachable';

export function kubeconfigSecretName(clusterName: string): string {
  return `${clusterName}-kubeconfig`;
}

export class ChildClusters {
  private readonly cache = new Map<string, { version: string; cluster: ChildCluster }>();

  constructor(private readonly management: KubeClients) {}

  async resolve(namespace: string, clusterName: string): Promise<ChildCluster> {
    const name = kubeconfigSecretName(clusterName);
    const where = `Secret ${namespace}/${name}`;
    const secret = await this.management.core
      .readNamespacedSecret({ namespace, name })
      .catch((err: unknown) => {
        if (isNotFound(err))
          throw ApplicationFailure.nonRetryable(
            `${where} not found (the control plane writes it)`,
            CHILD_KUBECONFIG_MISSING
          );
        throw ApplicationFailure.retryable(`read ${where}: ${errorMessage(err)}`, 'KubernetesRequestFailed');
      });
    const value = secret.data?.value;
    if (!value) throw ApplicationFailure.nonRetryable(`${where} has no key value`, CHILD_KUBECONFIG_MISSING);
    const key = `${namespace}/${name}`;
    const version = secret.metadata?.resourceVersion ?? '';
    const cached = this.cache.get(key);
    if (cached?.version === version) return cached.cluster;
    const cluster = childClusterOf(Buffer.from(value, 'base64').toString('utf8'), where);
    this.cache.set(key, { version, cluster });
    return cluster;
  }
}

function childClusterOf(kubeconfig: string, where: string): ChildCluster {
  const config = new KubeConfig();
  try {
    config.loadFromString(kubeconfig);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `${where} does not hold a kubeconfig: ${errorMessage(err)}`,
      CHILD_KUBECONFIG_MISSING
    );
  }
  const current = config.getCurrentCluster();
  if (!current)
    throw ApplicationFailure.nonRetryable(`${where}: kubeconfig names no cluster`, CHILD_KUBECONFIG_MISSING);
  reuseConnections(config);
  return {
    core: config.makeApiClient(CoreV1Api),
    server: current.server,
    ...(current.caData ? { caPem: Buffer.from(current.caData, 'base64').toString('utf8') } : {}),
  };
}

/**
 * A call against a child cluster: a rejected request is permanent, an unreachable or untrusted server is
 * reported (the workflow says so in a condition and tries again later), the rest is retried.
 */
export function childCall<T>(child: ChildCluster, what: string, call: () => Promise<T>): Promise<T> {
  return kubeCall(what, call, (message) =>
    ApplicationFailure.nonRetryable(
      `child cluster at ${child.server} unreachable: ${message}`,
      CHILD_CLUSTER_UNREACHABLE
    )
  );
}
