import { backoffDelay } from '../util/backoff.js';

export interface QueueItem<T> {
  value: T;
  /** When the oldest event folded into this item arrived (performance.now()). */
  since: number;
}

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
 * processed twice at once, and failures are retried with backoff. This is what keeps the bridge from
 * flooding Temporal when thousands of objects change together.
 */
export class KeyedQueue<T> {
  private readonly waiting = new Map<string, QueueItem<T>>();
  private readonly order: string[] = [];
  private readonly busy = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: KeyedQueueOptions<T>) {}

  add(key: string, value: T, since = performance.now()): void {
    if (this.closed) return;
    const pending = this.waiting.get(key);
    if (pending) {
      pending.value = this.opts.merge(pending.value, value);
      return;
    }
    this.waiting.set(key, { value, since });
    this.order.push(key);
    this.pump();
  }

  get depth(): number {
    return this.waiting.size;
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
    this.waiting.clear();
    this.order.length = 0;
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.waiting.size === 0 && this.running === 0 && this.timers.size === 0;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency) {
      const key = this.nextReadyKey();
      if (key === undefined) return;
      const item = this.waiting.get(key)!;
      this.waiting.delete(key);
      this.running++;
      this.busy.add(key);
      void this.runOne(key, item);
    }
  }

  /** The oldest key that is not being processed; a busy key waits its turn. */
  private nextReadyKey(): string | undefined {
    for (let i = 0; i < this.order.length; i++) {
      const key = this.order[i]!;
      if (!this.waiting.has(key)) {
        this.order.splice(i--, 1);
        continue;
      }
      if (this.busy.has(key)) continue;
      this.order.splice(i, 1);
      return key;
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
      this.add(key, item.value, item.since);
    }, delay);
    this.timers.add(timer);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
