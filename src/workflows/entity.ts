import {
  condition,
  continueAsNew,
  isCancellation,
  log,
  setHandler,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';

import {
  entityStateQuery,
  objectChangedSignal,
  type EntityInput,
  type EntityState,
  type ObjectHint,
} from './messages.js';
import { failureOf } from './failures.js';

/** What one reconcile pass asks of the loop. */
export type ReconcileOutcome = { kind: 'idle' } | { kind: 'requeue'; after: string } | { kind: 'done' };

export interface ReconcileContext {
  readonly input: EntityInput;
  readonly state: EntityState;
  /** Hints received since the last pass, oldest first. */
  readonly hints: readonly ObjectHint[];
}

/** What a workflow type adds to the loop: its own handlers, a say in each hint as it arrives. */
export interface EntityHooks {
  /** Called with every hint as it arrives, before the pass that handles it (e.g. to cancel work in flight). */
  onHint?: (hint: ObjectHint) => void;
  /** Called once; `wake` queues a hint, e.g. from an operator's update. */
  install?: (wake: (hint: ObjectHint) => void) => void;
}

const RETRY_AFTER_FAILURE = '1 minute';
const MAX_PASSES_PER_RUN = 200;

/**
 * The loop of an entity workflow: one per Kubernetes object, alive as long as the object. Each pass
 * re-reads the object (level-triggered); signals only say "look again". A failed pass never fails the
 * workflow: the error is kept in the state and the pass is tried again later, or on the next change
 * when the failure is permanent.
 */
export async function runEntity(
  input: EntityInput,
  reconcile: (ctx: ReconcileContext) => Promise<ReconcileOutcome>,
  hooks: EntityHooks = {}
): Promise<void> {
  const state: EntityState = { phase: 'starting', reconciles: 0, handledGeneration: input.handledGeneration };
  let hints: ObjectHint[] = [{ cause: 'start' }];
  setHandler(objectChangedSignal, (hint) => {
    if (isStale(hint, state)) return;
    hooks.onHint?.(hint);
    hints.push(hint);
  });
  setHandler(entityStateQuery, () => state);
  hooks.install?.((hint) => hints.push(hint));

  let wakeAfter: string | undefined;
  for (let pass = 0; ; pass++) {
    if (wakeAfter === undefined) await condition(() => hints.length > 0);
    else await condition(() => hints.length > 0, wakeAfter);
    const ctx: ReconcileContext = {
      input: { ...input, handledGeneration: state.handledGeneration },
      state,
      hints,
    };
    hints = [];
    const outcome = await reconcileSafely(ctx, reconcile);
    state.reconciles++;
    if (outcome.kind === 'done') {
      state.phase = 'done';
      return;
    }
    wakeAfter = outcome.kind === 'requeue' ? outcome.after : undefined;
    if (hints.length === 0 && (workflowInfo().continueAsNewSuggested || pass >= MAX_PASSES_PER_RUN)) {
      await condition(allHandlersFinished);
      await continueAsNew<(input: EntityInput) => Promise<void>>({
        ...input,
        handledGeneration: state.handledGeneration,
      });
    }
  }
}

function isStale(hint: ObjectHint, state: EntityState): boolean {
  if (hint.deleting || hint.gone || hint.cause) return false;
  return (
    hint.generation !== undefined &&
    state.handledGeneration !== undefined &&
    hint.generation < state.handledGeneration
  );
}

async function reconcileSafely(
  ctx: ReconcileContext,
  reconcile: (ctx: ReconcileContext) => Promise<ReconcileOutcome>
): Promise<ReconcileOutcome> {
  // Cleared first, so a pass that ends by reporting an error it handled itself keeps it visible.
  delete ctx.state.lastError;
  try {
    return await reconcile(ctx);
  } catch (err) {
    if (isCancellation(err)) throw err;
    const { message, retryable } = failureOf(err);
    const permanent = !retryable;
    ctx.state.phase = 'failed';
    ctx.state.lastError = message;
    log.warn('reconcile failed', { step: ctx.state.step, error: message, permanent });
    // A permanent failure waits for the object to change; a transient one is retried on a timer.
    return permanent ? { kind: 'idle' } : { kind: 'requeue', after: RETRY_AFTER_FAILURE };
  }
}
