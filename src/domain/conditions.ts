/**
 * Conditions in the metav1.Condition shape. CAPI's v1beta2 contract reads exactly this shape, and its
 * v1beta1 readers accept it too (severity is optional there), so one list serves both contracts.
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastTransitionTime: string;
  observedGeneration?: number;
  severity?: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Returns the list with `next` set. The transition time moves only when the status changes, as the
 * Kubernetes API conventions ask.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status ? previous.lastTransitionTime : rfc3339(now);
  const condition: Condition = { ...next, lastTransitionTime };
  if (condition.message === undefined) delete condition.message;
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** Kubernetes timestamps carry whole seconds. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The v1beta2 contract's `Paused` condition, as every kind reports it. */
export function pausedCondition(paused: boolean, generation: number): ConditionInput {
  return paused
    ? {
        type: 'Paused',
        status: 'True',
        reason: 'Paused',
        message: 'Reconciliation is paused',
        observedGeneration: generation,
      }
    : { type: 'Paused', status: 'False', reason: 'NotPaused', observedGeneration: generation };
}
