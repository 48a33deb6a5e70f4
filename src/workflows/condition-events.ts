import type { EventInput, ObjectActivities } from '../activities/objects.js';
import type { Condition } from '../domain/conditions.js';
import { conditionTransitionEvent } from '../domain/events.js';
import type { ObjectRef } from '../domain/resources.js';

/** Records an Event for each of `types` whose condition moved between `before` and `after`. */
export async function recordConditionEvents(
  recordEvent: (input: EventInput) => Promise<void>,
  ref: ObjectRef,
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
  types: readonly string[]
): Promise<void> {
  for (const type of types) {
    const event = conditionTransitionEvent(before, after, type, `${type} changed`);
    if (event) await recordEvent({ ref, ...event });
  }
}

/**
 * Writes `next` when it differs from `current` (by `upToDate`), then records the Events of the conditions
 * in `eventTypes` that moved. Returns whether it wrote.
 */
export async function applyStatusIfChanged<S extends { conditions?: Condition[] }>(
  kube: Pick<ObjectActivities, 'applyStatus' | 'recordEvent'>,
  ref: ObjectRef,
  current: S | undefined,
  next: S,
  upToDate: (current: S | undefined, next: S) => boolean,
  eventTypes: readonly string[]
): Promise<boolean> {
  if (upToDate(current, next)) return false;
  await kube.applyStatus({ ref, status: { ...next } });
  await recordConditionEvents(kube.recordEvent, ref, current?.conditions, next.conditions ?? [], eventTypes);
  return true;
}
