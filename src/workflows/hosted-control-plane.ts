import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

import type {
  Endpoint,
  HostedControlPlaneActivities,
  ProbeResult,
} from '../activities/hosted-control-plane.js';
import type { ObjectActivities } from '../activities/objects.js';
import { K0smotronControlPlaneSpecSchema } from '../domain/api/controlplane.js';
import {
  hostedSpecProblem,
  hostedStatusUpToDate,
  planHostedStatus,
  type HostedOwnedStatus,
  type HostedSpec,
  type HostedStatusFacts,
  type StatefulSetFacts,
} from '../domain/hosted-control-plane.js';
import { K0SFLOW_FINALIZER, type ObjectRef } from '../domain/resources.js';
import { clusterNameOf, hasPausedAnnotation, isDeleting, type ObjectSnapshot } from '../domain/snapshot.js';
import { KUBE_CALL_OPTIONS } from './activities.js';
import { runEntity, type ReconcileContext, type ReconcileOutcome } from './entity.js';
import { applyStatusIfChanged } from './condition-events.js';
import { failureOf } from './failures.js';
import type { EntityInput } from './messages.js';
import { tagCluster } from './tags.js';

const kube = proxyLocalActivities<ObjectActivities>(KUBE_CALL_OPTIONS);
/** Each step a named activity, so the Web UI shows where a control plane is. */
const step = proxyActivities<HostedControlPlaneActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 6,
  },
});

/** While pods start or roll: look again soon. Once available: a health check now and then. */
const PROGRESS_POLL = '3 seconds';
const HEALTH_POLL = '2 minutes';
const CLEANUP_ATTEMPTS = 3;
const CLEANUP_RETRY = '30 seconds';
/** Failures that bad input or an unreachable cluster cause: reported, retried on a timer or on change. */
const REPORTED_FAILURES: Record<string, { reason: string; retryAfter?: string }> = {
  HostingClusterUnavailable: { reason: 'HostingClusterUnavailable', retryAfter: '30 seconds' },
  InvalidCertificate: { reason: 'InvalidCertificate' },
  InvalidSpec: { reason: 'InvalidSpec' },
  KubernetesRequestRejected: { reason: 'RequestRejected' },
};

/**
 * One per K0smotronControlPlane: certificates, Service, k0s config, StatefulSets, endpoint, the
 * `<cluster>-kubeconfig` Secret and status per both CAPI contracts, in the management cluster or the
 * one `kubeconfigRef` names; on delete, everything it made goes.
 */
export async function hostedControlPlaneWorkflow(input: EntityInput): Promise<void> {
  const run = new HostedControlPlaneRun();
  await runEntity(input, (ctx) => run.reconcile(ctx));
}

class HostedControlPlaneRun {
  private cleanupFailures = 0;

  async reconcile(ctx: ReconcileContext): Promise<ReconcileOutcome> {
    const { ref } = ctx.input;
    ctx.state.phase = 'reconciling';
    ctx.state.step = 'read';
    const object = await kube.readObject(ref);
    if (object === null) return { kind: 'done' };
    if (isDeleting(object)) return this.finalize(ctx, object);
    const spec = specOf(object);
    const base = { ctx, object, spec: spec ?? defaultSpec() };
    if (object.invalid !== undefined || spec === undefined)
      return this.report(base, {
        problem: { reason: 'InvalidSpec', message: object.invalid ?? 'invalid spec' },
      });
    return this.reconcileValid({ ...base, spec });
  }

  private async reconcileValid(base: PassBase): Promise<ReconcileOutcome> {
    const { ctx, object, spec } = base;
    const { ref } = ctx.input;
    const clusterName = clusterNameOf(object.metadata);
    tagCluster(clusterName);
    // The bridge wakes this workflow when the Cluster appears or changes: no polling for it.
    if (!clusterName) return this.report(base, { waitingFor: 'the owner Cluster' }, IDLE);
    ctx.state.step = 'readCluster';
    const cluster = await kube.readCluster({ namespace: ref.namespace, name: clusterName });
    if (!cluster) return this.report(base, { waitingFor: `Cluster ${clusterName}` }, IDLE);
    if (cluster.paused || hasPausedAnnotation(object.metadata)) return this.report(base, { paused: true });

    ctx.state.step = 'ensureFinalizer';
    await kube.ensureFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
    const problem = hostedSpecProblem(spec);
    if (problem) return this.report(base, { problem: { reason: 'InvalidSpec', message: problem } });
    return this.provisionReporting(base, ref);
  }

  /** Failures bad input or an unreachable hosting cluster cause become conditions, not crash loops. */
  private async provisionReporting(base: PassBase, ref: ObjectRef): Promise<ReconcileOutcome> {
    const { ctx } = base;
    try {
      return await this.provision(base, ref);
    } catch (err) {
      const failure = failureOf(err);
      const reported = REPORTED_FAILURES[failure.type];
      if (!reported) throw err;
      ctx.state.lastError = failure.message;
      const outcome = await this.report(base, {
        problem: { reason: reported.reason, message: failure.message },
      });
      return reported.retryAfter ? { kind: 'requeue', after: reported.retryAfter } : outcome;
    }
  }

  private async provision(base: PassBase, ref: ObjectRef): Promise<ReconcileOutcome> {
    const { ctx } = base;
    ctx.state.step = 'ensureCertificates';
    await step.ensureHostedCertificates(ref);
    ctx.state.step = 'applyResources';
    const applied = await step.applyHostedControlPlane(ref);
    if (!applied.endpoint) return this.report(base, { waitingFor: applied.waitingFor ?? 'an endpoint' });
    ctx.state.step = 'publishEndpoint';
    await step.publishHostedEndpoint({ ref, endpoint: applied.endpoint });
    const available = await this.checkAvailability(ctx, ref, applied.endpoint, applied.statefulSet);
    return this.report(base, {
      ...(applied.statefulSet ? { statefulSet: applied.statefulSet } : {}),
      ...(applied.etcd ? { etcd: applied.etcd } : {}),
      ...(available ? { available } : {}),
    });
  }

  /** The kubeconfig once a replica is ready, then a request through it: the CAPI contract's "available". */
  private async checkAvailability(
    ctx: ReconcileContext,
    ref: ObjectRef,
    endpoint: Endpoint,
    sts: StatefulSetFacts | undefined
  ): Promise<ProbeResult | undefined> {
    if (!sts || sts.readyReplicas === 0) return undefined;
    ctx.state.step = 'ensureKubeconfig';
    await step.ensureHostedKubeconfig({ ref, endpoint });
    ctx.state.step = 'probe';
    return step.probeHostedControlPlane(ref);
  }

  private async report(
    base: PassBase,
    facts: Partial<HostedStatusFacts>,
    next?: ReconcileOutcome
  ): Promise<ReconcileOutcome> {
    const { ctx, object, spec } = base;
    const current = object.status as HostedOwnedStatus | undefined;
    const status = planHostedStatus({
      generation: object.metadata.generation ?? 0,
      current,
      spec,
      cpName: object.metadata.name,
      now: new Date(),
      paused: false,
      ...facts,
    });
    ctx.state.step = 'patchStatus';
    const events = ['Available', 'Ready'];
    await applyStatusIfChanged(kube, ctx.input.ref, current, status, hostedStatusUpToDate, events);
    ctx.state.handledGeneration = object.metadata.generation ?? 0;
    ctx.state.step = undefined;
    ctx.state.waitingFor = facts.waitingFor;
    ctx.state.phase = facts.paused ? 'paused' : facts.problem ? 'failed' : 'waiting';
    return next ?? nextLook(facts, status);
  }

  private async finalize(ctx: ReconcileContext, object: ObjectSnapshot): Promise<ReconcileOutcome> {
    const { ref } = ctx.input;
    ctx.state.phase = 'deleting';
    if (object.metadata.finalizers?.includes(K0SFLOW_FINALIZER)) {
      ctx.state.step = 'deleteResources';
      try {
        await step.deleteHostedControlPlane(ref);
      } catch (err) {
        // The object will not change any more, so a failure is retried on a timer, not on the next
        // change; a hosting cluster that is gone for good must not keep it forever: say so and let go.
        const { message } = failureOf(err);
        ctx.state.lastError = message;
        if (++this.cleanupFailures < CLEANUP_ATTEMPTS) return { kind: 'requeue', after: CLEANUP_RETRY };
        await kube.recordEvent({ ref, type: 'Warning', reason: 'CleanupFailed', message });
      }
      ctx.state.step = 'removeFinalizer';
      await kube.removeFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
    }
    return { kind: 'done' };
  }
}

const IDLE: ReconcileOutcome = { kind: 'idle' };

/** Pods, Services and load balancers of a hosting cluster are not watched: look again on a timer. */
function nextLook(facts: Partial<HostedStatusFacts>, status: HostedOwnedStatus): ReconcileOutcome {
  if (facts.paused || facts.problem) return IDLE;
  const settled = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  return { kind: 'requeue', after: settled ? HEALTH_POLL : PROGRESS_POLL };
}

interface PassBase {
  ctx: ReconcileContext;
  object: ObjectSnapshot;
  spec: HostedSpec;
}

function specOf(object: ObjectSnapshot): HostedSpec | undefined {
  const parsed = K0smotronControlPlaneSpecSchema.safeParse(object.spec ?? {});
  return parsed.success ? (parsed.data as HostedSpec) : undefined;
}

function defaultSpec(): HostedSpec {
  return K0smotronControlPlaneSpecSchema.parse({}) as HostedSpec;
}
