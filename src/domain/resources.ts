/** A Kubernetes resource type as the API server addresses it. */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
}

/** One object of a resource type; the uid tells apart objects that reuse a name. */
export interface ObjectRef extends ResourceType {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export const CAPI_GROUP = 'cluster.x-k8s.io';

/** CAPI core stores v1beta2; reading it in that version keeps k0sflow working after v1beta1 goes. */
export const CLUSTER_RESOURCE: ResourceType = {
  group: CAPI_GROUP,
  version: 'v1beta2',
  plural: 'clusters',
  kind: 'Cluster',
};

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** Labels and annotations of the CAPI contract that k0sflow reads. */
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
export const PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';

/** The one finalizer k0sflow puts on the objects it drives (ADR 0001). */
export const K0SFLOW_FINALIZER = 'k0sflow.dev/finalizer';

export const MACHINE_RESOURCE: ResourceType = {
  group: CAPI_GROUP,
  version: 'v1beta2',
  plural: 'machines',
  kind: 'Machine',
};
