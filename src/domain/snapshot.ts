import { CLUSTER_NAME_LABEL, PAUSED_ANNOTATION } from './resources.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

/** The metadata k0sflow reasons about; what workflows see of an object. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface ObjectSnapshot<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  /** Set when the object breaks our schema (it got past the API server, e.g. from an older CRD). */
  invalid?: string;
}

export function isDeleting(object: { metadata: Pick<ObjectMeta, 'deletionTimestamp'> }): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

export function hasPausedAnnotation(meta: Pick<ObjectMeta, 'annotations'>): boolean {
  return meta.annotations?.[PAUSED_ANNOTATION] !== undefined;
}

/** The CAPI Cluster an object belongs to: its cluster-name label, else a Cluster owner. */
export function clusterNameOf(meta: Pick<ObjectMeta, 'labels' | 'ownerReferences'>): string | undefined {
  const label = meta.labels?.[CLUSTER_NAME_LABEL];
  if (label) return label;
  return meta.ownerReferences?.find(
    (o) => o.kind === 'Cluster' && o.apiVersion.startsWith('cluster.x-k8s.io/')
  )?.name;
}
