import { PatchStrategy, V1MicroTime, setHeaderOptions } from '@kubernetes/client-node';
import { ApplicationFailure, log } from '@temporalio/activity';

import { kindInfo } from '../domain/api/index.js';
import { CLUSTER_RESOURCE, apiVersionOf, type ObjectRef } from '../domain/resources.js';
import type { ObjectSnapshot } from '../domain/snapshot.js';
import {
  errorMessage,
  isConnectionError,
  isNotFound,
  isPermanentHttpError,
  nullIfNotFound,
  type KubeClients,
} from './kube-client.js';

export const FIELD_MANAGER = 'k0sflow';
export const REPORTING_CONTROLLER = 'k0sflow.dev/k0sflow';

/** What workflows need of a CAPI Cluster; never the whole object. */
export interface ClusterView {
  name: string;
  uid: string;
  paused: boolean;
  /** v1beta2 `status.initialization.infrastructureProvisioned` (v1beta1: `status.infrastructureReady`). */
  infrastructureProvisioned: boolean;
  controlPlaneEndpoint?: { host: string; port: number };
  /** v1beta2 `status.initialization.controlPlaneInitialized`, or its `ControlPlaneInitialized` condition. */
  controlPlaneInitialized: boolean;
}

export interface FinalizerInput {
  ref: ObjectRef;
  finalizer: string;
}

export interface ApplyStatusInput {
  ref: ObjectRef;
  /** Only the fields k0sflow owns: server-side apply removes those it owned before and omits now. */
  status: Record<string, unknown>;
}

export interface EventInput {
  ref: ObjectRef;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ObjectActivities {
  readObject(ref: ObjectRef): Promise<ObjectSnapshot | null>;
  readCluster(key: { namespace: string; name: string }): Promise<ClusterView | null>;
  ensureFinalizer(input: FinalizerInput): Promise<void>;
  removeFinalizer(input: FinalizerInput): Promise<void>;
  applyStatus(input: ApplyStatusInput): Promise<void>;
  recordEvent(input: EventInput): Promise<void>;
}

type RawObject = ObjectSnapshot & { metadata: ObjectSnapshot['metadata'] & Record<string, unknown> };

/**
 * Turns API errors into Temporal failures: permanent ones are not retried. `unreachable`, when given, says
 * what a server that cannot be reached or trusted means (another cluster: report it and back off).
 */
export async function kubeCall<T>(
  what: string,
  call: () => Promise<T>,
  unreachable?: (message: string) => ApplicationFailure
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    const message = `${what}: ${errorMessage(err)}${causeOf(err)}`;
    if (isPermanentHttpError(err))
      throw ApplicationFailure.nonRetryable(message, 'KubernetesRequestRejected');
    if (unreachable && isConnectionError(err)) throw unreachable(message);
    throw ApplicationFailure.retryable(message, 'KubernetesRequestFailed');
  }
}

/** fetch's "fetch failed" says nothing: the cause (ECONNREFUSED, a certificate error) does. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}

export function createObjectActivities(clients: KubeClients): ObjectActivities {
  const { custom } = clients;

  async function getRaw(ref: ObjectRef): Promise<RawObject | null> {
    try {
      const object = (await custom.getNamespacedCustomObject({ ...ref })) as RawObject;
      // Same name, other uid: the object this workflow drives is gone.
      return object.metadata.uid === ref.uid ? object : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async function jsonPatch(ref: ObjectRef, patch: object[]): Promise<void> {
    await custom.patchNamespacedCustomObject(
      { ...ref, body: patch, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
    );
  }

  return {
    async readObject(ref) {
      return kubeCall(`read ${ref.kind} ${ref.namespace}/${ref.name}`, async () => {
        const raw = await getRaw(ref);
        if (raw === null) return null;
        const invalid = schemaProblems(ref.kind, raw);
        return { ...toSnapshot(raw), ...(invalid ? { invalid } : {}) };
      });
    },

    async readCluster({ namespace, name }) {
      return kubeCall(`read Cluster ${namespace}/${name}`, async () => {
        try {
          const c = (await custom.getNamespacedCustomObject({ ...CLUSTER_RESOURCE, namespace, name })) as {
            metadata: { uid: string };
            spec?: { paused?: boolean; controlPlaneEndpoint?: { host?: string; port?: number } };
            status?: {
              initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean };
              conditions?: { type?: string; status?: string }[];
            };
          };
          const endpoint = c.spec?.controlPlaneEndpoint;
          const initializedCondition = c.status?.conditions?.some(
            (cond) => cond.type === 'ControlPlaneInitialized' && cond.status === 'True'
          );
          return {
            name,
            uid: c.metadata.uid,
            paused: c.spec?.paused === true,
            infrastructureProvisioned: c.status?.initialization?.infrastructureProvisioned === true,
            controlPlaneInitialized:
              c.status?.initialization?.controlPlaneInitialized === true || initializedCondition === true,
            ...(endpoint?.host
              ? { controlPlaneEndpoint: { host: endpoint.host, port: endpoint.port ?? 6443 } }
              : {}),
          };
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      });
    },

    async ensureFinalizer({ ref, finalizer }) {
      await kubeCall(`add finalizer to ${ref.kind} ${ref.namespace}/${ref.name}`, async () => {
        const raw = await getRaw(ref);
        if (raw === null || raw.metadata.deletionTimestamp) return;
        const finalizers = raw.metadata.finalizers;
        if (finalizers?.includes(finalizer)) return;
        // The resourceVersion test makes the append safe against a concurrent writer of the list.
        const patch = finalizers
          ? [
              { op: 'test', path: '/metadata/resourceVersion', value: raw.metadata.resourceVersion },
              { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
            ]
          : [{ op: 'add', path: '/metadata/finalizers', value: [finalizer] }];
        await jsonPatch(ref, patch);
      });
    },

    async removeFinalizer({ ref, finalizer }) {
      await kubeCall(`remove finalizer from ${ref.kind} ${ref.namespace}/${ref.name}`, async () => {
        const raw = await getRaw(ref);
        const index = raw?.metadata.finalizers?.indexOf(finalizer) ?? -1;
        if (raw === null || index < 0) return;
        // The test pins the entry, so a list that moved under us fails instead of losing someone's finalizer.
        await jsonPatch(ref, [
          { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
          { op: 'remove', path: `/metadata/finalizers/${index}` },
        ]);
      });
    },

    async applyStatus({ ref, status }) {
      await kubeCall(`patch status of ${ref.kind} ${ref.namespace}/${ref.name}`, async () => {
        const body = {
          apiVersion: apiVersionOf(ref),
          kind: ref.kind,
          metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid },
          status,
        };
        // Gone since the pass read it (an owner's deletion took it): nothing to report, and retrying would
        // only hold the workflow task; the next pass reads nothing and ends.
        await nullIfNotFound(() =>
          custom.patchNamespacedCustomObjectStatus(
            { ...ref, body, fieldManager: FIELD_MANAGER, force: true },
            setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
          )
        );
      });
    },

    async recordEvent({ ref, type, reason, message }) {
      // Events are advisory: a rejected or lost Event must never fail a reconcile.
      try {
        await clients.events.createNamespacedEvent({
          namespace: ref.namespace,
          body: {
            metadata: { name: eventName(ref.name), namespace: ref.namespace },
            eventTime: new V1MicroTime(),
            type,
            reason,
            note: message.slice(0, 1024),
            action: reason,
            reportingController: REPORTING_CONTROLLER,
            reportingInstance: process.env.HOSTNAME ?? 'k0sflow',
            regarding: {
              apiVersion: apiVersionOf(ref),
              kind: ref.kind,
              namespace: ref.namespace,
              name: ref.name,
              uid: ref.uid,
            },
          },
        });
      } catch (err) {
        log.warn('could not record event', {
          ref: `${ref.kind} ${ref.namespace}/${ref.name}`,
          reason,
          error: errorMessage(err),
        });
      }
    },
  };
}

/**
 * `<object>.<hex time>`, as client-go names Events (events.k8s.io rejects a generateName ending in '.').
 * The random tail keeps two replicas' Events apart.
 */
export function eventName(objectName: string, now = Date.now()): string {
  const tail = `${(now * 1000).toString(16)}${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
  return `${objectName.slice(0, 253 - tail.length - 1)}.${tail}`;
}

/** What our schema says is wrong with an object, field by field; undefined when nothing is. */
export function schemaProblems(kind: string, raw: unknown): string | undefined {
  const result = kindInfo(kind).schema.safeParse(raw);
  if (result.success) return undefined;
  return result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(object)'}: ${issue.message}`)
    .join('; ');
}

function toSnapshot(raw: RawObject): ObjectSnapshot {
  const m = raw.metadata;
  return {
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: String(m.deletionTimestamp) } : {}),
      ...(m.finalizers ? { finalizers: m.finalizers } : {}),
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    },
    ...(raw.spec !== undefined ? { spec: raw.spec } : {}),
    ...(raw.status !== undefined ? { status: raw.status } : {}),
  };
}
