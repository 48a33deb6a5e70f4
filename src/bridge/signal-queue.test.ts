import { KeyedQueue } from './signal-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedQueue', () => {
  it('folds events for a waiting key and never runs one key twice at once', async () => {
    const gate = deferred();
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlightForA = 0;
    const queue = new KeyedQueue<number>({
      concurrency: 4,
      merge: (a, b) => a + b,
      process: async (key, value) => {
        if (key === 'a') maxInFlightForA = Math.max(maxInFlightForA, ++inFlight);
        calls.push(`${key}:${value}`);
        if (key === 'a' && value === 1) await gate.promise;
        if (key === 'a') inFlight--;
      },
    });
    queue.add('a', 1); // starts at once and blocks on the gate
    queue.add('a', 10); // waits: a is busy
    queue.add('a', 100); // folded into the waiting one
    queue.add('b', 5);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['a:1', 'b:5']);
    gate.resolve();
    await queue.idle();
    expect(calls).toEqual(['a:1', 'b:5', 'a:110']);
    expect(maxInFlightForA).toBe(1);
  });

  it('respects the concurrency limit', async () => {
    let running = 0;
    let peak = 0;
    const queue = new KeyedQueue<number>({
      concurrency: 3,
      merge: (_a, b) => b,
      process: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
    });
    for (let i = 0; i < 20; i++) queue.add(`k${i}`, i);
    await queue.idle();
    expect(peak).toBe(3);
  });

  it('retries a failing key with backoff and reports the error', async () => {
    let attempts = 0;
    const errors: string[] = [];
    const done: string[] = [];
    const queue = new KeyedQueue<string>({
      concurrency: 1,
      merge: (_a, b) => b,
      process: async () => {
        if (++attempts < 3) throw new Error(`boom ${attempts}`);
      },
      onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`),
      onDone: (key) => done.push(key),
    });
    queue.add('x', 'v');
    await queue.idle();
    expect(attempts).toBe(3);
    expect(errors).toEqual(['x: boom 1', 'x: boom 2']);
    expect(done).toEqual(['x']);
  });
});

describe('KeyedQueue lanes', () => {
  it('serves live changes before a resync backlog, and a live event lifts a waiting resync', async () => {
    const gate = deferred();
    const order: string[] = [];
    const queue = new KeyedQueue<string>({
      concurrency: 1,
      merge: (a, b) => `${a}+${b}`,
      process: async (key, value) => {
        order.push(`${key}=${value}`);
        if (key === 'first') await gate.promise;
      },
    });
    queue.add('first', 'x', undefined, 'resync'); // runs at once, holds the only slot
    for (let i = 0; i < 5; i++) queue.add(`r${i}`, 'list', undefined, 'resync');
    queue.add('edit', 'watch', undefined, 'live');
    queue.add('r3', 'watch', undefined, 'live'); // already waiting as resync: folded, moved up
    gate.resolve();
    await queue.idle();
    expect(order).toEqual([
      'first=x',
      'edit=watch',
      'r3=list+watch',
      'r0=list',
      'r1=list',
      'r2=list',
      'r4=list',
    ]);
  });
});
