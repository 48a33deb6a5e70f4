import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

import type { BootstrapActivities } from '../activities/bootstrap.js';
import { BOOTSTRAP_GROUP } from '../domain/api/groups.js';
import {
  RENEW_WHEN_LEFT,
  WORKER_CONFIG_KIND,
  planTokenRotation,
  type RotationPlan,
} from '../domain/bootstrap-config.js';
import { rfc3339 } from '../domain/conditions.js';
import type { ObjectRef } from '../domain/resources.js';
import { CLUSTER_CALL_OPTIONS } from './activities.js';
import { failureOf } from './failures.js';
import {
  objectChangedSignal,
  rotateTokensUpdate,
  tokenRotationStateQuery,
  type RotationPassSummary,
  type TokenRotationInput,
  type TokenRotationState,
} from './messages.js';

const bootstrap = proxyActivities<BootstrapActivities>(CLUSTER_CALL_OPTIONS);

/** Machines that joined, went or got stuck are noticed this often even when no token is near its end. */
const SWEEP_MS = 10 * 60_000;
const RETRY_AFTER_FAILURE_MS = 60_000;
const MAX_PASSES_PER_RUN = 300;

/**
 * One per Cluster with k0s bootstrap configs, on durable timers: deletes join tokens that expired or whose
 * machine joined or went, and gives a machine still waiting a new token (and data) before its token
 * expires. Ends when the Cluster and its kubeconfig are gone.
 */
export async function tokenRotationWorkflow(
  input: TokenRotationInput,
  carried?: TokenRotationState
): Promise<void> {
  const state: TokenRotationState = carried ?? { passes: 0, revoked: 0, reissued: 0 };
  let requested = true;
  let inPass = false;
  setHandler(objectChangedSignal, () => {
    requested = true;
  });
  setHandler(tokenRotationStateQuery, () => state);
  setHandler(rotateTokensUpdate, async () => {
    // A pass already under way may have read the cluster before the request: wait for the one after it.
    const target = state.passes + (inPass ? 2 : 1);
    requested = true;
    await condition(() => state.passes >= target);
    return state.last!;
  });

  for (let pass = 0; ; pass++) {
    requested = false;
    inPass = true;
    const summary = await rotationPass(input);
    inPass = false;
    state.passes++;
    state.revoked += summary.revoked.length;
    state.reissued += summary.reissued.length;
    state.last = summary;
    if (summary.error === CLUSTER_GONE) {
      await condition(allHandlersFinished);
      return;
    }
    const wakeAt = summary.error
      ? Date.now() + RETRY_AFTER_FAILURE_MS
      : Math.min(Date.now() + SWEEP_MS, summary.nextCheckAt ? Date.parse(summary.nextCheckAt) : Infinity);
    await condition(() => requested, Math.max(1000, wakeAt - Date.now()));
    if (!requested && (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof tokenRotationWorkflow>(input, state);
    }
  }
}

const CLUSTER_GONE = 'the Cluster is gone';

async function rotationPass(input: TokenRotationInput): Promise<RotationPassSummary> {
  const nowMs = Date.now();
  const summary: RotationPassSummary = { at: rfc3339(new Date(nowMs)), revoked: [], reissued: [] };
  try {
    const facts = await bootstrap.listRotationFacts(input);
    if (facts.clusterGone && facts.tokens.length === 0) return { ...summary, error: CLUSTER_GONE };
    // A paused Cluster (clusterctl move) is hands off: its objects may be going away on purpose here.
    if (facts.paused) return { ...summary, paused: true };
    const plan = planTokenRotation(facts.tokens, facts.configs, nowMs, facts.defaultTtlSeconds);
    if (plan.revoke.length > 0) {
      await bootstrap.deleteJoinTokens({ ...input, ids: plan.revoke.map((r) => r.id) });
      summary.revoked = plan.revoke;
    }
    const errors = await reissueAll(input.namespace, plan.reissue, nowMs, summary);
    if (errors.length > 0) summary.error = errors.join('; ');
    // What was just issued is looked at again before it nears its end.
    const renewNew = nowMs + facts.defaultTtlSeconds * 1000 * (1 - RENEW_WHEN_LEFT);
    const next = Math.min(plan.nextCheckAt ?? Infinity, plan.reissue.length > 0 ? renewNew : Infinity);
    if (Number.isFinite(next)) summary.nextCheckAt = rfc3339(new Date(next));
  } catch (err) {
    const failure = failureOf(err);
    summary.error = failure.message;
    // Until the control plane has written its kubeconfig there is no child to hold tokens: a wait, not a fault.
    if (failure.type === 'ChildKubeconfigMissing') log.info('token rotation waits', { error: summary.error });
    else log.warn('token rotation pass failed', { error: summary.error });
  }
  return summary;
}

/** One config's failure does not keep the others from their new token. */
async function reissueAll(
  namespace: string,
  configs: RotationPlan['reissue'],
  nowMs: number,
  summary: RotationPassSummary
): Promise<string[]> {
  const errors: string[] = [];
  for (const config of configs) {
    try {
      await bootstrap.issueBootstrapData({ ref: configRef(namespace, config), nowMs });
      summary.reissued.push(`${config.kind}/${config.name}`);
    } catch (err) {
      errors.push(`${config.kind}/${config.name}: ${failureOf(err).message}`);
    }
  }
  return errors;
}

function configRef(namespace: string, config: { kind: string; name: string; uid: string }): ObjectRef {
  const plural = config.kind === WORKER_CONFIG_KIND ? 'k0sworkerconfigs' : 'k0scontrollerconfigs';
  return {
    group: BOOTSTRAP_GROUP,
    version: 'v1beta1',
    plural,
    kind: config.kind,
    namespace,
    name: config.name,
    uid: config.uid,
  };
}
