import {
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';

import type { PoolActivities } from '../activities/pool.js';
import { failureOf } from './failures.js';
import { objectChangedSignal, poolStateQuery, type PoolInput, type PoolState } from './messages.js';

const pool = proxyActivities<PoolActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
  },
});

/** With machines waiting, look again this often even if no event says a pooled machine came free. */
const RECHECK_WHILE_WAITING = '5 minutes';
const RECHECK_IDLE = '1 hour';
const RETRY_AFTER_FAILURE = '30 seconds';
const MAX_PASSES_PER_RUN = 500;

/** How long a pass waits for a change before looking again anyway. */
function recheckAfter(state: PoolState): string {
  if (state.lastError) return RETRY_AFTER_FAILURE;
  return state.waiting.length > 0 ? RECHECK_WHILE_WAITING : RECHECK_IDLE;
}

/**
 * One per pool (namespace + pool name). Every change to the pool's PooledRemoteMachines or to the
 * RemoteMachines that name the pool wakes it; each pass grants free machines to claimants, oldest
 * first, and restores reservations a status reset lost. Passes never overlap, so two claims can never
 * take the same machine. The workflow ends when the pool has neither machines nor claimants.
 */
export async function poolWorkflow(input: PoolInput, carried?: PoolState): Promise<void> {
  const state: PoolState = carried ?? { passes: 0, granted: 0, restored: 0, waiting: [], conflicts: [] };
  let dirty = true;
  setHandler(objectChangedSignal, () => {
    dirty = true;
  });
  setHandler(poolStateQuery, () => state);

  for (let pass = 0; ; pass++) {
    await condition(() => dirty, recheckAfter(state));
    dirty = false;
    try {
      const outcome = await pool.reconcilePool(input);
      state.passes++;
      state.granted += outcome.granted.length;
      state.restored += outcome.restored;
      state.waiting = outcome.waiting;
      state.conflicts = outcome.conflicts;
      delete state.lastError;
      if (outcome.pooled === 0 && outcome.members === 0 && !dirty) return;
    } catch (err) {
      state.lastError = failureOf(err).message;
      log.warn('pool pass failed', { error: state.lastError });
    }
    if (!dirty && (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof poolWorkflow>(input, state);
    }
  }
}
