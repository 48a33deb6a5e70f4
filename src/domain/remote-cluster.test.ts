import { ownedStatusUpToDate, planRemoteClusterStatus } from './remote-cluster.js';

const now = new Date('2026-03-01T10:00:00Z');

describe('planRemoteClusterStatus', () => {
  it('marks the placeholder infrastructure provisioned per both contracts', () => {
    const status = planRemoteClusterStatus({ generation: 3, currentStatus: undefined, paused: false, now });
    expect(status.ready).toBe(true);
    expect(status.initialization.provisioned).toBe(true);
    expect(status.observedGeneration).toBe(3);
    expect(status.conditions).toEqual([
      {
        type: 'Paused',
        status: 'False',
        reason: 'NotPaused',
        observedGeneration: 3,
        lastTransitionTime: '2026-03-01T10:00:00Z',
      },
      {
        type: 'Ready',
        status: 'True',
        reason: 'Provisioned',
        observedGeneration: 3,
        lastTransitionTime: '2026-03-01T10:00:00Z',
      },
    ]);
  });

  it('while paused only reports Paused and changes nothing else', () => {
    const status = planRemoteClusterStatus({
      generation: 1,
      currentStatus: { ready: false },
      paused: true,
      now,
    });
    expect(status.ready).toBe(false);
    expect(status.initialization.provisioned).toBe(false);
    expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Paused=True']);
  });

  it('is a no-op the second time (stale or repeated signals patch nothing)', () => {
    const first = planRemoteClusterStatus({ generation: 1, currentStatus: undefined, paused: false, now });
    const later = new Date('2026-03-01T11:00:00Z');
    const second = planRemoteClusterStatus({
      generation: 1,
      currentStatus: first,
      paused: false,
      now: later,
    });
    expect(ownedStatusUpToDate(first, second)).toBe(true);
    expect(
      ownedStatusUpToDate(
        {
          ...first,
          conditions: [
            ...first.conditions,
            { type: 'Other', status: 'True', reason: 'x', lastTransitionTime: 'y' },
          ],
        },
        second
      )
    ).toBe(true);
    expect(ownedStatusUpToDate({ ...first, ready: false }, second)).toBe(false);
  });
});
