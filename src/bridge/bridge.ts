import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

import { kindInfo } from '../domain/api/index.js';
import { dependencyFingerprint, ownObjectFingerprint } from '../domain/fingerprint.js';
import { CLUSTER_RESOURCE, type ObjectRef, type ResourceType } from '../domain/resources.js';
import { clusterNameOf } from '../domain/snapshot.js';
import { workflowIdFor } from '../domain/workflow-id.js';
import {
  WORKFLOW_TYPE_BY_KIND,
  objectChangedSignal,
  searchAttributes,
  type EntityInput,
  type ObjectHint,
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

interface Pending {
  ref: ObjectRef;
  hint: ObjectHint;
}

/**
 * Watches the kinds k0sflow drives and the CAPI objects they depend on, and keeps exactly one
 * workflow per object fed with signal-with-start. Signals are hints; workflows re-read the object.
 */
export class Bridge {
  private readonly tracked = new Map<string, Tracked>();
  private readonly byCluster = new Map<string, Set<string>>();
  private readonly clusterFingerprints = new Map<string, string>();
  private readonly watchers: ResourceWatcher[] = [];
  private readonly queue: KeyedQueue<Pending>;

  constructor(private readonly opts: BridgeOptions) {
    this.queue = new KeyedQueue<Pending>({
      concurrency: opts.concurrency ?? 32,
      merge: (older, newer) => ({ ref: newer.ref, hint: mergeHints(older.hint, newer.hint) }),
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
    const ref: ObjectRef = { ...resource, namespace: meta.namespace, name: meta.name, uid: meta.uid };
    if (event.type === 'delete') {
      this.forget(key);
      this.queue.add(workflowIdFor(ref), { ref, hint: { gone: true } }, event.receivedAt, laneOf(event));
      return;
    }
    const fingerprint = ownObjectFingerprint(meta);
    const previous = this.tracked.get(key);
    if (previous && previous.ref.uid !== meta.uid) this.forget(key);
    else if (previous?.fingerprint === fingerprint) return;
    const clusterName = clusterNameOf(meta);
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
    this.queue.add(workflowIdFor(ref), { ref, hint }, event.receivedAt, laneOf(event));
  }

  /** A Cluster change wakes the workflows of the objects that belong to it. */
  private onCluster(event: WatchEvent): void {
    const clusterKey = keyOf(event.object.metadata);
    if (event.type === 'delete') this.clusterFingerprints.delete(clusterKey);
    else {
      const fingerprint = dependencyFingerprint(event.object.metadata, event.object.status);
      if (this.clusterFingerprints.get(clusterKey) === fingerprint) return;
      this.clusterFingerprints.set(clusterKey, fingerprint);
    }
    for (const key of this.byCluster.get(clusterKey) ?? []) {
      const tracked = this.tracked.get(key);
      if (!tracked) continue;
      this.queue.add(
        workflowIdFor(tracked.ref),
        { ref: tracked.ref, hint: { cause: 'Cluster' } },
        event.receivedAt,
        laneOf(event)
      );
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

  private async signal({ ref, hint }: Pending): Promise<void> {
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

function laneOf(event: WatchEvent): Lane {
  return event.source === 'watch' ? 'live' : 'resync';
}

export function mergeHints(older: ObjectHint, newer: ObjectHint): ObjectHint {
  const merged: ObjectHint = { ...older, ...newer };
  if (older.deleting || newer.deleting) merged.deleting = true;
  if (older.cause && !newer.cause) merged.cause = older.cause;
  return merged;
}
