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
  return {
    config,
    custom: config.makeApiClient(CustomObjectsApi),
    core: config.makeApiClient(CoreV1Api),
    events: config.makeApiClient(EventsV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
  };
}

/** The HTTP status of an error from @kubernetes/client-node, if it has one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'number') return err.code;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return httpStatusOf(err) === 404;
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
