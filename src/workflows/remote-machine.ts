import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';

import type { MachineActivities } from '../activities/machines.js';
import type { ObjectActivities } from '../activities/objects.js';
import type { PoolActivities } from '../activities/pool.js';
import type { CleanupInput, HostInput, ProvisionActivities } from '../activities/provision.js';
import { RemoteMachineSpecSchema, type RemoteMachineSpec } from '../domain/api/infrastructure.js';
import {
  k0sRoleOf,
  machineEvent,
  machineStatusUpToDate,
  ownerMachineName,
  planRemoteMachineStatus,
  providerIdFor,
  provisioningStarted,
  sshTargetOf,
  type MachineReadiness,
  type RemoteMachineStatusView,
  type SshTarget,
} from '../domain/remote-machine.js';
import { K0SFLOW_FINALIZER } from '../domain/resources.js';
import { clusterNameOf, hasPausedAnnotation, isDeleting, type ObjectSnapshot } from '../domain/snapshot.js';
import { KUBE_CALL_OPTIONS } from './activities.js';
import { runEntity, type ReconcileContext, type ReconcileOutcome } from './entity.js';
import { failureOf } from './failures.js';
import { tagCluster } from './tags.js';
import { retryUpdate, type EntityInput, type ObjectHint, type RetryRequest } from './messages.js';

/**
 * Kubernetes calls as local activities: short and idempotent, and a marker each in history instead of
 * six events, which keeps a machine's history small (bench/fleet counts it).
 */
const kube = proxyLocalActivities<ObjectActivities & MachineActivities & PoolActivities>(KUBE_CALL_OPTIONS);

// SSH steps: one attempt per activity. The workflow retries them itself, so every attempt, its error
// and the next try show in the machine's status, and an operator's retry can cut the backoff short.
const noRetry = { maximumAttempts: 1 };
const quickStep = proxyActivities<ProvisionActivities>({ startToCloseTimeout: '2 minutes', retry: noRetry });
const heartbeatingStep = proxyActivities<ProvisionActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: noRetry,
});
const commandStep = proxyActivities<ProvisionActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: noRetry,
});

/** Workflows started before it re-provisioned on any event after a lasting failure. */
const WAIT_FOR_OPERATOR_PATCH = 'remote-machine-waits-for-operator';
const MAX_ATTEMPTS = 6;
const FIRST_BACKOFF_SECONDS = 5;
const CLEANUP_ATTEMPTS = 3;
const RECHECK_MISSING_SECRET = '1 minute';

/** One per RemoteMachine: claims nothing itself (the pool workflow does), provisions over SSH, cleans up. */
export async function remoteMachineWorkflow(input: EntityInput): Promise<void> {
  const machine = new RemoteMachineRun(input);
  await runEntity(input, (ctx) => machine.reconcile(ctx), {
    onHint: (hint) => machine.onHint(hint),
    install: (wake) => machine.install(wake),
  });
}

/** Ends a pass early with `outcome` once the status says why. */
class PassEnded extends Error {
  constructor(readonly outcome: ReconcileOutcome) {
    super('pass ended');
  }
}

class RemoteMachineRun {
  private provisioning: CancellationScope | undefined;
  private deleting = false;
  private operatorRetry = false;
  /** The key a trust-on-first-use host presented instead of the recorded one. */
  private presentedHostKey: string | undefined;
  private keyToAccept: string | undefined;
  private pinned = false;
  /** Set by a lasting failure: the generation it failed at and its error. Cleared by an operator's retry. */
  private blocked: { generation: number; error: string } | undefined;
  /** The status as last written in this pass; the object read at the start goes stale as we write. */
  private status: RemoteMachineStatusView | undefined;
  private object!: ObjectSnapshot;
  private ctx!: ReconcileContext;

  constructor(private readonly input: EntityInput) {}

  onHint(hint: ObjectHint): void {
    if (!hint.deleting && !hint.gone) return;
    this.deleting = true;
    this.provisioning?.cancel();
  }

  install(wake: (hint: ObjectHint) => void): void {
    setHandler(retryUpdate, (request) => this.retry(request, wake), {
      validator: (request: RetryRequest) => {
        if (this.deleting) throw new Error('the machine is being deleted');
        if (!request.acceptHostKey) return;
        if (this.pinned) throw new Error('host keys are pinned by spec.knownHosts: edit that field instead');
        if (!this.presentedHostKey) throw new Error('no changed host key to accept');
      },
    });
  }

  private retry(request: RetryRequest, wake: (hint: ObjectHint) => void): { message: string } {
    if (request.acceptHostKey) this.keyToAccept = this.presentedHostKey;
    this.blocked = undefined;
    this.operatorRetry = true;
    wake({ cause: 'retry' });
    const from = this.ctx?.state.step ? ` (last step: ${this.ctx.state.step})` : '';
    return {
      message: request.acceptHostKey
        ? `accepting host key ${this.keyToAccept ?? ''} and retrying${from}`
        : `retrying now${from}`,
    };
  }

  async reconcile(ctx: ReconcileContext): Promise<ReconcileOutcome> {
    this.ctx = ctx;
    ctx.state.phase = 'reconciling';
    ctx.state.step = 'read';
    delete ctx.state.waitingFor;
    const object = await kube.readObject(this.input.ref);
    if (object === null) return { kind: 'done' };
    this.object = object;
    this.status = object.status as RemoteMachineStatusView | undefined;
    try {
      return await this.reconcileObject(object);
    } catch (err) {
      if (err instanceof PassEnded) return err.outcome;
      throw err;
    } finally {
      ctx.state.handledGeneration = object.metadata.generation ?? 0;
    }
  }

  private async reconcileObject(object: ObjectSnapshot): Promise<ReconcileOutcome> {
    const { ref } = this.input;
    const clusterName = clusterNameOf(object.metadata);
    tagCluster(clusterName);
    const cluster = clusterName
      ? await kube.readCluster({ namespace: ref.namespace, name: clusterName })
      : null;
    const paused = hasPausedAnnotation(object.metadata) || cluster?.paused === true;
    if (isDeleting(object)) return this.finalize(paused);
    if (!object.metadata.finalizers?.includes(K0SFLOW_FINALIZER)) {
      this.ctx.state.step = 'ensureFinalizer';
      await kube.ensureFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
    }
    if (paused) return this.wait('Paused', 'reconciliation is paused', { paused: true });
    if (object.invalid !== undefined) return this.wait('InvalidSpec', object.invalid);
    const spec = RemoteMachineSpecSchema.parse(object.spec ?? {});
    this.pinned = spec.knownHosts !== undefined && spec.knownHosts.trim() !== '';
    if (spec.providerID) return this.provisioned(spec);
    return this.prepare(spec, cluster);
  }

  /** Everything provisioning waits for, in k0smotron's order; then provision. */
  private async prepare(
    spec: RemoteMachineSpec,
    cluster: { infrastructureProvisioned: boolean } | null
  ): Promise<ReconcileOutcome> {
    const { ref } = this.input;
    const ownerName = ownerMachineName(this.object.metadata);
    if (!ownerName) return this.wait('WaitingForMachine', 'waiting for a Machine to own this RemoteMachine');
    this.ctx.state.step = 'readMachine';
    const machine = await kube.readMachine({ namespace: ref.namespace, name: ownerName });
    if (!machine) return this.wait('WaitingForMachine', `waiting for Machine ${ownerName}`);
    if (!cluster) return this.wait('WaitingForCluster', 'waiting for the Cluster');
    if (!cluster.infrastructureProvisioned)
      return this.wait('WaitingForClusterInfrastructure', "waiting for the Cluster's infrastructure");
    const target = sshTargetOf(spec);
    if (!target.ok) return this.wait(target.reason, target.message);
    if (!machine.dataSecretName)
      return this.wait('WaitingForBootstrapData', `waiting for Machine ${ownerName}'s bootstrap data`);
    // A lasting failure waits for an operator's retry or a spec change, not for any event that passes by.
    const generation = this.object.metadata.generation ?? 0;
    if (this.blocked?.generation === generation && patched(WAIT_FOR_OPERATOR_PATCH))
      throw this.stillWaitingForOperator();
    return this.provision(spec, target.target, machine.dataSecretName);
  }

  private async provision(
    spec: RemoteMachineSpec,
    target: SshTarget,
    dataSecretName: string
  ): Promise<ReconcileOutcome> {
    if (this.deleting) return { kind: 'idle' }; // the deletion hint is queued: the next pass cleans up
    this.provisioning = new CancellationScope();
    try {
      await this.provisioning.run(() => this.provisionSteps(spec, target, dataSecretName));
      return { kind: 'idle' };
    } catch (err) {
      // Deleted while provisioning: the deletion hint is queued and the next pass cleans up.
      if (isCancellation(err) && this.deleting) return { kind: 'idle' };
      throw err;
    } finally {
      this.provisioning = undefined;
    }
  }

  private async provisionSteps(
    spec: RemoteMachineSpec,
    target: SshTarget,
    dataSecretName: string
  ): Promise<void> {
    const { ref } = this.input;
    this.operatorRetry = false;
    let recordedHostKey = this.keyToAccept ?? this.status?.hostKey;
    this.keyToAccept = undefined;
    const started = { status: 'False' as const, reason: 'Provisioning' };
    await this.report(
      {
        reason: 'Provisioning',
        message: `connecting to ${target.address}:${target.port}`,
        provisioned: false,
        bootstrap: started,
      },
      recordedHostKey && !this.pinned ? { hostKey: recordedHostKey } : {}
    );
    const host = (): HostInput => ({
      machine: ref,
      target,
      ...(recordedHostKey ? { recordedHostKey } : {}),
    });
    const checked = await this.step('checkHost', () => quickStep.checkHost(host()));
    this.presentedHostKey = undefined;
    if (checked.newlyTrusted && !this.pinned) {
      recordedHostKey = checked.hostKey;
      await this.report(
        {
          reason: 'Provisioning',
          message: 'host key trusted on first use',
          provisioned: false,
          bootstrap: started,
        },
        { hostKey: recordedHostKey }
      );
    }
    const provisionInput = {
      ...host(),
      bootstrapSecretName: dataSecretName,
      commandsAsScript: spec.commandsAsScript,
      workingDir: spec.workingDir,
    };
    await this.step('uploadBootstrapFiles', () => heartbeatingStep.uploadBootstrapFiles(provisionInput));
    await this.step('runBootstrapCommands', () => commandStep.runBootstrapCommands(provisionInput));
    await this.step('checkBootstrapSentinel', () => quickStep.checkBootstrapSentinel(host()));
    this.ctx.state.step = 'setProviderID';
    const generation = await kube.setProviderID({
      ref,
      providerID: providerIdFor(target.address, target.port),
    });
    // The status then observes the generation our own spec write made, so that write wakes nothing.
    if (generation !== null) this.object.metadata.generation = generation;
    await this.provisioned(spec);
  }

  /** Runs one SSH step, retrying transient failures with backoff; a lasting failure ends the pass. */
  private async step<T>(name: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.ctx.state.step = name;
      this.ctx.state.phase = 'reconciling';
      try {
        return await call();
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = failureOf(err);
        const message = `${name}: ${failure.message}${outputTail(failure.details)}`;
        this.ctx.state.lastError = message;
        if (failure.type === 'SecretNotFound') {
          await this.failed(failure.type, message);
          throw new PassEnded({ kind: 'requeue', after: RECHECK_MISSING_SECRET });
        }
        if (failure.type === 'HostKeyMismatch') {
          const presented = failure.details.presentedKey;
          this.presentedHostKey = typeof presented === 'string' ? presented : undefined;
          const fix = this.pinned
            ? 'edit spec.knownHosts if the new key is right'
            : `if the new key is right, run: k0sflow retry machine ${this.where()} --accept-host-key`;
          await this.failed(failure.type, `${message}; provisioning stopped; ${fix}`);
          throw this.waitForOperator();
        }
        if (failure.retryable && attempt < MAX_ATTEMPTS) {
          const seconds = FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1);
          await this.failed(
            failure.type,
            `${message} (attempt ${attempt} of ${MAX_ATTEMPTS}, next in ${seconds}s)`
          );
          this.ctx.state.phase = 'waiting';
          this.ctx.state.waitingFor = `attempt ${attempt + 1} of ${name} in ${seconds}s, or an operator's retry`;
          this.operatorRetry = false;
          await condition(() => this.operatorRetry, `${seconds} seconds`);
          delete this.ctx.state.waitingFor;
          continue;
        }
        const gaveUp = failure.retryable ? ` (gave up after ${attempt} attempts)` : '';
        await this.failed(
          failure.type,
          `${message}${gaveUp}; to try again: k0sflow retry machine ${this.where()}`
        );
        throw this.waitForOperator();
      }
    }
  }

  private waitForOperator(): PassEnded {
    this.blocked = {
      generation: this.object.metadata.generation ?? 0,
      error: this.ctx.state.lastError ?? '',
    };
    return this.stillWaitingForOperator();
  }

  private stillWaitingForOperator(): PassEnded {
    this.ctx.state.phase = 'failed';
    this.ctx.state.waitingFor = `an operator: k0sflow retry machine ${this.where()}`;
    if (this.blocked) this.ctx.state.lastError = this.blocked.error;
    return new PassEnded({ kind: 'idle' });
  }

  private failed(reason: string, message: string): Promise<void> {
    return this.report({
      reason,
      message,
      provisioned: false,
      bootstrap: { status: 'False', reason, message },
    });
  }

  private async provisioned(spec: RemoteMachineSpec): Promise<ReconcileOutcome> {
    this.ctx.state.step = undefined;
    delete this.ctx.state.lastError;
    await this.report(
      {
        reason: 'Provisioned',
        provisioned: true,
        bootstrap: { status: 'True', reason: 'Succeeded' },
      },
      spec.address ? { address: spec.address } : {}
    );
    this.ctx.state.phase = 'waiting';
    this.ctx.state.waitingFor = 'deletion (provisioned)';
    return { kind: 'idle' };
  }

  private async wait(
    reason: string,
    message: string,
    opts: { paused?: boolean } = {}
  ): Promise<ReconcileOutcome> {
    this.ctx.state.phase = opts.paused ? 'paused' : reason === 'InvalidSpec' ? 'failed' : 'waiting';
    this.ctx.state.waitingFor = message;
    this.ctx.state.step = undefined;
    await this.report({ reason, message, provisioned: false }, opts);
    return { kind: 'idle' };
  }

  private async report(
    readiness: MachineReadiness,
    extra: { hostKey?: string; address?: string; paused?: boolean } = {}
  ): Promise<void> {
    const { ref } = this.input;
    const current = this.status;
    const status = planRemoteMachineStatus({
      generation: this.object.metadata.generation ?? 0,
      current,
      paused: extra.paused ?? false,
      readiness,
      ...(extra.address ? { address: extra.address } : {}),
      ...(extra.hostKey ? { hostKey: extra.hostKey } : {}),
      now: new Date(),
    });
    if (machineStatusUpToDate(current, status)) return;
    await kube.applyStatus({ ref, status: { ...status } });
    this.status = status;
    const event = machineEvent(current?.conditions, status.conditions);
    if (event) await kube.recordEvent({ ref, ...event });
  }

  /** Cleanup, release, finalizer. An unreachable host delays deletion a few attempts, never forever. */
  private async finalize(paused: boolean): Promise<ReconcileOutcome> {
    const { ref } = this.input;
    const state = this.ctx.state;
    state.phase = 'deleting';
    if (!this.object.metadata.finalizers?.includes(K0SFLOW_FINALIZER)) return { kind: 'done' };
    if (paused) return this.wait('Paused', 'deletion waits: reconciliation is paused', { paused: true });
    const parsed = RemoteMachineSpecSchema.safeParse(this.object.spec ?? {});
    const spec = parsed.success ? parsed.data : undefined;
    if (spec && (spec.providerID || provisioningStarted(this.status))) await this.cleanUp(spec);
    if (spec?.pool) {
      state.step = 'releasePooledMachine';
      await kube.releasePooledMachine({ namespace: ref.namespace, pool: spec.pool, machine: ref.name });
    }
    state.step = 'removeFinalizer';
    await kube.removeFinalizer({ ref, finalizer: K0SFLOW_FINALIZER });
    return { kind: 'done' };
  }

  private async cleanUp(spec: RemoteMachineSpec): Promise<void> {
    const { ref } = this.input;
    const input = await this.cleanupInput(spec);
    if (!input) return;
    for (let attempt = 1; attempt <= CLEANUP_ATTEMPTS; attempt++) {
      this.ctx.state.step = 'cleanUpHost';
      try {
        const outcome = await heartbeatingStep.cleanUpHost(input);
        if (outcome.failures.length > 0)
          await kube.recordEvent({
            ref,
            type: 'Warning',
            reason: 'CleanupCommandsFailed',
            message: outcome.failures.join('; '),
          });
        return;
      } catch (err) {
        const failure = failureOf(err);
        if (failure.retryable && attempt < CLEANUP_ATTEMPTS) {
          await sleep(`${FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1)} seconds`);
          continue;
        }
        await kube.recordEvent({
          ref,
          type: 'Warning',
          reason: 'CleanupFailed',
          message: `cleanup skipped after ${attempt} attempt(s): ${failure.message}; deleting anyway`,
        });
        return;
      }
    }
  }

  /** What cleanup needs; the Machine, if still there, tells the role and where the bootstrap data is. */
  private async cleanupInput(spec: RemoteMachineSpec): Promise<CleanupInput | undefined> {
    const { ref } = this.input;
    const target = sshTargetOf(spec);
    if (!target.ok) return undefined;
    this.ctx.state.step = 'readMachine';
    const ownerName = ownerMachineName(this.object.metadata);
    const machine = ownerName ? await kube.readMachine({ namespace: ref.namespace, name: ownerName }) : null;
    const recorded = this.pinned ? undefined : this.status?.hostKey;
    return {
      machine: ref,
      target: target.target,
      ...(recorded ? { recordedHostKey: recorded } : {}),
      role: machine ? k0sRoleOf(machine.bootstrapConfigKind) : 'worker',
      ...(spec.customCleanUpCommands ? { customCommands: spec.customCleanUpCommands } : {}),
      ...(machine?.dataSecretName ? { bootstrapSecretName: machine.dataSecretName } : {}),
    };
  }

  private where(): string {
    return `${this.input.ref.namespace}/${this.input.ref.name}`;
  }
}

/** The last lines of a failed command's output, for the condition message. */
function outputTail(details: Record<string, unknown>): string {
  const text = [details.stderrTail, details.stdoutTail].find((t) => typeof t === 'string' && t.trim() !== '');
  if (typeof text !== 'string') return '';
  const lines = text.trimEnd().split('\n').slice(-5).join('\n');
  return `\n--- output tail ---\n${lines.slice(-800)}`;
}
