import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';

import type { KubeconfigRef } from '../domain/api/hosted-cluster.js';
import { FIELD_MANAGER, kubeCall } from './objects.js';
import { errorMessage, isNotFound, reuseConnections, type KubeClients } from './kube-client.js';

/** The cluster a hosted control plane runs in: the management cluster, or the one `kubeconfigRef` names. */
export interface HostingCluster {
  remote: boolean;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
  /** Server-side apply of one object, k0sflow owning the fields it sets. */
  apply<T extends KubernetesObject>(manifest: T): Promise<T>;
}

/** Failure types the hosted control plane workflow reacts to (conditions, backoff) rather than retries. */
export const HOSTING_CLUSTER_UNAVAILABLE = 'HostingClusterUnavailable';

export function hostingClusterOf(config: KubeConfig, remote: boolean): HostingCluster {
  const objects = KubernetesObjectApi.makeApiClient(config);
  return {
    remote,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    objects,
    apply: (manifest) =>
      objects.patch(manifest, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
  };
}

/**
 * Clients for hosting clusters, kept per kubeconfig Secret version so a rotated kubeconfig takes effect
 * at once and an unchanged one reuses its connections.
 */
export class HostingClusters {
  private readonly local: HostingCluster;
  private readonly remotes = new Map<string, { version: string; cluster: HostingCluster }>();

  constructor(private readonly management: KubeClients) {
    this.local = hostingClusterOf(management.config, false);
  }

  async resolve(ref: KubeconfigRef | undefined): Promise<HostingCluster> {
    if (!ref) return this.local;
    const key = `${ref.namespace}/${ref.name}/${ref.key}`;
    const secret = await this.readKubeconfigSecret(ref);
    const cached = this.remotes.get(key);
    if (cached?.version === secret.version) return cached.cluster;
    const config = new KubeConfig();
    try {
      config.loadFromString(secret.kubeconfig);
    } catch (err) {
      throw unavailable(`kubeconfigRef Secret ${key} does not hold a kubeconfig: ${errorMessage(err)}`);
    }
    reuseConnections(config);
    const cluster = hostingClusterOf(config, true);
    this.remotes.set(key, { version: secret.version, cluster });
    return cluster;
  }

  private async readKubeconfigSecret(ref: KubeconfigRef): Promise<{ kubeconfig: string; version: string }> {
    const where = `kubeconfigRef Secret ${ref.namespace}/${ref.name}`;
    try {
      const secret = await this.management.core.readNamespacedSecret({
        namespace: ref.namespace,
        name: ref.name,
      });
      const value = secret.data?.[ref.key];
      if (!value) throw unavailable(`${where} has no key ${ref.key}`);
      return {
        kubeconfig: Buffer.from(value, 'base64').toString('utf8'),
        version: secret.metadata?.resourceVersion ?? '',
      };
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (isNotFound(err)) throw unavailable(`${where} not found`);
      throw ApplicationFailure.retryable(`read ${where}: ${errorMessage(err)}`, 'KubernetesRequestFailed');
    }
  }
}

export function unavailable(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, HOSTING_CLUSTER_UNAVAILABLE);
}

/**
 * A call against a hosting cluster: rejected requests are permanent, connection failures to a remote
 * cluster mean it is unreachable (the workflow reports it and backs off), the rest is retried.
 */
export function hostingCall<T>(cluster: HostingCluster, what: string, call: () => Promise<T>): Promise<T> {
  return kubeCall(
    what,
    call,
    cluster.remote ? (message) => unavailable(`hosting cluster unreachable: ${message}`) : undefined
  );
}
