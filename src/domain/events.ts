import type { Condition } from './conditions.js';

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * The Event to record when a condition moves: on a change of status or reason only, so a workflow that
 * reconciles the same state again and again records nothing new.
 */
export function conditionTransitionEvent(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
  type: string,
  defaultMessage: string
): PlannedEvent | undefined {
  const previous = before?.find((c) => c.type === type);
  const next = after.find((c) => c.type === type);
  if (!next || (previous?.status === next.status && previous.reason === next.reason)) return undefined;
  return {
    type: next.status === 'False' ? 'Warning' : 'Normal',
    reason: next.reason,
    message: next.message ?? defaultMessage,
  };
}
