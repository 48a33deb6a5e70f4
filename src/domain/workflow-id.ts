import type { ObjectRef } from './resources.js';

/**
 * The ID of the one workflow that drives an object. It includes the uid so that an object deleted and
 * re-created under the same name gets a fresh workflow, and it reads well in the Temporal Web UI.
 */
export function workflowIdFor(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name' | 'uid'>): string {
  return `k0sflow/${ref.kind}/${ref.namespace}/${ref.name}/${ref.uid}`;
}

/** The one workflow that serializes the claims on a pool of PooledRemoteMachines. */
export function poolWorkflowId(namespace: string, pool: string): string {
  return `k0sflow/pool/${namespace}/${pool}`;
}

/** The one workflow that rotates the join tokens of a Cluster's machines. */
export function tokenRotationWorkflowId(namespace: string, clusterName: string): string {
  return `k0sflow/token-rotation/${namespace}/${clusterName}`;
}
