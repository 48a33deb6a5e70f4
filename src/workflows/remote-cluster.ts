import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

import { planRemoteClusterStatus, ownedStatusUpToDate } from '../domain/remote-cluster.js';
import { K0SFLOW_FINALIZER } from '../domain/resources.js';
import { clusterNameOf, hasPausedAnnotation, isDeleting } from '../domain/snapshot.js';
import type { Condition } from '../domain/conditions.js';
import { kube } from './activities.js';
import { runEntity, type ReconcileContext, type ReconcileOutcome } from './entity.js';
import { searchAttributes, type EntityInput } from './messages.js';

/** One per RemoteCluster: marks the placeholder infrastructure ready, per both CAPI contracts. */
export async function remoteClusterWorkflow(input: EntityInput): Promise<void> {
  await runEntity(input, reconcileRemoteCluster);
}

interface RemoteClusterStatusView {
  ready?: boolean;
  initialization?: { provisioned?: boolean };
  conditions?: Condition[];
}

async function reconcileRemoteCluster(ctx: ReconcileContext): Promise<ReconcileOutcome> {
  const { ref } = ctx.input;
  ctx.state.phase = 'reconciling';
  ctx.state.step = 'read';
  const object = await kube.readObject(ref);
  if (object === null) return { kind: 'done' };

  if (isDeleting(object)) {
    ctx.state.phase = 'deleting';
    ctx.state.step = 'removeFinalizer';
    await kube.removeFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
    return { kind: 'done' };
  }

  const clusterName = clusterNameOf(object.metadata);
  tagCluster(clusterName);
  ctx.state.step = 'ensureFinalizer';
  await kube.ensureFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });

  ctx.state.step = 'readCluster';
  const cluster = clusterName ? await kube.readCluster({ namespace: ref.namespace, name: clusterName }) : null;
  const paused = hasPausedAnnotation(object.metadata) || (cluster?.paused ?? false);
  const generation = object.metadata.generation ?? 0;
  const status = planRemoteClusterStatus({
    generation,
    currentStatus: object.status as RemoteClusterStatusView | undefined,
    paused,
    now: new Date(),
  });
  if (!ownedStatusUpToDate(object.status, status)) {
    ctx.state.step = 'patchStatus';
    await kube.applyStatus({ ref, status: { ...status } });
    if (!paused && !(object.status as RemoteClusterStatusView | undefined)?.ready) {
      await kube.recordEvent({ ref, type: 'Normal', reason: 'Provisioned', message: 'RemoteCluster is ready' });
    }
  }
  ctx.state.handledGeneration = generation;
  ctx.state.phase = paused ? 'paused' : 'waiting';
  ctx.state.step = undefined;
  return { kind: 'idle' };
}

function tagCluster(clusterName: string | undefined): void {
  if (!clusterName) return;
  const current = workflowInfo().typedSearchAttributes.get(searchAttributes.cluster);
  if (current !== clusterName) upsertSearchAttributes([{ key: searchAttributes.cluster, value: clusterName }]);
}
