import { rfc3339, setCondition, type Condition } from './conditions.js';

const find = (list: Condition[], type: string): Condition | undefined => list.find((c) => c.type === type);

describe('setCondition', () => {
  const t0 = new Date('2026-01-01T00:00:00.123Z');
  const t1 = new Date('2026-01-01T00:05:00Z');

  it('adds a condition with a whole-second transition time', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Provisioned' }, t0);
    expect(list).toEqual([
      { type: 'Ready', status: 'True', reason: 'Provisioned', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });

  it('keeps the transition time when the status stays, moves it when the status changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Waiting' }, t0);
    const same = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: 'StillWaiting', message: 'm' },
      t1
    );
    expect(find(same, 'Ready')).toMatchObject({
      reason: 'StillWaiting',
      message: 'm',
      lastTransitionTime: rfc3339(t0),
    });
    const flipped = setCondition(same, { type: 'Ready', status: 'True', reason: 'Provisioned' }, t1);
    expect(find(flipped, 'Ready')?.lastTransitionTime).toBe(rfc3339(t1));
    expect(find(flipped, 'Ready')?.message).toBeUndefined();
  });

  it('leaves other conditions and their order alone', () => {
    const list = setCondition(
      [
        { type: 'A', status: 'True', reason: 'x', lastTransitionTime: 'then' },
        { type: 'B', status: 'False', reason: 'y', lastTransitionTime: 'then' },
      ],
      { type: 'A', status: 'False', reason: 'z' },
      t1
    );
    expect(list.map((c) => c.type)).toEqual(['A', 'B']);
    expect(find(list, 'A')?.status).toBe('False');
    expect(list[1]).toEqual({ type: 'B', status: 'False', reason: 'y', lastTransitionTime: 'then' });
  });
});
