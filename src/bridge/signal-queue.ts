import { backoffDelay } from '../util/backoff.js';

export interface QueueItem<T> {
  value: T;
  /** When the oldest event folded into this item arrived (performance.now()). */
  since: number;
}

/**
 * `live`: a change seen on a watch, which someone is waiting for. `resync`: an object seen by a
 * (re)list, signalled to catch up; these go after every live item, so a relist of thousands of
 * objects never delays a real change.
 */
export type Lane = 'live' | 'resync';

export interface KeyedQueueOptions<T> {
  concurrency: number;
  /** Folds a newer value into one still waiting for the same key. */
  merge: (older: T, newer: T) => T;
  process: (key: string, value: T) => Promise<void>;
  onDone?: (key: string, item: QueueItem<T>) => void;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

/**
 * A work queue keyed by object: events for one key are folded while they wait, a key is never
 * processed twice at once, live changes go before resyncs, and failures are retried with backoff.
 * This is what keeps the bridge from flooding Temporal when thousands of objects change together.
 * Each lane is a Map, whose insertion order is the queue order: adding, folding and taking are O(1)
 * but for skipping the few keys in flight.
 */
export class KeyedQueue<T> {
  private readonly lanes: Record<Lane, Map<string, QueueItem<T>>> = { live: new Map(), resync: new Map() };
  private readonly busy = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: KeyedQueueOptions<T>) {}

  add(key: string, value: T, since = performance.now(), lane: Lane = 'live'): void {
    if (this.closed) return;
    const live = this.lanes.live.get(key);
    const resync = this.lanes.resync.get(key);
    const pending = live ?? resync;
    if (pending) {
      pending.value = this.opts.merge(pending.value, value);
      pending.since = Math.min(pending.since, since);
      if (lane === 'live' && resync) {
        this.lanes.resync.delete(key);
        this.lanes.live.set(key, resync);
      }
      return;
    }
    this.lanes[lane].set(key, { value, since });
    this.pump();
  }

  get depth(): number {
    return this.lanes.live.size + this.lanes.resync.size;
  }

  /** Resolves once nothing waits, runs or is scheduled for retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.lanes.live.clear();
    this.lanes.resync.clear();
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.depth === 0 && this.running === 0 && this.timers.size === 0;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency) {
      const next = this.take('live') ?? this.take('resync');
      if (next === undefined) return;
      const [key, item] = next;
      this.running++;
      this.busy.add(key);
      void this.runOne(key, item);
    }
  }

  /** The oldest waiting key of a lane that is not in flight; a key in flight waits its turn. */
  private take(lane: Lane): [string, QueueItem<T>] | undefined {
    const items = this.lanes[lane];
    for (const entry of items) {
      if (this.busy.has(entry[0])) continue;
      items.delete(entry[0]);
      return entry;
    }
    return undefined;
  }

  private async runOne(key: string, item: QueueItem<T>): Promise<void> {
    try {
      await this.opts.process(key, item.value);
      this.failures.delete(key);
      this.opts.onDone?.(key, item);
    } catch (err) {
      this.retryLater(key, item, err);
    } finally {
      this.running--;
      this.busy.delete(key);
      this.pump();
      if (this.isIdle()) this.notifyIdle();
    }
  }

  private retryLater(key: string, item: QueueItem<T>, err: unknown): void {
    if (this.closed) return;
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    const delay = backoffDelay(attempt);
    this.opts.onError?.(key, err, delay);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.add(key, item.value, item.since, 'resync');
    }, delay);
    this.timers.add(timer);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
