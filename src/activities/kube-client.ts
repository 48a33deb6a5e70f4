import { createHash } from 'node:crypto';

import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
} from '@kubernetes/client-node';

/** The API clients k0sflow uses, built once per process from one kubeconfig. */
export interface KubeClients {
  config: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  events: EventsV1Api;
  coordination: CoordinationV1Api;
}

/** `--kubeconfig`, else `KUBECONFIG`, else the in-cluster service account, else ~/.kube/config. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else if (process.env.KUBECONFIG) config.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) config.loadFromCluster();
  else config.loadFromDefault();
  return config;
}

export function makeKubeClients(config: KubeConfig): KubeClients {
  reuseConnections(config);
  return {
    config,
    custom: config.makeApiClient(CustomObjectsApi),
    core: config.makeApiClient(CoreV1Api),
    events: config.makeApiClient(EventsV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
  };
}

type DispatcherFactory = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/**
 * client-node 2.0 builds a new undici Agent for every request, so every API call pays a TCP and TLS
 * handshake (about 30 calls/s at most here, and much of k0sflow's CPU). Keeping one Agent per TLS
 * identity lets calls reuse connections. `createDispatcher` is private in client-node's typings:
 * when a release renames it, this does nothing and src/activities/kube-client.test.ts fails.
 */
export function reuseConnections(config: KubeConfig): boolean {
  const target = config as unknown as { createDispatcher?: DispatcherFactory };
  const original = target.createDispatcher;
  if (typeof original !== 'function') return false;
  const agents = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = identityKey(cluster, agentOptions);
    if (!agents.has(key)) agents.set(key, original.call(config, cluster, agentOptions));
    return agents.get(key);
  };
  return true;
}

/** What makes two requests' TLS setups the same: the server, the proxy, the CA and the client identity. */
function identityKey(cluster: unknown, options: Record<string, unknown>): string {
  const c = (cluster ?? {}) as { server?: string; proxyUrl?: string; skipTLSVerify?: boolean };
  const hash = createHash('sha256');
  for (const part of [c.server, c.proxyUrl, c.skipTLSVerify]) hash.update(`${String(part)}\0`);
  for (const name of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']) {
    const value = options[name];
    hash.update(`${name}=`);
    if (value !== undefined)
      hash.update(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The HTTP status of an error from @kubernetes/client-node, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'number') return err.code;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return httpStatusOf(err) === 404;
}

/** Runs `call`; a 404 gives `null` instead of an error. */
export async function nullIfNotFound<T>(call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** 4xx other than conflict and throttling: sending the same request again will not help. */
export function isPermanentHttpError(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status !== undefined && status >= 400 && status < 500 && ![404, 409, 429].includes(status);
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'body' in err && typeof err.body === 'string') {
    try {
      const body = JSON.parse(err.body) as { message?: string };
      if (body.message) return body.message;
    } catch {
      return err.body;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** The server could not be reached or not be trusted: waiting helps, sending again at once does not. */
export function isConnectionError(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  const text = `${errorMessage(err)} ${cause instanceof Error ? cause.message : ''}`;
  return /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|fetch failed|certificate|self.signed/i.test(
    text
  );
}
