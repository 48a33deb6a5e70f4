// RemoteMachine decisions that need no I/O: where to connect, what the status says, what runs on
// delete, and the shell that makes each bootstrap command run at most once to completion.
import type { RemoteMachineSpec } from './api/infrastructure.js';
import { setCondition, type Condition, type ConditionInput } from './conditions.js';
import { conditionTransitionEvent, type PlannedEvent } from './events.js';
import { stableJson } from './fingerprint.js';
import type { ObjectMeta } from './snapshot.js';
import { killTreeCommand, shellQuote } from './cloud-init.js';

export const PROVIDER_ID_PREFIX = 'remote-machine://';
/** Set on a RemoteMachine by the pool that reserved a PooledRemoteMachine for it; moves with the object. */
export const POOLED_MACHINE_ANNOTATION = 'k0sflow.dev/pooled-remote-machine';
/** Where each host keeps the journal of bootstrap commands that completed, per RemoteMachine uid. */
export const JOURNAL_ROOT = '/var/lib/k0sflow/bootstrap';

/** k0smotron's providerID: `remote-machine://<address>:<port>`, the address verbatim. */
export function providerIdFor(address: string, port: number): string {
  return `${PROVIDER_ID_PREFIX}${address}:${port}`;
}

/** Everything needed to reach a host; names and public keys only, never key material. */
export interface SshTarget {
  address: string;
  port: number;
  user: string;
  useSudo: boolean;
  /** Secret in the machine's namespace whose `value` holds the private key. */
  keySecretName: string;
  /** Pinned host keys (spec.knownHosts); trust on first use when absent. */
  knownHosts?: string;
}

export type TargetResult =
  | { ok: true; target: SshTarget }
  | { ok: false; reason: 'WaitingForPooledMachine' | 'MissingFields'; message: string };

export function sshTargetOf(spec: RemoteMachineSpec): TargetResult {
  const address = spec.address?.trim() ?? '';
  const keySecretName = spec.sshKeyRef?.name ?? '';
  if (address !== '' && keySecretName !== '') {
    return {
      ok: true,
      target: {
        address,
        port: spec.port,
        user: spec.user,
        useSudo: spec.useSudo === true,
        keySecretName,
        ...(spec.knownHosts?.trim() ? { knownHosts: spec.knownHosts } : {}),
      },
    };
  }
  if (spec.pool) {
    return {
      ok: false,
      reason: 'WaitingForPooledMachine',
      message: `waiting for a free PooledRemoteMachine in pool "${spec.pool}"`,
    };
  }
  return {
    ok: false,
    reason: 'MissingFields',
    message: 'without a pool, spec.address and spec.sshKeyRef.name are required',
  };
}

/** The CAPI Machine that owns an infrastructure machine, by its owner reference. */
export function ownerMachineName(meta: Pick<ObjectMeta, 'ownerReferences'>): string | undefined {
  return meta.ownerReferences?.find(
    (o) => o.kind === 'Machine' && o.apiVersion.startsWith('cluster.x-k8s.io/')
  )?.name;
}

export type K0sRole = 'worker' | 'controller' | 'other';

/** k0smotron decides the role from the Machine's bootstrap config kind. */
export function k0sRoleOf(bootstrapConfigKind: string | undefined): K0sRole {
  if (bootstrapConfigKind === 'K0sWorkerConfig') return 'worker';
  if (bootstrapConfigKind === 'K0sControllerConfig') return 'controller';
  return 'other';
}

/**
 * The role the bootstrap commands installed (`k0s install worker|controller`), for machines whose
 * Machine names no k0s bootstrap config (bootstrap data given directly, or the config already gone).
 */
export function k0sRoleFromCommands(commands: readonly string[]): K0sRole {
  for (const command of commands) {
    const match = /\bk0s\s+install\s+(worker|controller)\b/.exec(command);
    if (match?.[1] === 'worker' || match?.[1] === 'controller') return match[1];
  }
  return 'other';
}

/** The `--kubelet-root-dir` an install command was given, so `k0s reset` wipes the same directory. */
export function kubeletRootDirOf(commands: readonly string[]): string | undefined {
  for (const command of commands) {
    if (!/\bk0s\b.*\binstall\b/.test(command)) continue;
    const match = /--kubelet-root-dir(?:=|\s+)("[^"]*"|'[^']*'|\S+)/.exec(command);
    if (match?.[1]) return match[1].replace(/^["']|["']$/g, '');
  }
  return undefined;
}

/**
 * The default cleanup: stop the k0s service and reset the node; a controller leaves etcd first.
 * Unlike k0smotron's SysV fallback, a worker never stops a `k0scontroller` service.
 */
export function defaultCleanupCommands(role: K0sRole, kubeletRootDir?: string): string[] {
  if (role === 'other') return [];
  const reset = kubeletRootDir ? `k0s reset --kubelet-root-dir ${shellQuote(kubeletRootDir)}` : 'k0s reset';
  return [...(role === 'controller' ? ['k0s etcd leave'] : []), 'k0s stop', reset];
}

export function journalDir(machineUid: string): string {
  return `${JOURNAL_ROOT}/${machineUid}`;
}

const JOURNAL_MARK = 'k0sflow-journal:';

/**
 * Wraps one bootstrap command so it runs to completion at most once per machine. A marker written
 * after a zero exit makes a later attempt (a worker killed mid-way, an operator retry) skip it; the
 * process tree of an interrupted earlier attempt is stopped before the command runs again.
 * `stepId` must change when the command does (index and a digest of its text).
 */
export function journaledCommand(opts: { dir: string; stepId: string; command: string }): string {
  const dir = shellQuote(opts.dir);
  const mark = `"$j"/${shellQuote(opts.stepId)}`;
  return [
    `j=${dir}`,
    `if [ -e ${mark}.done ]; then echo '${JOURNAL_MARK}skipped'; exit 0; fi`,
    'mkdir -p "$j"',
    WHOIS,
    `stop_attempt ${mark}.pid`,
    `whois $$ > ${mark}.pid`,
    `sh -c ${shellQuote(opts.command)}`,
    'rc=$?',
    `if [ $rc -eq 0 ]; then : > ${mark}.done; fi`,
    `rm -f ${mark}.pid`,
    'exit $rc',
  ].join('\n');
}

/**
 * Shell functions: `whois PID` prints a process's identity (pid, boot id, start time); `stop_attempt
 * FILE` kills the process tree recorded in FILE, but only if that identity still matches: after a
 * reboot or pid reuse the recorded pid may name anything, and nothing but that attempt may be killed.
 */
const WHOIS = [
  'whois() { echo "$1 $(cat /proc/sys/kernel/random/boot_id) $(cut -d" " -f22 /proc/$1/stat 2>/dev/null)"; }',
  `stop_attempt() { [ -s "$1" ] || return 0; read old rest < "$1"; if [ "$(whois "$old")" = "$old $rest" ]; then ${killTreeCommand('"$old"')}; fi; }`,
].join('\n');

/** Stops every journaled command still running for a machine (its deletion cancels provisioning). */
export function stopJournaledCommands(dir: string): string {
  return [WHOIS, `for f in ${shellQuote(dir)}/*.pid; do stop_attempt "$f"; done`, 'true'].join('\n');
}

/** Did the journal skip the command (it had completed before)? */
export function journalSkipped(stdoutTail: string): boolean {
  return stdoutTail.startsWith(`${JOURNAL_MARK}skipped`);
}

// ---------------------------------------------------------------------------------------------
// Status

/** Where the machine stands, as the workflow sees it; the status is derived from it. */
export interface MachineReadiness {
  /** The `Ready` condition's reason: `Provisioned`, or why not yet. */
  reason: string;
  message?: string;
  /** Provisioning ran to the sentinel. */
  provisioned: boolean;
  /**
   * `BootstrapExecSucceeded`: absent until provisioning first touches the host (then cleanup has
   * something to undo), False while running or failed, True once done.
   */
  bootstrap?: { status: 'True' | 'False'; reason: string; message?: string };
}

export interface RemoteMachineStatusView {
  ready?: boolean;
  initialization?: { provisioned?: boolean };
  addresses?: { type: string; address: string }[];
  hostKey?: string;
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface RemoteMachineOwnedStatus {
  ready: boolean;
  initialization: { provisioned: boolean };
  addresses?: { type: 'ExternalIP'; address: string }[];
  hostKey?: string;
  conditions: Condition[];
  observedGeneration: number;
}

export interface RemoteMachineFacts {
  generation: number;
  current: RemoteMachineStatusView | undefined;
  paused: boolean;
  readiness: MachineReadiness;
  address?: string;
  /** The key to record (trust on first use); undefined keeps the recorded one. */
  hostKey?: string;
  now: Date;
}

/**
 * The status k0sflow owns, both contracts: `ready` (v1beta1), `initialization.provisioned` (v1beta2),
 * `Ready`, `BootstrapExecSucceeded` and `Paused` conditions. Once provisioned a machine stays so (the
 * v1beta2 contract never takes it back). Fields k0sflow owned and omits are removed by server-side
 * apply, so everything still true is always restated.
 */
export function planRemoteMachineStatus(facts: RemoteMachineFacts): RemoteMachineOwnedStatus {
  const current = facts.current ?? {};
  const provisioned = facts.readiness.provisioned || current.initialization?.provisioned === true;
  const address = facts.address ?? current.addresses?.find((a) => a.type === 'ExternalIP')?.address;
  const hostKey = facts.hostKey ?? current.hostKey;
  return {
    ready: provisioned,
    initialization: { provisioned },
    ...(provisioned && address ? { addresses: [{ type: 'ExternalIP' as const, address }] } : {}),
    ...(hostKey ? { hostKey } : {}),
    conditions: machineConditions(facts),
    observedGeneration: facts.generation,
  };
}

/** `Paused` always; `Ready` and `BootstrapExecSucceeded` only while not paused. */
function machineConditions(facts: RemoteMachineFacts): Condition[] {
  const g = facts.generation;
  const paused: ConditionInput = facts.paused
    ? { type: 'Paused', status: 'True', reason: 'Paused', message: 'Reconciliation is paused' }
    : { type: 'Paused', status: 'False', reason: 'NotPaused' };
  let conditions = setCondition(facts.current?.conditions, { ...paused, observedGeneration: g }, facts.now);
  if (facts.paused) return conditions;
  const r = facts.readiness;
  const ready: ConditionInput = {
    type: 'Ready',
    status: r.reason === 'Provisioned' ? 'True' : 'False',
    reason: r.reason,
    ...(r.message ? { message: r.message } : {}),
    observedGeneration: g,
  };
  conditions = setCondition(conditions, ready, facts.now);
  if (!r.bootstrap) return conditions;
  return setCondition(
    conditions,
    { type: 'BootstrapExecSucceeded', ...r.bootstrap, observedGeneration: g },
    facts.now
  );
}

/** True when applying `owned` would change nothing (transition times aside). */
export function machineStatusUpToDate(
  current: RemoteMachineStatusView | undefined,
  owned: RemoteMachineOwnedStatus
): boolean {
  const owns = new Set(['Ready', 'BootstrapExecSucceeded', 'Paused']);
  const pick = (s: RemoteMachineStatusView): unknown => ({
    ready: s.ready ?? false,
    provisioned: s.initialization?.provisioned ?? false,
    addresses: s.addresses ?? [],
    hostKey: s.hostKey ?? null,
    conditions: (s.conditions ?? [])
      .filter((c) => owns.has(c.type))
      .map(({ type, status, reason, message, observedGeneration }) => ({
        type,
        status,
        reason,
        message: message ?? '',
        observedGeneration,
      })),
    observedGeneration: s.observedGeneration,
  });
  return stableJson(pick(current ?? {})) === stableJson(pick(owned));
}

/** Ready reasons that say "not yet", not "something is wrong": no Event for them. */
const QUIET_REASONS = new Set(['Provisioning', 'Paused']);

/**
 * The Event for a `Ready` transition: Normal when provisioned, Warning when something failed; none
 * while the machine merely waits (for a Machine, bootstrap data, a pooled machine) or is provisioning.
 */
export function machineEvent(
  before: readonly Condition[] | undefined,
  after: readonly Condition[]
): PlannedEvent | undefined {
  const event = conditionTransitionEvent(before, after, 'Ready', 'RemoteMachine is provisioned');
  if (!event || QUIET_REASONS.has(event.reason) || event.reason.startsWith('WaitingFor')) return undefined;
  return event;
}

/** Has provisioning ever touched the host? Then a delete has something to clean up. */
export function provisioningStarted(status: RemoteMachineStatusView | undefined): boolean {
  return (
    status?.initialization?.provisioned === true ||
    (status?.conditions ?? []).some((c) => c.type === 'BootstrapExecSucceeded')
  );
}
