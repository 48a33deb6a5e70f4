import { getEventListeners } from 'node:events';

import { backoffDelay, sleep } from './backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially with jitter and is capped', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const ceiling = Math.min(30_000, 500 * 2 ** attempt);
      const d = backoffDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('sleep', () => {
  it('leaves no abort listener behind when it runs out', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('ends on abort (an hour-long sleep would outlast the test timeout)', async () => {
    const controller = new AbortController();
    const pending = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(pending).resolves.toBeUndefined();
    await expect(sleep(3_600_000, controller.signal)).resolves.toBeUndefined();
  });
});
