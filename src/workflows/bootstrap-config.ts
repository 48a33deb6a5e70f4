import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

import type { BootstrapActivities, NodeIdentityResult } from '../activities/bootstrap.js';
import type { MachineActivities, MachineView } from '../activities/machines.js';
import type { ClusterView, ObjectActivities } from '../activities/objects.js';
import {
  CONTROLLER_CONFIG_KIND,
  bootstrapStatusUpToDate,
  planBootstrapStatus,
  type BootstrapOwnedStatus,
  type BootstrapStatusFacts,
} from '../domain/bootstrap-config.js';
import { ownerMachineName } from '../domain/remote-machine.js';
import { clusterNameOf, hasPausedAnnotation, isDeleting, type ObjectSnapshot } from '../domain/snapshot.js';
import { CLUSTER_CALL_OPTIONS, KUBE_CALL_OPTIONS } from './activities.js';
import { runEntity, type ReconcileContext, type ReconcileOutcome } from './entity.js';
import { applyStatusIfChanged } from './condition-events.js';
import { failureOf } from './failures.js';
import type { EntityInput } from './messages.js';
import { tagCluster } from './tags.js';

const kube = proxyLocalActivities<ObjectActivities & MachineActivities>(KUBE_CALL_OPTIONS);
const bootstrap = proxyActivities<BootstrapActivities>(CLUSTER_CALL_OPTIONS);

/** Failures that bad input or an unready cluster cause: a condition, then a timer (none: a change). */
const REPORTED_FAILURES: Record<string, { reason: string; retry: boolean }> = {
  InvalidSpec: { reason: 'InvalidSpec', retry: false },
  Unsupported: { reason: 'Unsupported', retry: false },
  KubernetesRequestRejected: { reason: 'RequestRejected', retry: false },
  // Secrets and ConfigMaps of file contents are not watched, the child cluster not at all: look again.
  BootstrapInputMissing: { reason: 'WaitingForInput', retry: true },
  ChildKubeconfigMissing: { reason: 'ChildKubeconfigMissing', retry: true },
  ChildClusterUnreachable: { reason: 'ChildClusterUnreachable', retry: true },
};
const FIRST_RETRY_SECONDS = 15;
const MAX_RETRY_SECONDS = 300;
/** The kubelet registers its Node some seconds after the machine is provisioned; the child is not watched. */
const NODE_POLL_SECONDS = [5, 5, 10, 10, 20, 30, 60];

/**
 * One per K0sWorkerConfig / K0sControllerConfig: waits for its Machine, Cluster and control plane, mints a
 * join token in the child cluster and writes the bootstrap data Secret; then sets the joined Node's
 * providerID so CAPI can match it to the Machine, and revokes the token once it has.
 */
export async function bootstrapConfigWorkflow(input: EntityInput): Promise<void> {
  const run = new BootstrapConfigRun();
  await runEntity(input, (ctx) => run.reconcile(ctx));
}

interface Pass {
  ctx: ReconcileContext;
  object: ObjectSnapshot;
}

class BootstrapConfigRun {
  /** Kept so the tokens of a deleted config can still be found in its cluster. */
  private clusterName: string | undefined;
  private failures = 0;
  private nodePolls = 0;
  private revokedFor: string | undefined;

  async reconcile(ctx: ReconcileContext): Promise<ReconcileOutcome> {
    const { ref } = ctx.input;
    ctx.state.phase = 'reconciling';
    ctx.state.step = 'read';
    const object = await kube.readObject(ref);
    if (object === null) return this.gone(ctx);
    // No finalizer: the data Secret goes with its owner, and rotation deletes tokens of configs gone.
    if (isDeleting(object)) return IDLE;
    const pass = { ctx, object };
    if (object.invalid !== undefined) return this.report(pass, { problem: invalid(object.invalid) }, IDLE);

    const machineName = ownerMachineName(object.metadata);
    if (!machineName)
      return this.report(pass, { waiting: waitingFor('WaitingForMachine', 'an owner Machine') }, IDLE);
    ctx.state.step = 'readMachine';
    const machine = await kube.readMachine({ namespace: ref.namespace, name: machineName });
    if (!machine)
      return this.report(pass, { waiting: waitingFor('WaitingForMachine', `Machine ${machineName}`) }, IDLE);
    const clusterName = clusterNameOf(object.metadata) ?? machine.clusterName;
    if (!clusterName)
      return this.report(pass, { waiting: waitingFor('WaitingForCluster', 'a Cluster') }, IDLE);
    this.clusterName = clusterName;
    tagCluster(clusterName);
    ctx.state.step = 'readCluster';
    const cluster = await kube.readCluster({ namespace: ref.namespace, name: clusterName });
    if (!cluster)
      return this.report(pass, { waiting: waitingFor('WaitingForCluster', `Cluster ${clusterName}`) }, IDLE);
    if (cluster.paused || hasPausedAnnotation(object.metadata))
      return this.report(pass, { paused: true }, IDLE);

    const status = object.status as BootstrapOwnedStatus | undefined;
    if (status?.ready && status.dataSecretName) return this.afterHandOut(pass, machine, clusterName);
    return this.handOut(pass, cluster);
  }

  /** The bootstrap data, once the control plane can take a node: k0smotron's preconditions. */
  private async handOut(pass: Pass, cluster: ClusterView): Promise<ReconcileOutcome> {
    const { ctx } = pass;
    const { ref } = ctx.input;
    if (!cluster.controlPlaneEndpoint)
      return this.report(pass, { waiting: controlPlanePending('Control plane endpoint is not set') }, IDLE);
    if (ref.kind !== CONTROLLER_CONFIG_KIND && !cluster.controlPlaneInitialized)
      return this.report(pass, { waiting: controlPlanePending('Control plane is not ready yet') }, IDLE);
    ctx.state.step = 'issueBootstrapData';
    try {
      const issued = await bootstrap.issueBootstrapData({ ref, nowMs: Date.now() });
      this.failures = 0;
      return this.report(pass, { dataSecretName: issued.dataSecretName }, IDLE);
    } catch (err) {
      return this.reportFailure(pass, err);
    }
  }

  /**
   * Data handed out: when the infrastructure provider has set the Machine's providerID, find the Node its
   * kubelet registered and give it that providerID; once CAPI has matched it (nodeRef), the token goes.
   */
  private async afterHandOut(
    pass: Pass,
    machine: MachineView,
    clusterName: string
  ): Promise<ReconcileOutcome> {
    const { ctx } = pass;
    const scope = { namespace: ctx.input.ref.namespace, clusterName };
    try {
      if (isControllerWithoutKubelet(ctx.input.ref.kind, machine))
        return await this.controllerInstalled(pass, machine, clusterName);
      if (machine.nodeName) {
        if (this.revokedFor !== machine.nodeName) {
          ctx.state.step = 'revokeTokens';
          await bootstrap.revokeConfigTokens({
            ...scope,
            configKind: ctx.input.ref.kind,
            configName: ctx.input.ref.name,
          });
          this.revokedFor = machine.nodeName;
        }
        return this.report(pass, {
          node: { status: 'True', reason: 'NodeJoined', message: `Node ${machine.nodeName}` },
        });
      }
      if (!machine.providerID) return this.report(pass, {});
      ctx.state.step = 'ensureNodeProviderID';
      const node = await bootstrap.ensureNodeProviderID({
        ...scope,
        machineName: machine.name,
        providerID: machine.providerID,
      });
      this.failures = 0;
      return this.afterNodeLookup(pass, machine, node);
    } catch (err) {
      return this.reportFailure(pass, err, true);
    }
  }

  /**
   * A controller without a kubelet has no Node to match (k0smotron gives only Machines labelled
   * control-plane-worker-enabled a providerID): once provisioned, k0s has used its token; it goes.
   */
  private async controllerInstalled(
    pass: Pass,
    machine: MachineView,
    clusterName: string
  ): Promise<ReconcileOutcome> {
    const { ctx } = pass;
    if (machine.providerID && this.revokedFor !== machine.providerID) {
      ctx.state.step = 'revokeTokens';
      await bootstrap.revokeConfigTokens({
        namespace: ctx.input.ref.namespace,
        clusterName,
        configKind: ctx.input.ref.kind,
        configName: ctx.input.ref.name,
      });
      this.revokedFor = machine.providerID;
    }
    return this.report(pass, {});
  }

  private async afterNodeLookup(
    pass: Pass,
    machine: MachineView,
    node: NodeIdentityResult
  ): Promise<ReconcileOutcome> {
    const { ctx } = pass;
    if (node.outcome === 'notFound') {
      const after = NODE_POLL_SECONDS[Math.min(this.nodePolls++, NODE_POLL_SECONDS.length - 1)] ?? 60;
      const message = `waiting for the Node of Machine ${machine.name} to register`;
      await this.report(pass, { node: { status: 'Unknown', reason: 'WaitingForNode', message } });
      ctx.state.waitingFor = message;
      return { kind: 'requeue', after: `${after} seconds` };
    }
    if (node.outcome === 'conflict')
      return this.report(pass, {
        node: { status: 'False', reason: 'NodeProviderIDConflict', message: node.message },
      });
    if (node.outcome === 'set')
      await kube.recordEvent({
        ref: ctx.input.ref,
        type: 'Normal',
        reason: 'NodeProviderIDSet',
        message: `Node ${node.node} has providerID ${machine.providerID}`,
      });
    return this.report(pass, {
      node: { status: 'True', reason: 'ProviderIDSet', message: `Node ${node.node}` },
    });
  }

  /** `afterHandOut`: the data is out; the failure is about the Node, and says so in that condition. */
  private async reportFailure(pass: Pass, err: unknown, afterHandOut = false): Promise<ReconcileOutcome> {
    const failure = failureOf(err);
    if (failure.type === 'ObjectGone') return IDLE;
    const reported = REPORTED_FAILURES[failure.type];
    if (!reported) throw err;
    pass.ctx.state.lastError = failure.message;
    const why = { reason: reported.reason, message: failure.message };
    await this.report(pass, afterHandOut ? { node: { status: 'False', ...why } } : { problem: why });
    if (!reported.retry) return IDLE;
    const seconds = Math.min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** this.failures++);
    return { kind: 'requeue', after: `${seconds} seconds` };
  }

  /** The config is gone: its tokens are of no use to anyone (best effort; rotation sweeps up the rest). */
  private async gone(ctx: ReconcileContext): Promise<ReconcileOutcome> {
    if (!this.clusterName) return { kind: 'done' };
    const cluster = await kube.readCluster({ namespace: ctx.input.ref.namespace, name: this.clusterName });
    // A paused Cluster's objects may be going away on purpose (clusterctl move): their tokens stay valid.
    if (cluster?.paused !== true) {
      ctx.state.step = 'revokeTokens';
      try {
        await bootstrap.revokeConfigTokens({
          namespace: ctx.input.ref.namespace,
          clusterName: this.clusterName,
          configKind: ctx.input.ref.kind,
          configName: ctx.input.ref.name,
        });
      } catch (err) {
        ctx.state.lastError = failureOf(err).message;
      }
    }
    return { kind: 'done' };
  }

  private async report(
    pass: Pass,
    facts: Partial<BootstrapStatusFacts>,
    next?: ReconcileOutcome
  ): Promise<ReconcileOutcome> {
    const { ctx, object } = pass;
    const current = object.status as BootstrapOwnedStatus | undefined;
    const status = planBootstrapStatus({
      generation: object.metadata.generation ?? 0,
      current,
      now: new Date(),
      paused: false,
      ...facts,
    });
    ctx.state.step = 'patchStatus';
    const ref = ctx.input.ref;
    const events = ['DataSecretAvailable', 'Ready'];
    if (await applyStatusIfChanged(kube, ref, current, status, bootstrapStatusUpToDate, events))
      // The next pass compares with what was written, not with the object read before it.
      object.status = status;
    ctx.state.handledGeneration = object.metadata.generation ?? 0;
    ctx.state.step = undefined;
    ctx.state.waitingFor = facts.waiting?.message;
    ctx.state.phase = facts.paused ? 'paused' : facts.problem ? 'failed' : 'waiting';
    return next ?? IDLE;
  }
}

const IDLE: ReconcileOutcome = { kind: 'idle' };

/** k0smotron's label on control-plane Machines that also run a kubelet (`--enable-worker`). */
const WORKER_ENABLED_LABEL = 'k0smotron.io/control-plane-worker-enabled';

function isControllerWithoutKubelet(kind: string, machine: MachineView): boolean {
  return kind === CONTROLLER_CONFIG_KIND && machine.labels?.[WORKER_ENABLED_LABEL] !== 'true';
}

function controlPlanePending(message: string): { reason: string; message: string } {
  return { reason: 'WaitingForControlPlaneInitialization', message };
}

function waitingFor(reason: string, what: string): { reason: string; message: string } {
  return { reason, message: `waiting for ${what}` };
}

function invalid(message: string): { reason: string; message: string } {
  return { reason: 'InvalidSpec', message };
}
