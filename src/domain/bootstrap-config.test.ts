import {
  CONTROLLER_CONFIG_KIND,
  WORKER_CONFIG_KIND,
  bootstrapStatusUpToDate,
  joinRoleOf,
  planBootstrapStatus,
  planTokenRotation,
  type BootstrapOwnedStatus,
  type BootstrapStatusFacts,
  type ConfigFacts,
  type TokenFacts,
} from './bootstrap-config.js';
import type { Condition } from './conditions.js';
import { labelSafe } from './join-token.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const t1 = new Date('2030-01-01T00:05:00Z');

function plan(facts: Partial<BootstrapStatusFacts>): BootstrapOwnedStatus {
  return planBootstrapStatus({ generation: 3, current: undefined, now: t0, paused: false, ...facts });
}

function condition(status: BootstrapOwnedStatus, type: string): Partial<Condition> | undefined {
  const found = status.conditions?.find((c) => c.type === type);
  if (!found) return undefined;
  const { type: _type, lastTransitionTime: _at, ...rest } = found;
  return rest;
}

const controlPlanePending = {
  reason: 'WaitingForControlPlaneInitialization',
  message: 'Control plane is not ready yet',
};
const unreachable = { reason: 'ChildClusterUnreachable', message: 'child cluster unreachable: ECONNREFUSED' };

describe('joinRoleOf', () => {
  it('is controller for K0sControllerConfig and worker otherwise', () => {
    expect(joinRoleOf(CONTROLLER_CONFIG_KIND)).toBe('controller');
    expect(joinRoleOf(WORKER_CONFIG_KIND)).toBe('worker');
  });
});

describe('planBootstrapStatus', () => {
  it('says what it waits for, per both contracts, while no data was handed out', () => {
    const status = plan({ waiting: controlPlanePending });
    expect(status.ready).toBe(false);
    expect(status).not.toHaveProperty('dataSecretName');
    expect(status.initialization).toEqual({ dataSecretCreated: false });
    expect(status.observedGeneration).toBe(3);
    expect(condition(status, 'Paused')).toEqual({
      status: 'False',
      reason: 'NotPaused',
      observedGeneration: 3,
    });
    expect(condition(status, 'DataSecretAvailable')).toEqual({
      status: 'False',
      ...controlPlanePending,
      observedGeneration: 3,
    });
    expect(condition(status, 'Ready')).toEqual({
      status: 'False',
      ...controlPlanePending,
      observedGeneration: 3,
    });
  });

  it('is Pending with nothing to wait for and nothing handed out', () => {
    const status = plan({});
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'Pending' });
    expect(condition(status, 'DataSecretAvailable')).toMatchObject({ status: 'False', reason: 'Pending' });
  });

  it('is ready once the data Secret holds the data', () => {
    const status = plan({ dataSecretName: 'worker-0' });
    expect(status).toMatchObject({
      ready: true,
      dataSecretName: 'worker-0',
      initialization: { dataSecretCreated: true },
    });
    expect(condition(status, 'DataSecretAvailable')).toEqual({
      status: 'True',
      reason: 'Available',
      message: 'Bootstrap secret created',
      observedGeneration: 3,
    });
    expect(condition(status, 'Ready')).toEqual({ status: 'True', reason: 'Ready', observedGeneration: 3 });
  });

  it('reports a problem before any data was handed out as not ready', () => {
    const status = plan({ problem: { reason: 'InvalidSpec', message: 'bad version' } });
    expect(status.ready).toBe(false);
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: 'bad version',
    });
    expect(condition(status, 'DataSecretAvailable')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
    });
  });

  describe('readiness is sticky', () => {
    const handedOut = plan({ dataSecretName: 'worker-0' });

    it('a later pass without news keeps the data Secret', () => {
      const status = planBootstrapStatus({ generation: 3, current: handedOut, now: t1, paused: false });
      expect(status).toMatchObject({ ready: true, dataSecretName: 'worker-0' });
      expect(condition(status, 'Ready')).toMatchObject({ status: 'True' });
    });

    it('a problem afterwards (child cluster unreachable) is reported but does not take the data back', () => {
      const status = planBootstrapStatus({
        generation: 3,
        current: handedOut,
        now: t1,
        paused: false,
        problem: unreachable,
      });
      expect(status).toMatchObject({
        ready: true,
        dataSecretName: 'worker-0',
        initialization: { dataSecretCreated: true },
      });
      expect(condition(status, 'DataSecretAvailable')).toMatchObject({
        status: 'True',
        reason: 'Available',
        message: unreachable.message,
      });
      expect(condition(status, 'Ready')).toMatchObject({ status: 'False', ...unreachable });
    });

    it('a name without ready is not taken for handed out', () => {
      const current: BootstrapOwnedStatus = { ready: false, dataSecretName: 'stale' };
      const status = planBootstrapStatus({ generation: 3, current, now: t1, paused: false });
      expect(status.ready).toBe(false);
      expect(status).not.toHaveProperty('dataSecretName');
    });
  });

  describe('paused', () => {
    it('says so in Paused and, when not ready, in Ready', () => {
      const status = plan({ paused: true });
      expect(condition(status, 'Paused')).toEqual({
        status: 'True',
        reason: 'Paused',
        message: 'Reconciliation is paused',
        observedGeneration: 3,
      });
      expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'Paused' });
      expect(status.ready).toBe(false);
    });

    it('keeps data handed out before the pause ready', () => {
      const current = plan({ dataSecretName: 'worker-0' });
      const status = planBootstrapStatus({ generation: 3, current, now: t1, paused: true });
      expect(status.ready).toBe(true);
      expect(condition(status, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready' });
      expect(condition(status, 'Paused')).toMatchObject({ status: 'True' });
    });
  });

  it('moves a transition time only when the status changes', () => {
    const waiting = plan({ waiting: controlPlanePending });
    const still = planBootstrapStatus({
      generation: 3,
      current: waiting,
      now: t1,
      paused: false,
      waiting: {
        reason: 'WaitingForControlPlaneInitialization',
        message: 'Control plane endpoint is not set',
      },
    });
    const ready = planBootstrapStatus({
      generation: 3,
      current: waiting,
      now: t1,
      paused: false,
      dataSecretName: 'w',
    });
    const at = (s: BootstrapOwnedStatus, type: string) =>
      s.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    expect(at(still, 'Ready')).toBe('2030-01-01T00:00:00Z');
    expect(at(ready, 'Ready')).toBe('2030-01-01T00:05:00Z');
    expect(at(ready, 'Paused')).toBe('2030-01-01T00:00:00Z');
  });

  it('keeps conditions of other owners', () => {
    const theirs: Condition = { type: 'External', status: 'True', reason: 'Theirs', lastTransitionTime: 'x' };
    const status = plan({ current: { conditions: [theirs] } });
    expect(status.conditions?.map((c) => c.type)).toEqual([
      'External',
      'Paused',
      'DataSecretAvailable',
      'Ready',
    ]);
  });
});

describe('bootstrapStatusUpToDate', () => {
  const current = plan({ dataSecretName: 'worker-0' });

  it('is true for the same status planned again later', () => {
    const again = planBootstrapStatus({ generation: 3, current, now: t1, paused: false });
    expect(bootstrapStatusUpToDate(current, again)).toBe(true);
  });

  it('ignores transition times alone', () => {
    const moved = {
      ...current,
      conditions: current.conditions?.map((c) => ({ ...c, lastTransitionTime: '2031-01-01T00:00:00Z' })),
    };
    expect(bootstrapStatusUpToDate(current, moved)).toBe(true);
  });

  it.each<[string, (s: BootstrapOwnedStatus) => BootstrapOwnedStatus]>([
    ['ready', (s) => ({ ...s, ready: false })],
    ['dataSecretName', (s) => ({ ...s, dataSecretName: 'other' })],
    ['initialization', (s) => ({ ...s, initialization: { dataSecretCreated: false } })],
    ['observedGeneration', (s) => ({ ...s, observedGeneration: 4 })],
    ['a condition status', (s) => withReady(s, { status: 'False' })],
    ['a condition reason', (s) => withReady(s, { reason: 'Other' })],
    ['a condition message', (s) => withReady(s, { message: 'news' })],
    ['a condition generation', (s) => withReady(s, { observedGeneration: 9 })],
    ['a condition added', (s) => ({ ...s, conditions: [...(s.conditions ?? []), s.conditions![0]!] })],
  ])('sees a change of %s', (_, change) => {
    expect(bootstrapStatusUpToDate(current, change(current))).toBe(false);
  });

  it('takes a missing status for an empty one, and an empty one as different from a planned one', () => {
    expect(bootstrapStatusUpToDate(undefined, {})).toBe(true);
    expect(bootstrapStatusUpToDate(undefined, plan({}))).toBe(false);
  });
});

function withReady(s: BootstrapOwnedStatus, change: Partial<Condition>): BootstrapOwnedStatus {
  return { ...s, conditions: s.conditions?.map((c) => (c.type === 'Ready' ? { ...c, ...change } : c)) };
}

// ---------------------------------------------------------------------------------------------------------

describe('planTokenRotation', () => {
  const now = Date.parse('2030-01-01T12:00:00Z');
  const TTL = 3600;
  const min = 60_000;
  const at = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const token = (
    id: string,
    configName: string,
    expiresInMin: number,
    extra: Partial<TokenFacts> = {}
  ): TokenFacts => ({
    id,
    expiration: at(now + expiresInMin * min),
    ttlSeconds: TTL,
    configKind: WORKER_CONFIG_KIND,
    configName,
    ...extra,
  });
  const config = (name: string, extra: Partial<ConfigFacts> = {}): ConfigFacts => ({
    kind: WORKER_CONFIG_KIND,
    name,
    uid: `uid-${name}`,
    ready: true,
    machinePresent: true,
    joined: false,
    usesToken: true,
    ...extra,
  });

  it('keeps a fresh token of a waiting machine and looks again when it nears its end', () => {
    const result = planTokenRotation([token('aaaaaa', 'w0', 50)], [config('w0')], now, TTL);
    expect(result).toEqual({ revoke: [], reissue: [], nextCheckAt: now + 35 * min });
  });

  it.each<[string, TokenFacts, ConfigFacts[], string]>([
    ['expired', token('aaaaaa', 'w0', -1), [config('w0')], 'expired'],
    ['expiring this very moment', token('aaaaaa', 'w0', 0), [config('w0')], 'expired'],
    [
      'with an unreadable expiration',
      token('aaaaaa', 'w0', 30, { expiration: 'soon' }),
      [config('w0')],
      'expired',
    ],
    ['of a machine that joined', token('aaaaaa', 'w0', 50), [config('w0', { joined: true })], 'joined'],
    [
      'of a machine gone',
      token('aaaaaa', 'w0', 50),
      [config('w0', { machinePresent: false })],
      'machine gone',
    ],
    ['of a config gone', token('aaaaaa', 'w0', 50), [config('w1')], 'config gone'],
    [
      'naming a config of another kind',
      token('aaaaaa', 'w0', 50),
      [config('w0', { kind: CONTROLLER_CONFIG_KIND })],
      'config gone',
    ],
    ['expired and of a config gone', token('aaaaaa', 'w0', -5), [], 'expired'],
  ])('revokes a token %s', (_, t, configs, why) => {
    const result = planTokenRotation([t], configs, now, TTL);
    expect(result.revoke).toEqual([{ id: 'aaaaaa', why }]);
  });

  it('reissues when less than a quarter of the lifetime is left', () => {
    const result = planTokenRotation([token('aaaaaa', 'w0', 14)], [config('w0')], now, TTL);
    expect(result.reissue).toEqual([{ kind: WORKER_CONFIG_KIND, name: 'w0', uid: 'uid-w0' }]);
    expect(result.revoke).toEqual([]);
  });

  it('reissues at exactly a quarter left, not a minute before', () => {
    expect(planTokenRotation([token('aaaaaa', 'w0', 15)], [config('w0')], now, TTL).reissue).toHaveLength(1);
    const before = planTokenRotation([token('aaaaaa', 'w0', 16)], [config('w0')], now, TTL);
    expect(before.reissue).toEqual([]);
    expect(before.nextCheckAt).toBe(now + min);
  });

  it("judges a token by the lifetime it was issued with, else the cluster's default", () => {
    // 40 minutes left: a 2 h token is renewed at 30 minutes left, a 1 h token at 15.
    const long = planTokenRotation(
      [token('aaaaaa', 'w0', 40, { ttlSeconds: 7200 })],
      [config('w0')],
      now,
      TTL
    );
    expect(long.nextCheckAt).toBe(now + 10 * min);
    const unlabelled = planTokenRotation(
      [token('aaaaaa', 'w0', 40, { ttlSeconds: undefined })],
      [config('w0')],
      now,
      7200
    );
    expect(unlabelled.nextCheckAt).toBe(now + 10 * min);
    const byDefault = planTokenRotation(
      [token('aaaaaa', 'w0', 40, { ttlSeconds: undefined })],
      [config('w0')],
      now,
      TTL
    );
    expect(byDefault.nextCheckAt).toBe(now + 25 * min);
  });

  it('gives a waiting machine without a token (or whose only token expired) a new one', () => {
    const result = planTokenRotation([token('aaaaaa', 'w1', -1)], [config('w0'), config('w1')], now, TTL);
    expect(result.revoke).toEqual([{ id: 'aaaaaa', why: 'expired' }]);
    expect(result.reissue.map((r) => r.name)).toEqual(['w0', 'w1']);
    expect(result).not.toHaveProperty('nextCheckAt');
  });

  it.each<[string, Partial<ConfigFacts>]>([
    ['whose data was not handed out yet', { ready: false }],
    ['whose machine joined', { joined: true }],
    ['whose machine is gone', { machinePresent: false }],
  ])('leaves a config %s without a token alone', (_, facts) => {
    expect(planTokenRotation([], [config('w0', facts)], now, TTL)).toEqual({ revoke: [], reissue: [] });
  });

  it('never gives a token to a config whose data carries none (the first controller)', () => {
    const plan = planTokenRotation(
      [],
      [config('cp-0', { kind: CONTROLLER_CONFIG_KIND, usesToken: false })],
      now,
      TTL
    );
    expect(plan.reissue).toEqual([]);
    const withToken = planTokenRotation([], [config('cp-1', { kind: CONTROLLER_CONFIG_KIND })], now, TTL);
    expect(withToken.reissue).toEqual([{ kind: CONTROLLER_CONFIG_KIND, name: 'cp-1', uid: 'uid-cp-1' }]);
  });

  it("goes by a config's newest token: an older one is left to expire", () => {
    const result = planTokenRotation(
      [token('old000', 'w0', 10), token('new000', 'w0', 50)],
      [config('w0')],
      now,
      TTL
    );
    expect(result.reissue).toEqual([]);
    expect(result.revoke).toEqual([]);
    // The old token's expiry comes before the new one's renewal (35 minutes).
    expect(result.nextCheckAt).toBe(now + 10 * min);
  });

  it('looks again at the earliest expiry or renewal of all tokens kept', () => {
    const result = planTokenRotation(
      [
        token('aaaaaa', 'w0', 58),
        token('bbbbbb', 'w1', 40),
        token('cccccc', 'w2', 30),
        token('dddddd', 'w3', 5),
      ],
      [config('w0'), config('w1'), config('w2', { ready: false }), config('w3', { joined: true })],
      now,
      TTL
    );
    expect(result.revoke).toEqual([{ id: 'dddddd', why: 'joined' }]);
    // w0 renews at +43, w1 at +25, w2 (not ready: no renewal) expires at +30.
    expect(result.nextCheckAt).toBe(now + 25 * min);
    const later = planTokenRotation([token('cccccc', 'w2', 20)], [config('w2', { ready: false })], now, TTL);
    expect(later.nextCheckAt).toBe(now + 20 * min);
  });

  it('has no next check when nothing is left to expire', () => {
    const result = planTokenRotation([token('aaaaaa', 'w0', 50)], [config('w0', { joined: true })], now, TTL);
    expect(result).toEqual({ revoke: [{ id: 'aaaaaa', why: 'joined' }], reissue: [] });
  });

  it('matches long config names through their shortened label value', () => {
    const long = 'cluster-with-a-rather-long-name-md-0-5d8f7c9b4-' + 'x'.repeat(30) + '-k2j4z';
    expect(labelSafe(long)).not.toBe(long);
    const kept = planTokenRotation([token('aaaaaa', labelSafe(long), 50)], [config(long)], now, TTL);
    expect(kept.revoke).toEqual([]);
    expect(kept.nextCheckAt).toBe(now + 35 * min);
    const renewed = planTokenRotation([token('aaaaaa', labelSafe(long), 10)], [config(long)], now, TTL);
    expect(renewed.reissue).toEqual([{ kind: WORKER_CONFIG_KIND, name: long, uid: `uid-${long}` }]);
    const joined = planTokenRotation(
      [token('aaaaaa', labelSafe(long), 50)],
      [config(long, { joined: true })],
      now,
      TTL
    );
    expect(joined.revoke).toEqual([{ id: 'aaaaaa', why: 'joined' }]);
  });
});
