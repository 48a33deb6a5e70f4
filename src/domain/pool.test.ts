import { PooledMachineSpecSchema } from './api/infrastructure.js';
import { planPool, pooledSpecPatch, type PoolMemberView, type PooledView } from './pool.js';

const base = Date.parse('2026-03-01T10:00:00Z');

/** Member `name` created `offset` seconds after the base time. */
function member(name: string, offset: number, extra: Partial<PoolMemberView> = {}): PoolMemberView {
  return {
    name,
    uid: `uid-${name}`,
    creationTimestamp: new Date(base + offset * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    deleting: false,
    ...extra,
  };
}

function free(name: string): PooledView {
  return { name, reserved: false, machineName: '' };
}

function reservedFor(name: string, machineName: string): PooledView {
  return { name, reserved: true, machineName };
}

const pad = (i: number) => String(i).padStart(3, '0');

describe('planPool', () => {
  it('does nothing for an empty pool without members', () => {
    expect(planPool([], [])).toEqual({ reserve: [], conflicts: [], waiting: [] });
    expect(planPool([free('pm-a')], [])).toEqual({ reserve: [], conflicts: [], waiting: [] });
  });

  it('grants the oldest claimant first, each the free pooled machine first by name', () => {
    const plan = planPool(
      [free('pm-c'), free('pm-a'), free('pm-b')],
      // Listed out of order; names sort opposite to creation.
      [member('rm-a', 30), member('rm-z', 10), member('rm-m', 20)]
    );
    expect(plan.reserve).toEqual([
      { pooled: 'pm-a', machine: 'rm-z', grant: true },
      { pooled: 'pm-b', machine: 'rm-m', grant: true },
      { pooled: 'pm-c', machine: 'rm-a', grant: true },
    ]);
    expect(plan.conflicts).toEqual([]);
    expect(plan.waiting).toEqual([]);
  });

  it('breaks a creation-time tie by name', () => {
    const plan = planPool([free('pm-1'), free('pm-2')], [member('rm-b', 5), member('rm-a', 5)]);
    expect(plan.reserve).toEqual([
      { pooled: 'pm-1', machine: 'rm-a', grant: true },
      { pooled: 'pm-2', machine: 'rm-b', grant: true },
    ]);
  });

  it('skips pooled machines reserved by others', () => {
    const plan = planPool(
      [reservedFor('pm-a', 'rm-old'), free('pm-b')],
      [member('rm-old', 0, { holds: 'pm-a' }), member('rm-new', 10)]
    );
    expect(plan.reserve).toEqual([{ pooled: 'pm-b', machine: 'rm-new', grant: true }]);
  });

  it('never grants one pooled machine twice: 100 claimants, 100 pooled', () => {
    const pooled = Array.from({ length: 100 }, (_, i) => free(`pm-${pad(i)}`)).reverse();
    const members = Array.from({ length: 100 }, (_, i) => member(`rm-${pad(99 - i)}`, i));
    const plan = planPool(pooled, members);
    expect(plan.reserve).toHaveLength(100);
    expect(plan.reserve.every((r) => r.grant)).toBe(true);
    expect(new Set(plan.reserve.map((r) => r.pooled)).size).toBe(100);
    expect(new Set(plan.reserve.map((r) => r.machine)).size).toBe(100);
    // Oldest (rm-099, created first) gets pm-000.
    expect(plan.reserve[0]).toEqual({ pooled: 'pm-000', machine: 'rm-099', grant: true });
    expect(plan.waiting).toEqual([]);
  });

  it('100 claimants, 60 pooled: 60 distinct grants to the oldest, 40 waiting in creation order', () => {
    const pooled = Array.from({ length: 60 }, (_, i) => free(`pm-${pad(i)}`));
    // Created in order c-000 … c-099, named so that names do not sort by creation, listed shuffled.
    const created = Array.from({ length: 100 }, (_, i) => member(`rm-${pad((i * 37) % 100)}`, i));
    const shuffled = [...created].sort((a, b) => (a.uid < b.uid ? 1 : -1));
    const plan = planPool(pooled, shuffled);

    expect(plan.reserve).toHaveLength(60);
    expect(new Set(plan.reserve.map((r) => r.pooled)).size).toBe(60);
    expect(plan.reserve.map((r) => r.machine)).toEqual(created.slice(0, 60).map((m) => m.name));
    expect(plan.reserve.map((r) => r.pooled)).toEqual(pooled.map((p) => p.name));
    expect(plan.waiting).toEqual(created.slice(60).map((m) => m.name));
  });

  it('restores a reservation lost from status but named by a member, without granting it', () => {
    const plan = planPool(
      [free('pm-a'), free('pm-b')],
      [member('rm-new', 0), member('rm-holder', 10, { holds: 'pm-a' })]
    );
    expect(plan.reserve).toEqual([
      { pooled: 'pm-a', machine: 'rm-holder', grant: false },
      // The older claimant does not get pm-a, though it is first by name and its status says free.
      { pooled: 'pm-b', machine: 'rm-new', grant: true },
    ]);
    expect(plan.conflicts).toEqual([]);
  });

  it('restores a reservation whose status names another machine', () => {
    const plan = planPool([reservedFor('pm-a', 'rm-other')], [member('rm-holder', 0, { holds: 'pm-a' })]);
    expect(plan.reserve).toEqual([{ pooled: 'pm-a', machine: 'rm-holder', grant: false }]);
  });

  it('writes nothing for a reservation already recorded on both sides', () => {
    const plan = planPool([reservedFor('pm-a', 'rm-1')], [member('rm-1', 0, { holds: 'pm-a' })]);
    expect(plan).toEqual({ reserve: [], conflicts: [], waiting: [] });
  });

  it('gives an interrupted claim back to the claimant the pooled status names', () => {
    const plan = planPool(
      [free('pm-a'), reservedFor('pm-z', 'rm-young')],
      [member('rm-old', 0), member('rm-young', 10)]
    );
    expect(plan.reserve).toEqual([
      { pooled: 'pm-a', machine: 'rm-old', grant: true },
      { pooled: 'pm-z', machine: 'rm-young', grant: true },
    ]);
  });

  it('an interrupted claim does not consume a free machine', () => {
    const plan = planPool(
      [free('pm-a'), reservedFor('pm-b', 'rm-1')],
      [member('rm-1', 0), member('rm-2', 10)]
    );
    expect(plan.reserve).toEqual([
      { pooled: 'pm-b', machine: 'rm-1', grant: true },
      { pooled: 'pm-a', machine: 'rm-2', grant: true },
    ]);
    expect(plan.waiting).toEqual([]);
  });

  it('does not hand out a pooled machine reserved for a machine that is not there', () => {
    const plan = planPool([reservedFor('pm-a', 'rm-ghost')], [member('rm-1', 0)]);
    expect(plan.reserve).toEqual([]);
    expect(plan.waiting).toEqual(['rm-1']);
  });

  it('grants nothing to deleting members and does not count them as waiting', () => {
    const plan = planPool([free('pm-a')], [member('rm-gone', 0, { deleting: true }), member('rm-2', 10)]);
    expect(plan.reserve).toEqual([{ pooled: 'pm-a', machine: 'rm-2', grant: true }]);
    expect(plan.waiting).toEqual([]);
    expect(planPool([free('pm-a')], [member('rm-gone', 0, { deleting: true })])).toEqual({
      reserve: [],
      conflicts: [],
      waiting: [],
    });
  });

  it('a deleting member keeps the pooled machine it holds', () => {
    const plan = planPool(
      [free('pm-a')],
      [member('rm-gone', 0, { deleting: true, holds: 'pm-a' }), member('rm-2', 10)]
    );
    expect(plan.reserve).toEqual([{ pooled: 'pm-a', machine: 'rm-gone', grant: false }]);
    expect(plan.waiting).toEqual(['rm-2']);
  });

  it('never grants a second pooled machine to a member that holds one', () => {
    const plan = planPool(
      [reservedFor('pm-a', 'rm-1'), free('pm-b'), free('pm-c')],
      [member('rm-1', 0, { holds: 'pm-a' })]
    );
    expect(plan.reserve).toEqual([]);
    expect(plan.waiting).toEqual([]);
    // Also when the pooled machine it names is not (yet) there.
    const missing = planPool([free('pm-b')], [member('rm-1', 0, { holds: 'pm-moved' })]);
    expect(missing.reserve).toEqual([]);
  });

  it('two members holding one pooled machine: the one the status names keeps it, the other conflicts', () => {
    const plan = planPool(
      [reservedFor('pm-a', 'rm-young'), free('pm-b')],
      [member('rm-old', 0, { holds: 'pm-a' }), member('rm-young', 10, { holds: 'pm-a' })]
    );
    expect(plan.conflicts).toEqual([{ machine: 'rm-old', pooled: 'pm-a', heldBy: 'rm-young' }]);
    // Already recorded for rm-young; the conflicting member is not granted pm-b either.
    expect(plan.reserve).toEqual([]);
    expect(plan.waiting).toEqual([]);
  });

  it('two members holding one pooled machine the status does not name: the oldest keeps it', () => {
    const plan = planPool(
      [free('pm-a')],
      [member('rm-young', 10, { holds: 'pm-a' }), member('rm-old', 0, { holds: 'pm-a' })]
    );
    expect(plan.conflicts).toEqual([{ machine: 'rm-young', pooled: 'pm-a', heldBy: 'rm-old' }]);
    expect(plan.reserve).toEqual([{ pooled: 'pm-a', machine: 'rm-old', grant: false }]);
  });
});

describe('pooledSpecPatch', () => {
  it('copies every connection field', () => {
    const machine = PooledMachineSpecSchema.parse({
      address: '10.0.0.5',
      port: 2222,
      user: 'ubuntu',
      useSudo: true,
      commandsAsScript: true,
      workingDir: '/opt/k0s',
      customCleanUpCommands: ['k0s stop'],
      knownHosts: 'ssh-ed25519 AAAA',
      sshKeyRef: { name: 'node-key' },
    });
    expect(pooledSpecPatch(machine)).toEqual({
      address: '10.0.0.5',
      port: 2222,
      user: 'ubuntu',
      sshKeyRef: { name: 'node-key' },
      useSudo: true,
      commandsAsScript: true,
      workingDir: '/opt/k0s',
      customCleanUpCommands: ['k0s stop'],
      knownHosts: 'ssh-ed25519 AAAA',
    });
  });

  it('applies the defaults and nulls absent optional fields so a merge patch removes them', () => {
    const patch = pooledSpecPatch(
      PooledMachineSpecSchema.parse({ address: '10.0.0.6', sshKeyRef: { name: 'key-2' } })
    );
    expect(patch).toEqual({
      address: '10.0.0.6',
      port: 22,
      user: 'root',
      sshKeyRef: { name: 'key-2' },
      useSudo: null,
      commandsAsScript: false,
      workingDir: '/etc/k0smotron',
      customCleanUpCommands: null,
      knownHosts: null,
    });
    // JSON keeps the nulls (undefined would vanish and leave the old values in place).
    expect(JSON.parse(JSON.stringify(patch))).toEqual(patch);
  });

  it('keeps useSudo false as false', () => {
    const patch = pooledSpecPatch(
      PooledMachineSpecSchema.parse({ address: 'h', useSudo: false, sshKeyRef: { name: 'k' } })
    );
    expect(patch.useSudo).toBe(false);
  });
});
