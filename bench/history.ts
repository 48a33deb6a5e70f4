// Reading Temporal workflow histories for the benchmarks: event times, payloads, activity calls and
// workflow tasks. Times are epoch ms from the events' own timestamps (the server's clock).
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

import { errorText } from './report.js';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type LongLike = number | { toNumber(): number } | null | undefined;
export type Timestamp = { seconds?: LongLike; nanos?: number | null } | null | undefined;

/** Event ids and seconds come as Long or number depending on their size; 0 when absent. */
export const asNumber = (v: LongLike): number =>
  v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber();

export function tsMs(ts: Timestamp): number {
  return asNumber(ts?.seconds) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

/** The first payload as JSON (how the SDK's default converter writes results and marker details). */
export function payloadJson(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const data = payloads?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The history's size as the server stores it (protobuf). */
export const historyBytes = (events: HistoryEvent[]): number =>
  proto.temporal.api.history.v1.History.encode({ events }).finish().length;

export const countEvents = (events: HistoryEvent[], has: (e: HistoryEvent) => unknown): number =>
  events.filter(has).length;

/** When the workflow run started, if the history begins with its start. */
export function workflowStartedAt(events: HistoryEvent[]): number | undefined {
  const first = events[0];
  return first?.workflowExecutionStartedEventAttributes ? tsMs(first.eventTime) : undefined;
}

/** The whole history of `workflowId`; null (and a line on stderr) when it cannot be read. */
export async function fetchEvents(
  client: Client,
  workflowId: string,
  say: (msg: string) => void
): Promise<HistoryEvent[] | null> {
  try {
    return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  } catch (err) {
    say(`history of ${workflowId}: ${errorText(err)}`);
    return null;
  }
}

export async function workflowDone(client: Client, workflowId: string): Promise<boolean> {
  return (await client.workflow.getHandle(workflowId).describe()).status.name === 'COMPLETED';
}

// ---------------------------------------------------------------- activities

/** An activity of one of the asked types as it was scheduled (retries of an attempt are not new ones). */
export interface ScheduledActivity<T extends string> {
  type: T;
  at: number;
}

/** An activity that completed: scheduled, its completed attempt started (if seen) and completed. */
export interface CompletedActivity<T extends string> {
  type: T;
  scheduledAt: number;
  started: { at: number; attempt: number } | undefined;
  completedAt: number;
}

const isOneOf = <T extends string>(types: readonly T[], name: string): name is T =>
  (types as readonly string[]).includes(name);

/** The activities of `types`, in the order they were scheduled. */
export function scheduledActivities<T extends string>(
  events: HistoryEvent[],
  types: readonly T[]
): ScheduledActivity<T>[] {
  const out: ScheduledActivity<T>[] = [];
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
    if (isOneOf(types, name)) out.push({ type: name, at: tsMs(e.eventTime) });
  }
  return out;
}

/** The activities of `types` that completed, in the order they completed. */
export function completedActivities<T extends string>(
  events: HistoryEvent[],
  types: readonly T[]
): CompletedActivity<T>[] {
  const scheduled = new Map<number, { type: T; at: number }>();
  const started = new Map<number, { at: number; attempt: number }>();
  const out: CompletedActivity<T>[] = [];
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
    if (isOneOf(types, name)) scheduled.set(asNumber(e.eventId), { type: name, at: tsMs(e.eventTime) });
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.set(asNumber(e.eventId), { at: tsMs(e.eventTime), attempt: start.attempt ?? 1 });
    const done = e.activityTaskCompletedEventAttributes;
    const from = done ? scheduled.get(asNumber(done.scheduledEventId)) : undefined;
    if (!done || !from) continue;
    out.push({
      type: from.type,
      scheduledAt: from.at,
      started: started.get(asNumber(done.startedEventId)),
      completedAt: tsMs(e.eventTime),
    });
  }
  return out;
}

// ---------------------------------------------------------------- workflow tasks

/** A completed workflow task: scheduled (undefined if not in the history) → started → completed. */
export interface WorkflowTask {
  /** Its WorkflowTaskCompleted event, which the commands it sent name. */
  completedEventId: number;
  scheduledAt: number | undefined;
  startedAt: number;
  completedAt: number;
}

/** The completed workflow tasks, in order. */
export function workflowTasks(events: HistoryEvent[]): WorkflowTask[] {
  const scheduled = new Map<number, number>();
  const started = new Map<number, { at: number; scheduledAt: number | undefined }>();
  const out: WorkflowTask[] = [];
  for (const e of events) {
    const at = tsMs(e.eventTime);
    if (e.workflowTaskScheduledEventAttributes) scheduled.set(asNumber(e.eventId), at);
    const start = e.workflowTaskStartedEventAttributes;
    if (start)
      started.set(asNumber(e.eventId), { at, scheduledAt: scheduled.get(asNumber(start.scheduledEventId)) });
    const done = e.workflowTaskCompletedEventAttributes;
    const run = done ? started.get(asNumber(done.startedEventId)) : undefined;
    if (run)
      out.push({
        completedEventId: asNumber(e.eventId),
        scheduledAt: run.scheduledAt,
        startedAt: run.at,
        completedAt: at,
      });
  }
  return out;
}
