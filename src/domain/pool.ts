// Pool bookkeeping, pure: which PooledRemoteMachine each RemoteMachine of a pool holds, which
// reservations to restore, which claims to grant. The pool workflow runs it one pass at a time, so
// claims on one pool are serialized without locks.
import type { PooledMachineSpec } from './api/infrastructure.js';

export interface PooledView {
  name: string;
  reserved: boolean;
  /** status.machineRef.name; empty when free. */
  machineName: string;
}

export interface PoolMemberView {
  /** A RemoteMachine whose spec.pool names this pool. */
  name: string;
  uid: string;
  creationTimestamp: string;
  deleting: boolean;
  /** The PooledRemoteMachine it holds (POOLED_MACHINE_ANNOTATION), if any. */
  holds?: string;
}

export interface PoolPlan {
  /** Write `reserved: true, machineRef` on `pooled` for `machine` (claim or restore). */
  reserve: { pooled: string; machine: string; grant: boolean }[];
  /** Machines that hold a pooled machine the annotation of another machine already names. */
  conflicts: { machine: string; pooled: string; heldBy: string }[];
  /** Claimants left without a machine, oldest first. */
  waiting: string[];
}

/**
 * One pass over a pool. The annotation on a RemoteMachine is the record of a reservation (it moves
 * with the object); the PooledRemoteMachine status mirrors it and is restored when lost (a status
 * reset by a move). Claimants are served oldest first, each with the free machine first by name; a
 * machine whose status already names a claimant (a claim interrupted between its two writes) goes
 * back to it. A reservation naming a RemoteMachine that is not there is left alone: the move may not
 * have brought it yet, and a release frees it.
 */
export function planPool(pooled: readonly PooledView[], members: readonly PoolMemberView[]): PoolPlan {
  const byName = new Map(pooled.map((p) => [p.name, p]));
  const sorted = [...members].sort(
    (a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name)
  );
  const { holder, conflicts } = holdersOf(byName, sorted);
  const reserve: PoolPlan['reserve'] = [];
  for (const [pooledName, machine] of holder) {
    const p = byName.get(pooledName)!;
    if (!p.reserved || p.machineName !== machine) reserve.push({ pooled: pooledName, machine, grant: false });
  }
  const taken = new Set(holder.keys());
  const free = pooled
    .filter((p) => !p.reserved && !taken.has(p.name))
    .map((p) => p.name)
    .sort();
  const waiting: string[] = [];
  for (const m of sorted) {
    if (m.deleting || m.holds !== undefined) continue;
    const interrupted = pooled.find((p) => p.reserved && p.machineName === m.name && !taken.has(p.name));
    const pick = interrupted?.name ?? free.shift();
    if (pick === undefined) {
      waiting.push(m.name);
      continue;
    }
    taken.add(pick);
    reserve.push({ pooled: pick, machine: m.name, grant: true });
  }
  return { reserve, conflicts, waiting };
}

/** Who holds each pooled machine: the one its status names wins a contested machine, else the oldest. */
function holdersOf(
  byName: ReadonlyMap<string, PooledView>,
  sorted: readonly PoolMemberView[]
): { holder: Map<string, string>; conflicts: PoolPlan['conflicts'] } {
  const holder = new Map<string, string>();
  const conflicts: PoolPlan['conflicts'] = [];
  const contenders = sorted.filter((m) => m.holds !== undefined && byName.has(m.holds));
  for (const m of [
    ...contenders.filter((m) => byName.get(m.holds!)?.machineName === m.name),
    ...contenders.filter((m) => byName.get(m.holds!)?.machineName !== m.name),
  ]) {
    const taken = holder.get(m.holds!);
    if (taken === undefined) holder.set(m.holds!, m.name);
    else if (taken !== m.name) conflicts.push({ machine: m.name, pooled: m.holds!, heldBy: taken });
  }
  return { holder, conflicts };
}

/**
 * The RemoteMachine spec fields a claim copies from the pooled machine (k0smotron's list, plus
 * k0sflow's knownHosts), as a merge patch.
 */
export function pooledSpecPatch(machine: PooledMachineSpec): Record<string, unknown> {
  return {
    address: machine.address,
    port: machine.port,
    user: machine.user,
    sshKeyRef: { name: machine.sshKeyRef.name },
    useSudo: machine.useSudo ?? null,
    commandsAsScript: machine.commandsAsScript,
    workingDir: machine.workingDir,
    customCleanUpCommands: machine.customCleanUpCommands ?? null,
    knownHosts: machine.knownHosts ?? null,
  };
}
