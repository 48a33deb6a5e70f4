import type { Condition } from '../domain/conditions.js';
import { conditionTransitionEvent } from '../domain/events.js';
import { planRemoteClusterStatus, ownedStatusUpToDate } from '../domain/remote-cluster.js';
import { K0SFLOW_FINALIZER, type ObjectRef } from '../domain/resources.js';
import { clusterNameOf, hasPausedAnnotation, isDeleting, type ObjectSnapshot } from '../domain/snapshot.js';
import { kube } from './activities.js';
import { runEntity, type ReconcileContext, type ReconcileOutcome } from './entity.js';
import type { EntityInput } from './messages.js';
import { tagCluster } from './tags.js';

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
  if (isDeleting(object)) return finalize(ctx, ref);

  const clusterName = clusterNameOf(object.metadata);
  tagCluster(clusterName);
  ctx.state.step = 'ensureFinalizer';
  await kube.ensureFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });

  const paused = await isPaused(ctx, object, clusterName);
  await reportStatus(ctx, object, paused);
  ctx.state.handledGeneration = object.metadata.generation ?? 0;
  ctx.state.phase = paused ? 'paused' : object.invalid ? 'failed' : 'waiting';
  ctx.state.step = undefined;
  return { kind: 'idle' };
}

async function finalize(ctx: ReconcileContext, ref: ObjectRef): Promise<ReconcileOutcome> {
  ctx.state.phase = 'deleting';
  ctx.state.step = 'removeFinalizer';
  await kube.removeFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
  return { kind: 'done' };
}

/** The object's own paused annotation, or its Cluster's `spec.paused` (both contracts). */
async function isPaused(
  ctx: ReconcileContext,
  object: ObjectSnapshot,
  clusterName: string | undefined
): Promise<boolean> {
  if (hasPausedAnnotation(object.metadata)) return true;
  if (!clusterName) return false;
  ctx.state.step = 'readCluster';
  const cluster = await kube.readCluster({ namespace: ctx.input.ref.namespace, name: clusterName });
  return cluster?.paused ?? false;
}

async function reportStatus(ctx: ReconcileContext, object: ObjectSnapshot, paused: boolean): Promise<void> {
  const { ref } = ctx.input;
  const current = object.status as RemoteClusterStatusView | undefined;
  const status = planRemoteClusterStatus({
    generation: object.metadata.generation ?? 0,
    currentStatus: current,
    paused,
    ...(object.invalid !== undefined ? { invalid: object.invalid } : {}),
    now: new Date(),
  });
  if (ownedStatusUpToDate(current, status)) return;
  ctx.state.step = 'patchStatus';
  await kube.applyStatus({ ref, status: { ...status } });
  const event = conditionTransitionEvent(
    current?.conditions,
    status.conditions,
    'Ready',
    'RemoteCluster is ready'
  );
  if (event) await kube.recordEvent({ ref, ...event });
}
