// Pool bookkeeping against the API server. One pool workflow calls `reconcilePool` one pass at a
// time, so the reads and writes of a pass never race another claim on the same pool; writes still
// carry resourceVersions, so a concurrent edit by someone else fails the pass and it runs again.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { heartbeat } from '@temporalio/activity';

import { kindInfo } from '../domain/api/index.js';
import type { PooledMachineSpec } from '../domain/api/infrastructure.js';
import { planPool, pooledSpecPatch, type PoolMemberView, type PooledView } from '../domain/pool.js';
import { POOLED_MACHINE_ANNOTATION } from '../domain/remote-machine.js';
import { FIELD_MANAGER, kubeCall } from './objects.js';
import type { KubeClients } from './kube-client.js';

export interface PoolKey {
  namespace: string;
  pool: string;
}

export interface PoolOutcome {
  /** RemoteMachines that got a pooled machine in this pass. */
  granted: string[];
  /** Reservations written back from the RemoteMachines' annotations. */
  restored: number;
  /** RemoteMachines still waiting, oldest first. */
  waiting: string[];
  conflicts: string[];
  /** Pooled machines and RemoteMachines of the pool: none of either ends the pool's workflow. */
  pooled: number;
  members: number;
}

export interface PoolActivities {
  reconcilePool(key: PoolKey): Promise<PoolOutcome>;
  /** Frees what `machine` holds in the pool; returns the pooled machines freed. */
  releasePooledMachine(input: PoolKey & { machine: string }): Promise<string[]>;
}

interface RawPooled {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { pool: string; machine: PooledMachineSpec };
  status?: { reserved?: boolean; machineRef?: { name?: string; namespace?: string } };
}

interface RawRemoteMachine {
  metadata: {
    name: string;
    uid: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec?: { pool?: string };
}

const PRM = kindInfo('PooledRemoteMachine');
const RM = kindInfo('RemoteMachine');
/** Not copied from a pooled machine onto the RemoteMachine that takes it. */
const PRIVATE_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

export function createPoolActivities(clients: KubeClients): PoolActivities {
  const { custom } = clients;

  async function listPooled({ namespace, pool }: PoolKey): Promise<RawPooled[]> {
    const list = (await custom.listNamespacedCustomObject({ ...PRM, namespace })) as { items: RawPooled[] };
    return list.items.filter((p) => p.spec.pool === pool);
  }

  async function writeReservation(
    namespace: string,
    p: RawPooled,
    machineRef: { name: string; namespace: string }
  ): Promise<void> {
    const reserved = machineRef.name !== '';
    if (p.status?.reserved === reserved && (p.status.machineRef?.name ?? '') === machineRef.name) return;
    // A replace with the resourceVersion we read: a concurrent writer makes this fail (409) instead of
    // one of us silently losing.
    await custom.replaceNamespacedCustomObjectStatus({
      ...PRM,
      namespace,
      name: p.metadata.name,
      body: { ...p, status: { reserved, machineRef } },
      fieldManager: FIELD_MANAGER,
    });
  }

  return {
    async reconcilePool(key) {
      return kubeCall(`reconcile pool ${key.namespace}/${key.pool}`, async () => {
        const pooled = await listPooled(key);
        const rmList = (await custom.listNamespacedCustomObject({ ...RM, namespace: key.namespace })) as {
          items: RawRemoteMachine[];
        };
        const members = rmList.items.filter((m) => m.spec?.pool === key.pool);
        const plan = planPool(pooled.map(pooledView), members.map(memberView));
        const byName = new Map(pooled.map((p) => [p.metadata.name, p]));
        const uidOf = new Map(members.map((m) => [m.metadata.name, m.metadata.uid]));
        const granted: string[] = [];
        let restored = 0;
        for (const r of plan.reserve) {
          heartbeat();
          const p = byName.get(r.pooled)!;
          await writeReservation(key.namespace, p, { name: r.machine, namespace: key.namespace });
          if (!r.grant) {
            restored++;
            continue;
          }
          await custom.patchNamespacedCustomObject(
            {
              ...RM,
              namespace: key.namespace,
              name: r.machine,
              body: claimPatch(p, uidOf.get(r.machine)!),
              fieldManager: FIELD_MANAGER,
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
          );
          granted.push(r.machine);
        }
        return {
          granted,
          restored,
          waiting: plan.waiting,
          conflicts: plan.conflicts.map((c) => `${c.machine} names ${c.pooled}, held by ${c.heldBy}`),
          pooled: pooled.length,
          members: members.length,
        };
      });
    },

    async releasePooledMachine({ namespace, pool, machine }) {
      return kubeCall(`release pooled machine of ${namespace}/${machine}`, async () => {
        const freed: string[] = [];
        for (const p of await listPooled({ namespace, pool })) {
          const ref = p.status?.machineRef;
          if (!p.status?.reserved || ref?.name !== machine || (ref.namespace ?? namespace) !== namespace)
            continue;
          await writeReservation(namespace, p, { name: '', namespace: '' });
          freed.push(p.metadata.name);
        }
        return freed;
      });
    },
  };
}

function pooledView(p: RawPooled): PooledView {
  return {
    name: p.metadata.name,
    reserved: p.status?.reserved === true,
    machineName: p.status?.machineRef?.name ?? '',
  };
}

function memberView(m: RawRemoteMachine): PoolMemberView {
  const holds = m.metadata.annotations?.[POOLED_MACHINE_ANNOTATION];
  return {
    name: m.metadata.name,
    uid: m.metadata.uid,
    creationTimestamp: m.metadata.creationTimestamp ?? '',
    deleting: m.metadata.deletionTimestamp !== undefined,
    ...(holds ? { holds } : {}),
  };
}

/**
 * The RemoteMachine side of a claim: the reservation annotation, the pooled machine's labels and
 * annotations (as k0smotron copies them) and its connection fields. The uid precondition keeps a
 * claim from landing on a RemoteMachine re-created under the same name.
 */
function claimPatch(p: RawPooled, uid: string): object {
  const annotations = { ...(p.metadata.annotations ?? {}) };
  for (const a of PRIVATE_ANNOTATIONS) delete annotations[a];
  return {
    metadata: {
      uid,
      labels: p.metadata.labels ?? {},
      annotations: { ...annotations, [POOLED_MACHINE_ANNOTATION]: p.metadata.name },
    },
    spec: pooledSpecPatch(p.spec.machine),
  };
}
