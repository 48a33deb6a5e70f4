import { setCondition, type Condition } from './conditions.js';
import { stableJson } from './fingerprint.js';

/** The part of RemoteCluster.status that k0sflow owns (server-side apply, field manager k0sflow). */
export interface RemoteClusterOwnedStatus {
  ready: boolean;
  initialization: { provisioned: boolean };
  conditions: Condition[];
  observedGeneration: number;
}

export interface RemoteClusterFacts {
  generation: number;
  currentStatus:
    { ready?: boolean; initialization?: { provisioned?: boolean }; conditions?: Condition[] } | undefined;
  paused: boolean;
  /** What is wrong with the object, if anything: reported, never acted on. */
  invalid?: string;
  now: Date;
}

/**
 * A RemoteCluster is a placeholder: the hosts are provisioned one by one, so the infrastructure is
 * ready as soon as it exists. Both contracts are answered: `ready` (v1beta1) and
 * `initialization.provisioned` (v1beta2), with the `Ready` and `Paused` conditions of v1beta2.
 * While paused, only the `Paused` condition moves.
 */
export function planRemoteClusterStatus(facts: RemoteClusterFacts): RemoteClusterOwnedStatus {
  const current = facts.currentStatus ?? {};
  const pausedCondition = facts.paused
    ? { type: 'Paused', status: 'True' as const, reason: 'Paused', message: 'Reconciliation is paused' }
    : { type: 'Paused', status: 'False' as const, reason: 'NotPaused' };
  let conditions = setCondition(
    current.conditions,
    { ...pausedCondition, observedGeneration: facts.generation },
    facts.now
  );
  if (facts.paused) {
    return {
      ready: current.ready ?? false,
      initialization: { provisioned: current.initialization?.provisioned ?? false },
      conditions,
      observedGeneration: facts.generation,
    };
  }
  if (facts.invalid !== undefined) {
    // Bad input: say so, and keep what was already provisioned (v1beta2: provisioned never goes back).
    conditions = setCondition(
      conditions,
      {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: facts.invalid,
        observedGeneration: facts.generation,
      },
      facts.now
    );
    return {
      ready: current.ready ?? false,
      initialization: { provisioned: current.initialization?.provisioned ?? false },
      conditions,
      observedGeneration: facts.generation,
    };
  }
  conditions = setCondition(
    conditions,
    { type: 'Ready', status: 'True', reason: 'Provisioned', observedGeneration: facts.generation },
    facts.now
  );
  return {
    ready: true,
    initialization: { provisioned: true },
    conditions,
    observedGeneration: facts.generation,
  };
}

/** True when applying `owned` would change nothing. */
export function ownedStatusUpToDate(current: unknown, owned: RemoteClusterOwnedStatus): boolean {
  const c = (current ?? {}) as Partial<RemoteClusterOwnedStatus>;
  const pick = (s: Partial<RemoteClusterOwnedStatus>): unknown => ({
    ready: s.ready,
    provisioned: s.initialization?.provisioned,
    conditions: (s.conditions ?? []).filter((x) => ['Ready', 'Paused'].includes(x.type)),
    observedGeneration: s.observedGeneration,
  });
  return stableJson(pick(c)) === stableJson(pick(owned));
}
