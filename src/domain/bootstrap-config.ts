// What a bootstrap config (K0sWorkerConfig, K0sControllerConfig) reports, and when its join tokens are
// revoked or re-issued. Pure: the workflows feed it facts the activities gathered.
import { pausedCondition, setCondition, type Condition, type ConditionInput } from './conditions.js';
import { labelSafe, type JoinRole } from './join-token.js';

export const WORKER_CONFIG_KIND = 'K0sWorkerConfig';
export const CONTROLLER_CONFIG_KIND = 'K0sControllerConfig';
export const BOOTSTRAP_CONFIG_KINDS = [WORKER_CONFIG_KIND, CONTROLLER_CONFIG_KIND] as const;

export const DATA_SECRET_TYPE = 'cluster.x-k8s.io/secret';
export const BOOTSTRAP_COMPONENT_LABEL = 'app.kubernetes.io/component';

export function joinRoleOf(configKind: string): JoinRole {
  return configKind === CONTROLLER_CONFIG_KIND ? 'controller' : 'worker';
}

/** The part of a bootstrap config's status k0sflow owns: both CAPI contracts' fields. */
export interface BootstrapOwnedStatus {
  ready?: boolean;
  dataSecretName?: string;
  initialization?: { dataSecretCreated?: boolean };
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface BootstrapStatusFacts {
  generation: number;
  current: BootstrapOwnedStatus | undefined;
  now: Date;
  paused: boolean;
  /** Set once the data Secret holds the bootstrap data. */
  dataSecretName?: string;
  /** Not ready yet, and why (k0smotron's reasons: WaitingForControlPlaneInitialization, …). */
  waiting?: { reason: string; message: string };
  /** Bad input or an unreachable child cluster: reported; data already handed out stays. */
  problem?: { reason: string; message: string };
  /**
   * After the hand-out: whether the machine's Node has its providerID. A condition of its own, so a child
   * cluster that cannot be reached then does not make the handed-out data look unready.
   */
  node?: { status: 'True' | 'False' | 'Unknown'; reason: string; message?: string };
}

export const NODE_CONDITION = 'NodeProviderIDSet';

/**
 * Status per both contracts. Readiness is sticky: once the data Secret was handed to the infrastructure
 * provider, a later problem (e.g. the child cluster unreachable during a token re-issue) does not take it back.
 */
export function planBootstrapStatus(facts: BootstrapStatusFacts): BootstrapOwnedStatus {
  const { current = {}, generation, now } = facts;
  const dataSecretName = facts.dataSecretName ?? (current.ready ? current.dataSecretName : undefined);
  const ready = dataSecretName !== undefined;
  let conditions = setCondition(current.conditions, pausedCondition(facts.paused, generation), now);
  conditions = setCondition(conditions, dataSecretCondition(facts, ready, generation), now);
  conditions = setCondition(conditions, readyCondition(facts, ready, generation), now);
  if (facts.node)
    conditions = setCondition(
      conditions,
      { type: NODE_CONDITION, observedGeneration: generation, ...facts.node },
      now
    );
  return {
    ready,
    ...(dataSecretName ? { dataSecretName } : {}),
    initialization: { dataSecretCreated: ready },
    observedGeneration: generation,
    conditions,
  };
}

/** True when writing `next` would change nothing but timestamps. */
export function bootstrapStatusUpToDate(
  current: BootstrapOwnedStatus | undefined,
  next: BootstrapOwnedStatus
): boolean {
  const strip = (s: BootstrapOwnedStatus | undefined): string =>
    JSON.stringify({
      ready: s?.ready ?? false,
      dataSecretName: s?.dataSecretName ?? null,
      created: s?.initialization?.dataSecretCreated ?? false,
      observedGeneration: s?.observedGeneration ?? null,
      conditions: (s?.conditions ?? []).map((c) => [
        c.type,
        c.status,
        c.reason,
        c.message ?? '',
        c.observedGeneration ?? null,
      ]),
    });
  return strip(current) === strip(next);
}

function dataSecretCondition(
  facts: BootstrapStatusFacts,
  ready: boolean,
  generation: number
): ConditionInput {
  const base = { type: 'DataSecretAvailable', observedGeneration: generation };
  if (ready && !facts.problem)
    return { ...base, status: 'True', reason: 'Available', message: 'Bootstrap secret created' };
  const why = facts.problem ?? facts.waiting;
  if (ready && why) return { ...base, status: 'True', reason: 'Available', message: why.message };
  if (why) return { ...base, status: 'False', reason: why.reason, message: why.message };
  return { ...base, status: 'False', reason: 'Pending', message: 'Bootstrap data is being generated' };
}

function readyCondition(facts: BootstrapStatusFacts, ready: boolean, generation: number): ConditionInput {
  const base = { type: 'Ready', observedGeneration: generation };
  if (facts.problem) return { ...base, status: 'False', ...facts.problem };
  if (ready) return { ...base, status: 'True', reason: 'Ready' };
  if (facts.paused)
    return { ...base, status: 'False', reason: 'Paused', message: 'Reconciliation is paused' };
  const why = facts.waiting;
  return why
    ? { ...base, status: 'False', reason: why.reason, message: why.message }
    : { ...base, status: 'False', reason: 'Pending', message: 'Bootstrap data is being generated' };
}

// ---------------------------------------------------------------------------------------------------------
// Token rotation
// ---------------------------------------------------------------------------------------------------------

/** A join token in the child cluster, as rotation sees it: no secret part. */
export interface TokenFacts {
  id: string;
  /** RFC 3339. */
  expiration: string;
  /** Lifetime when it was issued, in seconds (absent on tokens k0sflow did not label). */
  ttlSeconds?: number;
  configKind: string;
  configName: string;
}

/** A bootstrap config of the cluster and where its machine stands. */
export interface ConfigFacts {
  kind: string;
  name: string;
  uid: string;
  /** Its data Secret was handed out (status.ready / dataSecretName). */
  ready: boolean;
  /** The owner Machine exists and is not being deleted. */
  machinePresent: boolean;
  /**
   * Its token is of no more use: the Machine has a nodeRef (its Node joined), or, for a controller, its
   * machine is provisioned (k0s used the token at install; a controller without a kubelet gets no nodeRef).
   */
  joined: boolean;
  /** Its data carries a join token (not so for the first controller, which gets the cluster's keys). */
  usesToken: boolean;
}

export interface RotationPlan {
  /** Token ids to delete, with why. */
  revoke: { id: string; why: 'expired' | 'joined' | 'machine gone' | 'config gone' }[];
  /** Configs whose machine still waits and whose newest token nears expiry (or has none): new token, new data. */
  reissue: { kind: string; name: string; uid: string }[];
  /** When to look again (epoch ms); undefined when nothing will expire on its own. */
  nextCheckAt?: number;
}

/** Re-issue when less than this share of a token's lifetime is left. */
export const RENEW_WHEN_LEFT = 0.25;

/**
 * Expired tokens, and tokens of machines that joined or went, are deleted (the API server would ignore
 * expired ones, but they clutter kube-system and tell of machines long gone). A waiting machine gets a new
 * token before its last one expires, so a slow machine never fails on an expired token.
 */
export function planTokenRotation(
  tokens: readonly TokenFacts[],
  configs: readonly ConfigFacts[],
  nowMs: number,
  defaultTtlSeconds: number
): RotationPlan {
  // Tokens name their config through a label value: long names are shortened the same way there.
  const byConfig = new Map(configs.map((c) => [`${c.kind}/${labelSafe(c.name)}`, c]));
  const revoke: RotationPlan['revoke'] = [];
  const newestLeft = new Map<string, { expiresAt: number; renewAt: number }>();
  let nextCheckAt: number | undefined;
  const consider = (at: number): void => {
    if (nextCheckAt === undefined || at < nextCheckAt) nextCheckAt = at;
  };
  for (const token of tokens) {
    const key = `${token.configKind}/${token.configName}`;
    const config = byConfig.get(key);
    const expiresAt = Date.parse(token.expiration);
    const why = revokeReason(config, expiresAt, nowMs);
    if (why) {
      revoke.push({ id: token.id, why });
      continue;
    }
    consider(expiresAt);
    const ttlMs = (token.ttlSeconds ?? defaultTtlSeconds) * 1000;
    const renewAt = expiresAt - ttlMs * RENEW_WHEN_LEFT;
    const newest = newestLeft.get(key);
    if (!newest || expiresAt > newest.expiresAt) newestLeft.set(key, { expiresAt, renewAt });
  }
  const reissue: RotationPlan['reissue'] = [];
  for (const config of configs) {
    if (!config.ready || !config.usesToken || !config.machinePresent || config.joined) continue;
    const newest = newestLeft.get(`${config.kind}/${labelSafe(config.name)}`);
    if (!newest || newest.renewAt <= nowMs)
      reissue.push({ kind: config.kind, name: config.name, uid: config.uid });
    else consider(newest.renewAt);
  }
  return { revoke, reissue, ...(nextCheckAt !== undefined ? { nextCheckAt } : {}) };
}

function revokeReason(
  config: ConfigFacts | undefined,
  expiresAt: number,
  nowMs: number
): RotationPlan['revoke'][number]['why'] | undefined {
  if (Number.isNaN(expiresAt) || expiresAt <= nowMs) return 'expired';
  if (!config) return 'config gone';
  if (!config.machinePresent) return 'machine gone';
  if (config.joined) return 'joined';
  return undefined;
}
