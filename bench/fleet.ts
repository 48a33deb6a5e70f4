// Fleet benchmark: RemoteMachine provisioning of 1, 10 and 50 machines on as many SSH hosts, set
// against the same bootstrap script run over plain SSH on the same hosts.
//
//   npm run bench:fleet -- [--sizes 1,10,50]
//
// It starts a proving ground in .proving-ground/fleet (max(sizes) SSH hosts, CAPI, no second cluster)
// and stops it at the end, also on failure. For each size it runs the script raw (ssh2 from this
// process), then through k0sflow, and compares: wall time, per-step overhead from each machine's
// workflow history, history length. It prints a table and writes every figure to
// .proving-ground/fleet/results.json. Benches print; they never fail on a timing (exit 1 only when the
// bench itself could not run). See bench/README.md.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

import type { Client } from '@temporalio/client';

import {
  connectSsh,
  plannedFileContent,
  requireFile,
  runCommand,
  uploadFile,
} from '../src/activities/ssh.js';
import { BOOTSTRAP_SENTINEL, parseBootstrapData, type BootstrapPlan } from '../src/domain/cloud-init.js';
import { workflowIdFor } from '../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  managementKube,
  parseManifests,
  type Kube,
} from '../test/harness/env.js';
import { CLEAN_HOST, hostRun } from '../test/harness/hosts.js';
import {
  condition,
  createBootstrapSecret,
  createKeySecret,
  machineObjects,
  workerCloudConfig,
  type RemoteMachineObject,
} from '../test/harness/machines.js';
import { CLUSTER, RM } from '../test/harness/resources.js';
import { seedManifest, withHostedControlPlanePaused } from '../test/harness/seeds.js';
import type { ProvingGroundEnv, SshHost } from '../test/proving-ground/index.js';
import {
  completedActivities,
  countEvents,
  fetchEvents,
  scheduledActivities,
  workflowStartedAt,
  type HistoryEvent,
} from './history.js';
import {
  benchDir,
  parseSizesOption,
  runBench,
  runSizes,
  startBenchK0sflow,
  stopBenchK0sflow,
} from './lifecycle.js';
import {
  busyPercent,
  cpuMeter,
  machineCpu,
  pollFirstSeen,
  pollUntil,
  round,
  SETTLE_MS,
  sleep,
  summarize,
  type CpuFigures,
  type Summary,
} from './measure.js';
import { errorText, figuresLine, num, pct, sayAs, secs, table, writeResults } from './report.js';

const { dir: DIR, results: RESULTS } = benchDir('fleet');

const STEPS = [
  'checkHost',
  'uploadBootstrapFiles',
  'runBootstrapCommands',
  'checkBootstrapSentinel',
] as const;
type Step = (typeof STEPS)[number];
/**
 * Where a machine's wall time goes, in order: create → workflow started (bridge), → first step
 * scheduled (CAPI owner reference, reads, status writes), first step → last step completed, → the
 * bench's poll sees Ready=Provisioned (setProviderID, status write, watch, poll interval).
 */
const PHASES = ['toWorkflowStart', 'toFirstStep', 'steps', 'toProvisioned'] as const;
type Phase = (typeof PHASES)[number];
const TARGET = { scaleAt: 50, scaleFactor: 1.5, medianOverheadMs: 250, eventsPerMachine: 60 } as const;

const CLUSTER_NAME = 'remote-test';
const KEY_SECRET = 'host-key';
/** Hosts cleaned, Machines and RemoteMachines created, histories fetched: this many at once. */
const CONCURRENCY = 16;
const POLL_MS = 250;

interface RawMachine {
  host: string;
  /** connect + handshake + auth, part of checkHost. */
  connectMs: number;
  steps: Record<Step, number>;
  commandsMs: number[];
  totalMs: number;
  error?: string;
}

interface FlowMachine {
  name: string;
  host: string;
  /** From the first create of the size to the poll that saw Ready=Provisioned; null if never. */
  provisionedAfterMs: number | null;
  reason: string;
  message?: string;
  /** History length of the current run, read SETTLE_MS after the last machine was provisioned. */
  events: number;
  /** Of which: signals received (the bridge's "look again"), and workflow tasks completed. */
  signals: number;
  workflowTasks: number;
  /** ActivityTaskScheduled → ActivityTaskCompleted (the completed attempt). */
  steps: Partial<Record<Step, number>>;
  /** Steps scheduled more than once (the workflow retries SSH steps itself). */
  retried: Step[];
  overheadMs: Partial<Record<Step, number>>;
  phasesMs: Partial<Record<Phase, number>>;
}

interface SizeResult {
  machines: number;
  namespace: string;
  raw: {
    wallMs: number;
    /** Busy share of all the machine's cores during the raw run. */
    machineBusyPercent: number | null;
    failures: string[];
    connectMs: Summary;
    stepsMs: Record<Step, Summary>;
    totalMs: Summary;
  };
  k0sflow: {
    /** From creating the first Machine to every RemoteMachine Ready=Provisioned; null when incomplete. */
    wallMs: number | null;
    /** Of which: creating the Machines and RemoteMachines (the bench's API calls). */
    createMs: number;
    provisioned: number;
    complete: boolean;
    stepsMs: Record<Step, Summary>;
    retriedSteps: number;
    /** Medians over machines; see PHASES. */
    phasesMs: Record<Phase, Summary>;
    /** From the first create to the last Provisioned; null where /proc is not there. */
    cpu: CpuFigures;
  };
  overheadMs: { steps: Record<Step, Summary>; overall: Summary };
  events: Summary;
  perMachine: { raw: RawMachine; k0sflow: FlowMachine }[];
}

// ---------------------------------------------------------------- small helpers

const say = sayAs('bench:fleet');

function byStep(pick: (step: Step) => number[]): Record<Step, Summary> {
  return Object.fromEntries(STEPS.map((s) => [s, summarize(pick(s))])) as Record<Step, Summary>;
}

/** Runs `task` over `items` with at most `limit` at once. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const machineName = (i: number): string => `fleet-${String(i).padStart(2, '0')}`;

function planOf(name: string): BootstrapPlan {
  const parsed = parseBootstrapData(workerCloudConfig({ machineName: name }));
  if (!parsed.ok) throw new Error(`bootstrap data of ${name}: ${parsed.error}`);
  return parsed.plan;
}

async function cleanHosts(hosts: SshHost[]): Promise<void> {
  await pool(hosts, CONCURRENCY, async (host) => {
    const result = await hostRun(host, CLEAN_HOST);
    if (result.code !== 0) throw new Error(`cleaning ${host.name}: exit ${result.code}: ${result.stderr}`);
  });
}

// ---------------------------------------------------------------- the raw run

/** The script on one host, as k0sflow's steps run it, over one connection. */
async function rawMachine(host: SshHost, plan: BootstrapPlan): Promise<RawMachine> {
  const steps = { checkHost: 0, uploadBootstrapFiles: 0, runBootstrapCommands: 0, checkBootstrapSentinel: 0 };
  const result: RawMachine = { host: host.name, connectMs: 0, steps, commandsMs: [], totalMs: 0 };
  const t0 = performance.now();
  let t = t0;
  const lap = (): number => {
    const now = performance.now();
    const ms = now - t;
    t = now;
    return round(ms);
  };
  const conn = await connectSsh({
    address: host.address,
    port: host.port,
    user: host.user,
    privateKey: readFileSync(host.privateKeyFile),
    hostKeyPolicy: { kind: 'trust-on-first-use' },
  });
  try {
    result.connectMs = round(performance.now() - t0);
    const check = await runCommand(conn, 'true');
    if (check.exitCode !== 0) throw new Error(`true: exit ${check.exitCode}`);
    steps.checkHost = lap();
    for (const file of plan.files) {
      const owner = file.owner ? { owner: file.owner } : {};
      await uploadFile(conn, {
        path: file.path,
        content: plannedFileContent(file),
        mode: file.mode,
        ...owner,
        sudo: false,
      });
    }
    steps.uploadBootstrapFiles = lap();
    for (const [i, command] of plan.commands.entries()) {
      const started = performance.now();
      const run = await runCommand(conn, command);
      if (run.exitCode !== 0) throw new Error(`runcmd[${i}]: exit ${run.exitCode}: ${run.stderrTail.trim()}`);
      result.commandsMs.push(round(performance.now() - started));
    }
    steps.runBootstrapCommands = lap();
    await requireFile(conn, BOOTSTRAP_SENTINEL, false);
    steps.checkBootstrapSentinel = lap();
  } catch (err) {
    result.error = `${host.name}: ${errorText(err)}`;
  } finally {
    conn.close();
  }
  result.totalMs = round(performance.now() - t0);
  return result;
}

async function rawRun(
  hosts: SshHost[],
  plans: BootstrapPlan[]
): Promise<{ wallMs: number; busyPercent: number | null; machines: RawMachine[] }> {
  const cpu0 = machineCpu();
  const t0 = performance.now();
  const machines = await Promise.all(
    hosts.map((host, i) =>
      rawMachine(host, plans[i]!).catch((err: unknown): RawMachine => ({
        host: host.name,
        connectMs: NaN,
        steps: {
          checkHost: NaN,
          uploadBootstrapFiles: NaN,
          runBootstrapCommands: NaN,
          checkBootstrapSentinel: NaN,
        },
        commandsMs: [],
        totalMs: NaN,
        error: `${host.name}: ${errorText(err)}`,
      }))
    )
  );
  return { wallMs: round(performance.now() - t0), busyPercent: busyPercent(cpu0, machineCpu()), machines };
}

// ---------------------------------------------------------------- k0sflow

async function waitForClusterInfrastructure(kube: Kube, namespace: string, timeoutMs: number): Promise<void> {
  const provisioned = await pollUntil(
    async () => {
      const cluster = (await kube.custom.getNamespacedCustomObject({
        ...CLUSTER,
        namespace,
        name: CLUSTER_NAME,
      })) as {
        status?: { initialization?: { infrastructureProvisioned?: boolean } };
      };
      return cluster.status?.initialization?.infrastructureProvisioned === true;
    },
    timeoutMs,
    POLL_MS
  );
  if (!provisioned)
    throw new Error(
      `Cluster ${namespace}/${CLUSTER_NAME}: infrastructure not provisioned within ${timeoutMs} ms`
    );
}

async function listMachines(kube: Kube, namespace: string): Promise<RemoteMachineObject[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ ...RM, namespace })) as {
    items: RemoteMachineObject[];
  };
  return list.items;
}

interface StepTimes {
  steps: Partial<Record<Step, number>>;
  retried: Step[];
  /** Epoch ms: workflow started, first step scheduled, last step completed. */
  startedAt?: number;
  firstScheduledAt?: number;
  lastCompletedAt?: number;
}

/** Scheduled → completed per step (the completed attempt), and the steps scheduled more than once. */
function stepTimes(events: HistoryEvent[]): StepTimes {
  const times: StepTimes = { steps: {}, retried: [] };
  const startedAt = workflowStartedAt(events);
  if (startedAt !== undefined) times.startedAt = startedAt;
  const scheduled = scheduledActivities(events, STEPS);
  if (scheduled[0]) times.firstScheduledAt = scheduled[0].at;
  for (const step of completedActivities(events, STEPS)) {
    times.lastCompletedAt = step.completedAt;
    times.steps[step.type] = round(times.lastCompletedAt - step.scheduledAt);
  }
  const count = new Map<Step, number>();
  for (const { type } of scheduled) count.set(type, (count.get(type) ?? 0) + 1);
  times.retried = [...count].filter(([, n]) => n > 1).map(([step]) => step);
  return times;
}

/** See PHASES; `t0` and `provisionedAt` are epoch ms. */
function phasesOf(
  t: StepTimes,
  t0: number,
  provisionedAt: number | undefined
): Partial<Record<Phase, number>> {
  const span = (from?: number, to?: number): number | undefined =>
    from !== undefined && to !== undefined ? round(to - from) : undefined;
  const phases: Partial<Record<Phase, number | undefined>> = {
    toWorkflowStart: span(t0, t.startedAt),
    toFirstStep: span(t.startedAt, t.firstScheduledAt),
    steps: span(t.firstScheduledAt, t.lastCompletedAt),
    toProvisioned: span(t.lastCompletedAt, provisionedAt),
  };
  return Object.fromEntries(Object.entries(phases).filter(([, v]) => v !== undefined));
}

async function flowMachines(
  client: Client,
  namespace: string,
  hosts: SshHost[],
  names: string[],
  seen: { seenAt: Map<string, number>; last: RemoteMachineObject[]; t0: number }
): Promise<FlowMachine[]> {
  const byName = new Map(seen.last.map((rm) => [rm.metadata.name, rm]));
  return pool(names, CONCURRENCY, async (name, i) => {
    const rm = byName.get(name);
    const ready = rm && condition(rm);
    const machine: FlowMachine = {
      name,
      host: hosts[i]!.name,
      provisionedAfterMs: seen.seenAt.get(name) ?? null,
      reason: ready?.reason ?? '(no Ready condition)',
      ...(ready?.message ? { message: ready.message } : {}),
      events: NaN,
      signals: NaN,
      workflowTasks: NaN,
      steps: {},
      retried: [],
      overheadMs: {},
      phasesMs: {},
    };
    if (!rm) return machine;
    const id = workflowIdFor({ kind: 'RemoteMachine', namespace, name, uid: rm.metadata.uid });
    const events = await fetchEvents(client, id, say);
    if (!events) return machine;
    machine.events = events.length;
    machine.signals = countEvents(events, (e) => e.workflowExecutionSignaledEventAttributes);
    machine.workflowTasks = countEvents(events, (e) => e.workflowTaskCompletedEventAttributes);
    const times = stepTimes(events);
    machine.steps = times.steps;
    machine.retried = times.retried;
    const after = machine.provisionedAfterMs;
    machine.phasesMs = phasesOf(times, seen.t0, after === null ? undefined : seen.t0 + after);
    return machine;
  });
}

// ---------------------------------------------------------------- one size

interface Context {
  env: ProvingGroundEnv;
  kube: Kube;
  client: Client;
}

async function setUpNamespace(ctx: Context, n: number, names: string[], hosts: SshHost[]): Promise<string> {
  const namespace = await createNamespace(ctx.kube, `fleet-${n}`);
  await createKeySecret(ctx.kube, namespace, KEY_SECRET, hosts[0]!);
  await pool(names, CONCURRENCY, (name) =>
    createBootstrapSecret(ctx.kube, namespace, `${name}-bootstrap`, workerCloudConfig({ machineName: name }))
  );
  return namespace;
}

async function k0sflowRun(
  ctx: Context,
  namespace: string,
  hosts: SshHost[],
  names: string[]
): Promise<{ wallMs: number | null; createMs: number; cpu: CpuFigures; machines: FlowMachine[] }> {
  const n = names.length;
  await createAll(
    ctx.kube,
    namespace,
    withHostedControlPlanePaused(
      parseManifests(
        seedManifest('remote-machine-provider', ['Cluster', 'K0smotronControlPlane', 'RemoteCluster'], 0)
      )
    )
  );
  const k0sflow = startBenchK0sflow(namespace);
  try {
    // k0sflow is up and the Cluster's infrastructure is ready: from here on only the machines count.
    await waitForClusterInfrastructure(ctx.kube, namespace, 180_000);
    say(`${n} machines: k0sflow up, Cluster infrastructure provisioned; creating ${2 * n} objects`);
    const stopMeter = cpuMeter(k0sflow.process.pid);
    const t0 = performance.now();
    const t0Epoch = Date.now();
    await pool(names, CONCURRENCY, (name, i) =>
      createAll(
        ctx.kube,
        namespace,
        machineObjects(name, {
          clusterName: CLUSTER_NAME,
          rmSpec: {
            address: hosts[i]!.address,
            port: hosts[i]!.port,
            user: hosts[i]!.user,
            sshKeyRef: { name: KEY_SECRET },
          },
        })
      )
    );
    const createMs = round(performance.now() - t0);
    // When each RemoteMachine was first seen Ready=Provisioned (ms after t0).
    const seen = await pollFirstSeen({
      list: () => listMachines(ctx.kube, namespace),
      isDone: (rm) => condition(rm)?.reason === 'Provisioned',
      count: n,
      t0,
      timeoutMs: 180_000 + 4_000 * n,
      everyMs: POLL_MS,
    });
    const cpu = stopMeter();
    const wallMs = seen.lastSeenMs;
    say(
      `${n} machines: ${seen.seenAt.size}/${n} provisioned` +
        (wallMs !== null ? ` in ${(wallMs / 1000).toFixed(1)} s` : ' (TIMED OUT)')
    );
    await sleep(SETTLE_MS);
    return {
      wallMs,
      createMs,
      cpu,
      machines: await flowMachines(ctx.client, namespace, hosts, names, { ...seen, t0: t0Epoch }),
    };
  } finally {
    await stopBenchK0sflow(k0sflow);
  }
}

function combine(raw: RawMachine[], flow: FlowMachine[]): void {
  for (const [i, machine] of flow.entries())
    for (const step of STEPS) {
      const k = machine.steps[step];
      const r = raw[i]?.steps[step];
      if (k !== undefined && r !== undefined && Number.isFinite(r)) machine.overheadMs[step] = round(k - r);
    }
}

async function runSize(ctx: Context, n: number): Promise<SizeResult> {
  const hosts = ctx.env.hosts.slice(0, n);
  const names = hosts.map((_, i) => machineName(i));
  const plans = names.map(planOf);
  const namespace = await setUpNamespace(ctx, n, names, hosts);
  say(`${n} machines: namespace ${namespace}; cleaning hosts, raw SSH run`);

  await cleanHosts(hosts);
  const raw = await rawRun(hosts, plans);
  const failures = raw.machines.flatMap((m) => (m.error ? [m.error] : []));
  say(`${n} machines: raw run ${(raw.wallMs / 1000).toFixed(1)} s, ${failures.length} failed`);
  for (const f of failures.slice(0, 5)) say(`  raw: ${f}`);
  await cleanHosts(hosts);

  const flow = await k0sflowRun(ctx, namespace, hosts, names);
  combine(raw.machines, flow.machines);
  const okRaw = raw.machines.filter((m) => !m.error);
  const values = (pick: (m: FlowMachine) => number | undefined): number[] =>
    flow.machines.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return {
    machines: n,
    namespace,
    raw: {
      wallMs: raw.wallMs,
      machineBusyPercent: raw.busyPercent,
      failures,
      connectMs: summarize(okRaw.map((m) => m.connectMs)),
      stepsMs: byStep((s) => okRaw.map((m) => m.steps[s])),
      totalMs: summarize(okRaw.map((m) => m.totalMs)),
    },
    k0sflow: {
      wallMs: flow.wallMs,
      createMs: flow.createMs,
      provisioned: flow.machines.filter((m) => m.provisionedAfterMs !== null).length,
      complete: flow.wallMs !== null,
      stepsMs: byStep((s) => values((m) => m.steps[s])),
      retriedSteps: flow.machines.reduce((sum, m) => sum + m.retried.length, 0),
      phasesMs: Object.fromEntries(PHASES.map((p) => [p, summarize(values((m) => m.phasesMs[p]))])) as Record<
        Phase,
        Summary
      >,
      cpu: flow.cpu,
    },
    overheadMs: {
      steps: byStep((s) => values((m) => m.overheadMs[s])),
      overall: summarize(STEPS.flatMap((s) => values((m) => m.overheadMs[s]))),
    },
    events: summarize(values((m) => m.events)),
    perMachine: flow.machines.map((m, i) => ({ raw: raw.machines[i]!, k0sflow: m })),
  };
}

// ---------------------------------------------------------------- output

const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

function printSize(r: SizeResult): void {
  const perMachine = (pick: (m: FlowMachine) => number): Summary =>
    summarize(r.perMachine.map((m) => pick(m.k0sflow)).filter(Number.isFinite));
  const o = r.overheadMs;
  const gate = (s: Summary): string =>
    Number.isFinite(s.p50) ? ` ${verdict(s.p50 <= TARGET.medianOverheadMs)}` : '';
  const rows = STEPS.map((step) => [
    step,
    num(r.raw.stepsMs[step].p50),
    num(r.k0sflow.stepsMs[step].p50),
    num(o.steps[step].p50) + gate(o.steps[step]),
    num(o.steps[step].p90),
  ]);
  rows.push(['all steps', '', '', num(o.overall.p50) + gate(o.overall), num(o.overall.p90)]);
  const k = r.k0sflow;
  const lines = [
    ``,
    `── ${r.machines} machine${r.machines === 1 ? '' : 's'} (namespace ${r.namespace})`,
    `  raw SSH, all at once           ${secs(r.raw.wallMs)} wall (connect p50 ${num(r.raw.connectMs.p50)} ms; ` +
      `machine busy ${pct(r.raw.machineBusyPercent)})` +
      (r.raw.failures.length > 0 ? `, ${r.raw.failures.length} FAILED` : ''),
    `  k0sflow, create → Provisioned  ${secs(k.wallMs)} wall (creating ${2 * r.machines} objects: ${secs(k.createMs)}; ` +
      `${k.provisioned}/${r.machines} provisioned; ${k.retriedSteps} steps retried)`,
    `    k0sflow process CPU ${k.cpu.k0sflowSeconds === null ? '-' : `${num(k.cpu.k0sflowSeconds)} s`}; ` +
      `machine busy ${pct(k.cpu.machineBusyPercent)} (${cpus().length} cores, all processes)`,
    `  per step, ms (medians over machines; overhead = k0sflow activity − raw step on the same host)`,
    ...table(['step', 'raw p50', 'k0sflow p50', 'overhead p50', 'overhead p90'], rows).map((l) => `    ${l}`),
    `  history events per machine     median ${num(r.events.p50, 0)}, max ${num(r.events.max, 0)}` +
      (r.events.count > 0
        ? ` (target ≤ ${TARGET.eventsPerMachine}: ${verdict(r.events.max <= TARGET.eventsPerMachine)})`
        : '') +
      `; of which signals p50 ${num(perMachine((m) => m.signals).p50, 0)}, ` +
      `workflow tasks p50 ${num(perMachine((m) => m.workflowTasks).p50, 0)}`,
  ];
  const ph = k.phasesMs;
  lines.push(
    `  k0sflow wall per machine, p50 ms: create → workflow start ${num(ph.toWorkflowStart.p50)}, → first step ` +
      `${num(ph.toFirstStep.p50)}, steps ${num(ph.steps.p50)}, last step → Provisioned seen ${num(ph.toProvisioned.p50)}`
  );
  const stuck = r.perMachine.filter((m) => m.k0sflow.provisionedAfterMs === null).slice(0, 5);
  for (const m of stuck)
    lines.push(`  not provisioned: ${m.k0sflow.name}: ${m.k0sflow.reason} ${m.k0sflow.message ?? ''}`);
  console.log(lines.join('\n'));
}

function printSummary(results: SizeResult[]): void {
  const one = results.find((r) => r.machines === 1);
  const ratio = (ms: number | null, base: number | null | undefined): number =>
    ms !== null && base ? ms / base : NaN;
  const rows = results.map((r) => {
    const scale = ratio(r.k0sflow.wallMs, one?.k0sflow.wallMs);
    const gated = r.machines === TARGET.scaleAt && Number.isFinite(scale);
    const o = r.overheadMs.overall;
    return [
      String(r.machines),
      num(r.raw.wallMs / 1000),
      num(ratio(r.raw.wallMs, one?.raw.wallMs), 2),
      r.k0sflow.wallMs === null ? 'INCOMPLETE' : num(r.k0sflow.wallMs / 1000),
      num(scale, 2) + (gated ? ` ${verdict(scale <= TARGET.scaleFactor)}` : ''),
      num(o.p50) + (Number.isFinite(o.p50) ? ` ${verdict(o.p50 <= TARGET.medianOverheadMs)}` : ''),
      num(o.p90),
      `${num(r.events.p50, 0)} / ${num(r.events.max, 0)}` +
        (r.events.count > 0 ? ` ${verdict(r.events.max <= TARGET.eventsPerMachine)}` : ''),
    ];
  });
  const head = [
    'machines',
    'raw wall s',
    'raw ×1',
    'k0sflow wall s',
    'k0sflow ×1',
    'overhead p50 ms',
    'overhead p90 ms',
    'events p50 / max',
  ];
  console.log(
    [
      ``,
      `summary (×1: wall time over the 1-machine wall time; overhead: all steps of all machines)`,
      ...table(head, rows, 0),
      `targets: ${TARGET.scaleAt} machines ≤ ${TARGET.scaleFactor}× one machine's k0sflow wall time; ` +
        `median overhead ≤ ${TARGET.medianOverheadMs} ms over raw SSH; ≤ ${TARGET.eventsPerMachine} history events per machine`,
      figuresLine(RESULTS),
    ].join('\n')
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const opts = parseSizesOption({
    bench: 'bench:fleet',
    description:
      'RemoteMachine provisioning of N machines on N SSH hosts, against the same script over raw SSH',
    counts: 'machine counts',
    defaults: [1, 10, 50],
    max: 200,
  });
  const hosts = Math.max(...opts.sizes);
  say(`starting a proving ground in ${DIR} with ${hosts} SSH hosts`);
  await runSizes({
    dir: DIR,
    hosts,
    sizes: opts.sizes,
    say,
    prepare: ({ env, client }): Promise<Context> => Promise.resolve({ env, kube: managementKube(), client }),
    runSize,
    printSize,
    write: (results, error) =>
      writeResults(
        RESULTS,
        { bench: 'fleet', options: opts },
        { targets: TARGET, results, ...(error ? { error } : {}) }
      ),
    printSummary,
  });
  return 0;
}

runBench(main, say);
