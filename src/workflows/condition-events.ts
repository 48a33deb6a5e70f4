import type { EventInput } from '../activities/objects.js';
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
