import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

import { kindInfo } from '../domain/api/index.js';
import { dependencyFingerprint, fingerprint, ownObjectFingerprint } from '../domain/fingerprint.js';
import {
  CLUSTER_RESOURCE,
  MACHINE_RESOURCE,
  type ObjectRef,
  type ResourceType,
} from '../domain/resources.js';
import { clusterNameOf } from '../domain/snapshot.js';
import { BOOTSTRAP_CONFIG_KINDS } from '../domain/bootstrap-config.js';
import { poolWorkflowId, tokenRotationWorkflowId, workflowIdFor } from '../domain/workflow-id.js';
import {
  POOL_WORKFLOW_TYPE,
  TOKEN_ROTATION_WORKFLOW_TYPE,
  WORKFLOW_TYPE_BY_KIND,
  objectChangedSignal,
  searchAttributes,
  type EntityInput,
  type ObjectHint,
  type PoolInput,
  type TokenRotationInput,
  tokenRotationStart,
} from '../workflows/messages.js';
import { errorText, type Logger } from '../util/log.js';
import { KeyedQueue, type Lane } from './signal-queue.js';
import { ResourceWatcher, keyOf, type WatchEvent } from './list-watch.js';

export interface BridgeOptions {
  kubeConfig: KubeConfig;
  custom: CustomObjectsApi;
  temporal: Client;
  taskQueue: string;
  /** Drive objects of one namespace only; all namespaces when absent. */
  namespace?: string;
  relistIntervalMs?: number;
  concurrency?: number;
  log: Logger;
  /** Called after each signal with the time from the first event folded into it to the signal's ack. */
  onSignalled?: (key: string, latencyMs: number) => void;
}

/** What the bridge remembers of an object it drives: enough to route, never the object. */
interface Tracked {
  ref: ObjectRef;
  fingerprint: string;
  clusterName: string | undefined;
  /** Its workflow is known to run: a plain signal is enough (cheaper for Temporal than signal-with-start). */
  running?: boolean;
}

/**
 * Who gets a signal: the workflow of one object, of a pool of PooledRemoteMachines, or of a Cluster's
 * join-token rotation.
 */
type Target =
  | { ref: ObjectRef; pool?: undefined; rotation?: undefined }
  | { pool: PoolInput; ref?: undefined; rotation?: undefined }
  | { rotation: TokenRotationInput; ref?: undefined; pool?: undefined };

interface Pending {
  target: Target;
  hint: ObjectHint;
}

/**
 * Watches the kinds k0sflow drives and the CAPI objects they depend on, and keeps exactly one
 * workflow per object fed with signal-with-start. Signals are hints; workflows re-read the object.
 */
export class Bridge {
  private readonly tracked = new Map<string, Tracked>();
  private readonly byCluster = new Map<string, Set<string>>();
  /** Clusters, Machines, PooledRemoteMachines: the part of each that matters to its dependants. */
  private readonly dependencyFingerprints = new Map<string, string>();
  /** Pool workflows known to run: a plain signal is enough. */
  private readonly runningPools = new Set<string>();
  /** Clusters whose token-rotation workflow this bridge has started (or found running). */
  private readonly rotations = new Set<string>();
  private readonly watchers: ResourceWatcher[] = [];
  private readonly queue: KeyedQueue<Pending>;

  constructor(private readonly opts: BridgeOptions) {
    this.queue = new KeyedQueue<Pending>({
      concurrency: opts.concurrency ?? 32,
      merge: (older, newer) => ({ target: newer.target, hint: mergeHints(older.hint, newer.hint) }),
      process: (_key, pending) => this.signal(pending),
      onDone: (key, item) => opts.onSignalled?.(key, performance.now() - item.since),
      onError: (key, err, retryInMs) =>
        opts.log.warn('signal failed; will retry', { workflow: key, error: errorText(err), retryInMs }),
    });
  }

  start(): void {
    for (const [kind] of Object.entries(WORKFLOW_TYPE_BY_KIND)) {
      const info = kindInfo(kind);
      this.watch(info, (event) => this.onOwnObject(info, event));
    }
    this.watch(CLUSTER_RESOURCE, (event) => this.onCluster(event));
    this.watch(MACHINE_RESOURCE, (event) => this.onMachine(event));
    this.watch(kindInfo('PooledRemoteMachine'), (event) => this.onPooledMachine(event));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
    await this.queue.idle();
    this.queue.close();
  }

  /** Resolves when every event seen so far has been signalled. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  get trackedCount(): number {
    return this.tracked.size;
  }

  private watch(resource: ResourceType, onEvent: (event: WatchEvent) => void): void {
    const watcher = new ResourceWatcher({
      config: this.opts.kubeConfig,
      custom: this.opts.custom,
      resource,
      ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
      relistIntervalMs: this.opts.relistIntervalMs ?? 10 * 60_000,
      onEvent,
      log: this.opts.log.child({ watch: resource.kind }),
    });
    this.watchers.push(watcher);
    watcher.start();
  }

  private onOwnObject(resource: ResourceType, event: WatchEvent): void {
    const meta = event.object.metadata;
    const key = `${resource.kind}/${keyOf(meta)}`;
    const ref = objectRefOf(resource, meta);
    if (event.type === 'delete') {
      this.wakePoolOf(event, ref.kind);
      this.forget(key);
      this.queue.add(
        workflowIdFor(ref),
        { target: { ref }, hint: { gone: true } },
        event.receivedAt,
        laneOf(event)
      );
      return;
    }
    const fingerprint = ownObjectFingerprint(meta);
    const previous = this.tracked.get(key);
    if (previous && previous.ref.uid !== meta.uid) this.forget(key);
    else if (previous?.fingerprint === fingerprint) return;
    // Only changes that can matter to a claim wake the pool: not every status write of its 100 machines.
    this.wakePoolOf(event, ref.kind);
    const clusterName = clusterNameOf(meta);
    if (clusterName && isBootstrapConfig(ref.kind)) this.ensureRotation(meta.namespace, clusterName, event);
    this.remember(key, {
      ref,
      fingerprint,
      clusterName,
      running: previous?.ref.uid === meta.uid && previous.running,
    });
    const hint: ObjectHint = {
      ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      ...(meta.deletionTimestamp ? { deleting: true } : {}),
    };
    this.queue.add(workflowIdFor(ref), { target: { ref }, hint }, event.receivedAt, laneOf(event));
  }

  /** A RemoteMachine that names a pool is one of the pool's claimants: its changes wake the pool. */
  private wakePoolOf(event: WatchEvent, kind: string): void {
    if (kind !== 'RemoteMachine') return;
    const pool = (event.object.spec as { pool?: unknown } | undefined)?.pool;
    if (typeof pool !== 'string' || pool === '') return;
    this.wakePool({ namespace: event.object.metadata.namespace, pool }, event, 'RemoteMachine');
  }

  private wakePool(pool: PoolInput, event: WatchEvent, cause: string): void {
    this.queue.add(
      poolWorkflowId(pool.namespace, pool.pool),
      { target: { pool }, hint: { cause } },
      event.receivedAt,
      laneOf(event)
    );
  }

  /** Once per Cluster and bridge lifetime: the rotation workflow keeps itself going on timers. */
  private ensureRotation(namespace: string, clusterName: string, event: WatchEvent): void {
    const workflowId = tokenRotationWorkflowId(namespace, clusterName);
    if (this.rotations.has(workflowId)) return;
    this.rotations.add(workflowId);
    this.queue.add(
      workflowId,
      { target: { rotation: { namespace, clusterName } }, hint: { cause: 'bootstrap config' } },
      event.receivedAt,
      laneOf(event)
    );
  }

  /** A PooledRemoteMachine added, freed, reserved or edited wakes its pool's workflow. */
  private onPooledMachine(event: WatchEvent): void {
    const { metadata, spec, status } = event.object as {
      metadata: WatchEvent['object']['metadata'];
      spec?: { pool?: string };
      status?: { reserved?: boolean; machineRef?: { name?: string } };
    };
    const key = `PooledRemoteMachine/${keyOf(metadata)}`;
    if (
      !this.dependencyChanged(key, event, {
        g: metadata.generation,
        r: status?.reserved ?? false,
        m: status?.machineRef?.name ?? '',
      })
    )
      return;
    if (spec?.pool)
      this.wakePool({ namespace: metadata.namespace, pool: spec.pool }, event, 'PooledRemoteMachine');
  }

  /**
   * A Machine wakes the infrastructure machine and the bootstrap config it points at when what they wait
   * for moves (bootstrap data, providerID, nodeRef, deletion).
   */
  private onMachine(event: WatchEvent): void {
    const { metadata } = event.object;
    const spec = event.object.spec as MachineSpecView | undefined;
    const status = event.object.status as MachineStatusView | undefined;
    const refs = [spec?.infrastructureRef, spec?.bootstrap?.configRef].filter(
      (r): r is { kind: string; name: string } => !!r?.name && !!r.kind && r.kind in WORKFLOW_TYPE_BY_KIND
    );
    if (refs.length === 0) return;
    const relevant = machineRelevance(metadata, spec, status);
    if (!this.dependencyChanged(`Machine/${keyOf(metadata)}`, event, relevant)) return;
    for (const r of refs) {
      const tracked = this.tracked.get(`${r.kind}/${metadata.namespace}/${r.name}`);
      if (tracked) this.wakeDependant(tracked, 'Machine', event);
    }
  }

  /** Tells the workflow of `tracked` that something it depends on (`cause`) changed. */
  private wakeDependant(tracked: Tracked, cause: string, event: WatchEvent): void {
    this.queue.add(
      workflowIdFor(tracked.ref),
      { target: { ref: tracked.ref }, hint: { cause } },
      event.receivedAt,
      laneOf(event)
    );
  }

  /** Records the dependency's fingerprint; true when it moved (or the object went). */
  private dependencyChanged(key: string, event: WatchEvent, relevant: unknown): boolean {
    if (event.type === 'delete') {
      this.dependencyFingerprints.delete(key);
      return true;
    }
    const print = fingerprint(relevant);
    if (this.dependencyFingerprints.get(key) === print) return false;
    this.dependencyFingerprints.set(key, print);
    return true;
  }

  /** A Cluster change wakes the workflows of the objects that belong to it. */
  private onCluster(event: WatchEvent): void {
    const { metadata, status } = event.object;
    const clusterKey = keyOf(metadata);
    // Its rotation workflow ends with the Cluster: one of the same name later needs a new one.
    if (event.type === 'delete')
      this.rotations.delete(tokenRotationWorkflowId(metadata.namespace, metadata.name));
    const relevant = dependencyFingerprint(metadata, status);
    if (!this.dependencyChanged(`Cluster/${clusterKey}`, event, relevant)) return;
    for (const key of this.byCluster.get(clusterKey) ?? []) {
      const tracked = this.tracked.get(key);
      if (tracked) this.wakeDependant(tracked, 'Cluster', event);
    }
  }

  private remember(key: string, tracked: Tracked): void {
    const previous = this.tracked.get(key);
    if (previous?.clusterName !== tracked.clusterName) {
      this.unindex(key, previous);
      if (tracked.clusterName) {
        const clusterKey = `${tracked.ref.namespace}/${tracked.clusterName}`;
        const set = this.byCluster.get(clusterKey) ?? new Set<string>();
        set.add(key);
        this.byCluster.set(clusterKey, set);
      }
    }
    this.tracked.set(key, tracked);
  }

  private forget(key: string): void {
    this.unindex(key, this.tracked.get(key));
    this.tracked.delete(key);
  }

  private unindex(key: string, tracked: Tracked | undefined): void {
    if (!tracked?.clusterName) return;
    const clusterKey = `${tracked.ref.namespace}/${tracked.clusterName}`;
    const set = this.byCluster.get(clusterKey);
    set?.delete(key);
    if (set?.size === 0) this.byCluster.delete(clusterKey);
  }

  private async signal({ target, hint }: Pending): Promise<void> {
    if (target.pool) return this.signalPool(target.pool, hint);
    if (target.rotation) return this.startRotation(target.rotation, hint);
    const { ref } = target;
    const workflowId = workflowIdFor(ref);
    const tracked = this.tracked.get(`${ref.kind}/${ref.namespace}/${ref.name}`);
    const known = tracked?.ref.uid === ref.uid ? tracked : undefined;
    // Never start a workflow for an object that no longer exists; a running one only needs a signal.
    if (hint.gone || known?.running) {
      try {
        await this.opts.temporal.workflow.getHandle(workflowId).signal(objectChangedSignal, hint);
        return;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        if (hint.gone) return;
        // Ended under us (an operator terminated it?): start it again below.
      }
    }
    await this.signalWithStart(ref, hint, known?.clusterName);
    if (known) known.running = true;
  }

  private async signalPool(pool: PoolInput, hint: ObjectHint): Promise<void> {
    const workflowId = poolWorkflowId(pool.namespace, pool.pool);
    if (this.runningPools.has(workflowId)) {
      try {
        await this.opts.temporal.workflow.getHandle(workflowId).signal(objectChangedSignal, hint);
        return;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        // The pool went empty and its workflow ended: start it again below.
        this.runningPools.delete(workflowId);
      }
    }
    await this.opts.temporal.workflow.signalWithStart(POOL_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.opts.taskQueue,
      args: [pool],
      signal: objectChangedSignal,
      signalArgs: [hint],
      typedSearchAttributes: [
        { key: searchAttributes.kind, value: 'Pool' },
        { key: searchAttributes.namespace, value: pool.namespace },
        { key: searchAttributes.name, value: pool.pool },
      ],
    });
    this.runningPools.add(workflowId);
  }

  private async startRotation(rotation: TokenRotationInput, hint: ObjectHint): Promise<void> {
    await this.opts.temporal.workflow.signalWithStart(
      TOKEN_ROTATION_WORKFLOW_TYPE,
      tokenRotationStart(rotation, this.opts.taskQueue, hint)
    );
  }

  private async signalWithStart(
    ref: ObjectRef,
    hint: ObjectHint,
    clusterName: string | undefined
  ): Promise<void> {
    const input: EntityInput = { ref };
    await this.opts.temporal.workflow.signalWithStart(WORKFLOW_TYPE_BY_KIND[ref.kind]!, {
      workflowId: workflowIdFor(ref),
      taskQueue: this.opts.taskQueue,
      args: [input],
      signal: objectChangedSignal,
      signalArgs: [hint],
      typedSearchAttributes: [
        { key: searchAttributes.kind, value: ref.kind },
        { key: searchAttributes.namespace, value: ref.namespace },
        { key: searchAttributes.name, value: ref.name },
        ...(clusterName ? [{ key: searchAttributes.cluster, value: clusterName }] : []),
      ],
    });
  }
}

interface MachineSpecView {
  infrastructureRef?: { kind?: string; name?: string };
  bootstrap?: { dataSecretName?: string; configRef?: { kind?: string; name?: string } };
  providerID?: string;
  version?: string;
}

interface MachineStatusView {
  nodeRef?: { name?: string };
}

/** What of a Machine its infrastructure machine and bootstrap config wait for or act on. */
function machineRelevance(
  metadata: WatchEvent['object']['metadata'],
  spec: MachineSpecView | undefined,
  status: MachineStatusView | undefined
): unknown {
  return {
    uid: metadata.uid,
    deleting: metadata.deletionTimestamp ?? null,
    data: spec?.bootstrap?.dataSecretName ?? null,
    bootstrapKind: spec?.bootstrap?.configRef?.kind ?? null,
    providerID: spec?.providerID ?? null,
    version: spec?.version ?? null,
    node: status?.nodeRef?.name ?? null,
  };
}

function isBootstrapConfig(kind: string): boolean {
  return (BOOTSTRAP_CONFIG_KINDS as readonly string[]).includes(kind);
}

function laneOf(event: WatchEvent): Lane {
  return event.source === 'watch' ? 'live' : 'resync';
}

/**
 * Coordinates only: `resource` may be a KindInfo carrying its zod schema, which must not become workflow
 * input (it made every scheduled activity 110 KB).
 */
export function objectRefOf(
  resource: ResourceType,
  meta: { namespace: string; name: string; uid: string }
): ObjectRef {
  const { group, version, plural, kind } = resource;
  return { group, version, plural, kind, namespace: meta.namespace, name: meta.name, uid: meta.uid };
}

export function mergeHints(older: ObjectHint, newer: ObjectHint): ObjectHint {
  const merged: ObjectHint = { ...older, ...newer };
  if (older.deleting || newer.deleting) merged.deleting = true;
  if (older.cause && !newer.cause) merged.cause = older.cause;
  return merged;
}
