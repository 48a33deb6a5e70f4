// Bootstrap provider benchmark: N CAPI Machines with K0sWorkerConfigs created at once against one hosted
// control plane (served by the proving ground's pod double), then token rotation passes.
//
//   npm run bench:bootstrap -- [--sizes 1,10,50]
//
// It starts a proving ground in .proving-ground/bootstrap-bench (no SSH hosts, CAPI, the pod double, no
// second cluster) and stops it at the end, also on failure. One namespace, one k0sflow process, one child
// cluster (the seed's Cluster + K0smotronControlPlane + RemoteCluster on a free node port). For each size
// it creates N Machines, each with a K0sWorkerConfig (`spec: {}`) and a PAUSED RemoteMachine (nothing is
// provisioned), and measures create → config `status.ready`, the `issueBootstrapData` activity and the
// history of each config's workflow, k0sflow's CPU, the join tokens in the child's kube-system and the
// data Secrets' size. Then it runs `k0sflow rotate-tokens` (fresh tokens: nothing to do), deletes the N
// Machines (their configs go with them) and runs it again (their tokens go). It prints a table per size
// and a summary and writes every figure to .proving-ground/bootstrap-bench/results.json. Benches print;
// they never fail on a timing (exit 1 only when the bench itself could not run). See bench/README.md.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';

import { BOOTSTRAP_GROUP } from '../src/domain/api/groups.js';
import { MANAGED_BY_LABEL, TOKEN_NAMESPACE, TOKEN_SECRET_TYPE, labelSafe } from '../src/domain/join-token.js';
import { CLUSTER_NAME_LABEL } from '../src/domain/resources.js';
import { tokenRotationWorkflowId, workflowIdFor } from '../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  readLog,
  type K0sflowProcess,
  type Kube,
} from '../test/harness/env.js';
import { controlPlaneReason, freeNodePort, secretText, seedObjects } from '../test/harness/hosted.js';
import { k0sflowCli, type Condition } from '../test/harness/machines.js';
import { CLUSTER, MACHINE, RM } from '../test/harness/resources.js';
import {
  completedActivities,
  countEvents,
  fetchEvents,
  historyBytes,
  payloadJson,
  tsMs,
  workflowDone,
  workflowStartedAt,
  workflowTasks,
  type CompletedActivity,
  type HistoryEvent,
} from './history.js';
import {
  benchDir,
  parseSizesOption,
  runBench,
  runningK0sflow,
  runSizes,
  startBenchK0sflowReady,
} from './lifecycle.js';
import {
  cpuMeter,
  IDLE_MS,
  latestMs,
  pollFirstSeen,
  pollUntil,
  processCpuSeconds,
  round,
  SETTLE_MS,
  sinceMs,
  sleep,
  summarize,
  type CpuFigures,
  type Summary,
} from './measure.js';
import { cpuText, errorText, figuresLine, num, pct, sayAs, secs, table, writeResults } from './report.js';

const { dir: DIR, results: RESULTS } = benchDir('bootstrap-bench');

const CLUSTER_NAME = 'bootstrap-bench';
const KWC = { group: BOOTSTRAP_GROUP, version: 'v1beta1', plural: 'k0sworkerconfigs' };
/** TEST-NET-1: never dialled, the RemoteMachines are paused. */
const MACHINE_ADDRESS = '192.0.2.1';
const PAUSED_ANNOTATION = 'cluster.x-k8s.io/paused';

const MAX_SIZE = 200;

/** A process's CPU seconds over a measurement (the busiest ones of the machine). */
interface ProcessCpu {
  pid: number;
  name: string;
  cpuSeconds: number;
}

/** One activity call from a history: scheduled → started (queue) → completed (run), ms. */
interface ActivityCall {
  totalMs: number;
  queueMs: number | null;
  runMs: number | null;
  attempt: number;
  /** Epoch ms. */
  scheduledAt: number;
}

interface HistoryFigures {
  events: number;
  bytes: number;
  /** Reconcile passes: `readObject` local activities (each pass starts with one). */
  passes: number;
  signals: number;
  calls: ActivityCall[];
  /**
   * Workflow tasks up to the one that scheduled the first issueBootstrapData (all, if none): how many,
   * the first one's scheduled → started (waiting for the worker), and scheduled → started and started →
   * completed, summed.
   */
  tasksToIssue: { count: number; firstWaitMs: number | null; waitMs: number; runMs: number };
  /** Epoch ms. */
  startedAt?: number;
}

interface ConfigResult {
  name: string;
  uid: string | null;
  /** From the first create of the size to the poll that saw status.ready; null if never. */
  readyAfterMs: number | null;
  reason: string;
  message?: string;
  /** create → workflow started, → first issueBootstrapData scheduled (epoch differences, ms). */
  toWorkflowStartMs: number | null;
  toIssueScheduledMs: number | null;
  /** The config workflow's history when every config was ready (+ SETTLE_MS). */
  history: HistoryFigures | null;
  /** Bytes of the data Secret's `value` (the cloud-config) and of all its data, decoded. */
  dataSecret: { name: string; valueBytes: number; dataBytes: number } | null;
  deletion: { machineGoneMs: number | null; configGoneMs: number | null; workflowCompletedMs: number | null };
  /** revokeConfigTokens calls of the config's workflow after its config was gone (ms each). */
  revokeCallsMs: number[];
}

interface TokenCount {
  /** Bootstrap token Secrets in the child's kube-system labelled as k0sflow's for this cluster. */
  ours: number;
  /** Every bootstrap token Secret in the child's kube-system. */
  all: number;
}

interface RotationRun {
  /** `k0sflow rotate-tokens` from spawn to exit (node + tsx start-up included). */
  wallMs: number;
  code: number;
  stdout: string;
  stderr: string;
  revoked: { id: string; why: string }[];
  reissued: string[];
  error: string | null;
  /** From the rotation workflow's history: update accepted → completed, and its activities in that span. */
  inWorkflow: { updateMs: number | null; activitiesMs: Record<string, number[]> } | null;
  tokensBefore: TokenCount | null;
  tokensAfter: TokenCount | null;
  cpu: CpuFigures;
}

interface SizeResult {
  machines: number;
  /** Creating the 3 × N objects (the bench's API calls). */
  createMs: number;
  ready: number;
  /** create → the last config ready; null when incomplete. */
  wallMs: number | null;
  readyMs: Summary;
  cpu: CpuFigures;
  /** The same over IDLE_MS before the creates, and the machine's busiest processes then. */
  idleCpu: CpuFigures;
  idleTop: ProcessCpu[];
  issueBootstrapData: {
    /** Scheduled → completed of each completed call, over all configs. */
    callMs: Summary;
    queueMs: Summary;
    runMs: Summary;
    /** Per config: summed, and how many calls. */
    perConfigMs: Summary;
    callsPerConfig: Summary;
    /** Calls whose completed attempt was not the first. */
    retried: number;
  };
  /** Per config, up to its first issueBootstrapData: see HistoryFigures.tasksToIssue. */
  workflowTasks: { count: Summary; firstWaitMs: Summary; waitMs: Summary; runMs: Summary };
  events: Summary;
  historyKiB: Summary;
  passes: Summary;
  tokens: { before: TokenCount | null; after: TokenCount | null; added: number | null; expected: number };
  dataSecretValueBytes: Summary;
  dataSecretDataBytes: Summary;
  rotationFresh: RotationRun;
  /** The pass while the Machines are deleting (held by their paused RemoteMachines): their tokens go. */
  rotationDeleting: RotationRun;
  deletion: {
    /** Machine deletes → every Machine carries a deletionTimestamp. */
    deletingMs: number | null;
    /** Release (RemoteMachines deleted and unpaused) → every Machine, RemoteMachine and config gone and every config workflow completed. */
    wallMs: number | null;
    machineGoneMs: Summary;
    configGoneMs: Summary;
    workflowCompletedMs: Summary;
    revokeConfigTokensMs: Summary;
    /** Our tokens in the child once everything was gone, before the next rotation pass. */
    tokensLeft: TokenCount | null;
    cpu: CpuFigures;
  };
  rotationAfterDelete: RotationRun;
  perConfig: ConfigResult[];
}

interface ClusterSetup {
  namespace: string;
  apiPort: number;
  /** Creating the three objects. */
  createMs: number;
  /** create → Available=True (1 s poll), → the Cluster's ControlPlaneInitialized, → child API answering. */
  availableMs: number | null;
  initializedMs: number | null;
  childReadyMs: number | null;
  cpu: CpuFigures;
  idleCpu: CpuFigures;
  idleTop: ProcessCpu[];
  /** `k0sflow --help`: what node + tsx start-up alone cost in a CLI run's wall time. */
  cliStartupMs: number;
}

// ---------------------------------------------------------------- small helpers

const say = sayAs('bench:bootstrap');
const machineName = (n: number, i: number): string => `bench-${n}-${String(i).padStart(3, '0')}`;

function processName(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const words = argv.map((a, i) => (i === 0 || a.startsWith('/') ? a.split('/').pop()! : a));
    const text = words.join(' ');
    return text.length > 70 ? `${text.slice(0, 67)}...` : text;
  } catch {
    return '?';
  }
}

const pids = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** Starts measuring every process's CPU; the returned function ends it and gives the `count` busiest. */
function topMeter(count = 6): () => ProcessCpu[] {
  const start = new Map(pids().map((pid) => [pid, processCpuSeconds(pid) ?? 0]));
  return () =>
    pids()
      .map((pid) => ({ pid, cpuSeconds: round((processCpuSeconds(pid) ?? 0) - (start.get(pid) ?? 0)) }))
      .filter((p) => p.cpuSeconds >= 0.1)
      .sort((a, b) => b.cpuSeconds - a.cpuSeconds)
      .slice(0, count)
      .map((p) => ({ ...p, name: processName(p.pid) }));
}

/** IDLE_MS of k0sflow's and the machine's CPU with nothing to do, and the busiest processes meanwhile. */
async function idleBaseline(
  pid: number | undefined
): Promise<{ idleCpu: CpuFigures; idleTop: ProcessCpu[] }> {
  const stopMeter = cpuMeter(pid);
  const stopTop = topMeter();
  await sleep(IDLE_MS);
  return { idleCpu: stopMeter(), idleTop: stopTop() };
}

// ---------------------------------------------------------------- workflow histories

function callOf(activity: CompletedActivity<string>): ActivityCall {
  const { scheduledAt, started: run, completedAt } = activity;
  return {
    totalMs: round(completedAt - scheduledAt),
    queueMs: run ? round(run.at - scheduledAt) : null,
    runMs: run ? round(completedAt - run.at) : null,
    attempt: run?.attempt ?? 1,
    scheduledAt,
  };
}

/** Completed calls of the activity types in `types`, by type, in order. */
function activityCalls(events: HistoryEvent[], types: readonly string[]): Map<string, ActivityCall[]> {
  const out = new Map<string, ActivityCall[]>();
  for (const activity of completedActivities(events, types))
    out.set(activity.type, [...(out.get(activity.type) ?? []), callOf(activity)]);
  return out;
}

function passesOf(events: HistoryEvent[]): number {
  let passes = 0;
  for (const e of events) {
    const details = e.markerRecordedEventAttributes?.details?.data;
    const marker = details ? (payloadJson(details) as { activity_type?: string } | undefined) : undefined;
    if (marker?.activity_type === 'readObject') passes++;
  }
  return passes;
}

/** See HistoryFigures.tasksToIssue: the tasks completed before the first event after `untilEpochMs`. */
function tasksToIssue(events: HistoryEvent[], untilEpochMs: number): HistoryFigures['tasksToIssue'] {
  const after = events.findIndex((e) => tsMs(e.eventTime) > untilEpochMs);
  const out = { count: 0, firstWaitMs: null as number | null, waitMs: 0, runMs: 0 };
  for (const task of workflowTasks(after < 0 ? events : events.slice(0, after))) {
    if (task.scheduledAt === undefined) continue;
    out.count++;
    out.firstWaitMs ??= round(task.startedAt - task.scheduledAt);
    out.waitMs = round(out.waitMs + task.startedAt - task.scheduledAt);
    out.runMs = round(out.runMs + task.completedAt - task.startedAt);
  }
  return out;
}

function historyFigures(events: HistoryEvent[]): HistoryFigures {
  const startedAt = workflowStartedAt(events);
  const calls = activityCalls(events, ['issueBootstrapData']).get('issueBootstrapData') ?? [];
  return {
    events: events.length,
    bytes: historyBytes(events),
    passes: passesOf(events),
    signals: countEvents(events, (e) => e.workflowExecutionSignaledEventAttributes),
    calls,
    tasksToIssue: tasksToIssue(events, calls[0]?.scheduledAt ?? Infinity),
    ...(startedAt !== undefined ? { startedAt } : {}),
  };
}

const configWorkflowId = (namespace: string, name: string, uid: string): string =>
  workflowIdFor({ kind: 'K0sWorkerConfig', namespace, name, uid });

/** The last rotation pass asked for by an Update: accepted → completed, and the activities in between. */
async function rotationPassFigures(client: Client, namespace: string): Promise<RotationRun['inWorkflow']> {
  const events = await fetchEvents(client, tokenRotationWorkflowId(namespace, CLUSTER_NAME), say);
  if (!events) return null;
  let from = -1;
  events.forEach((e, i) => {
    if (e.workflowExecutionUpdateAcceptedEventAttributes) from = i;
  });
  if (from < 0) return null;
  const pass = events.slice(from);
  const completed = pass.find((e) => e.workflowExecutionUpdateCompletedEventAttributes);
  const calls = activityCalls(pass, ['listRotationFacts', 'deleteJoinTokens', 'issueBootstrapData']);
  return {
    updateMs: completed ? round(tsMs(completed.eventTime) - tsMs(pass[0]!.eventTime)) : null,
    activitiesMs: Object.fromEntries([...calls].map(([type, c]) => [type, c.map((x) => x.totalMs)])),
  };
}

// ---------------------------------------------------------------- the child cluster

interface Context {
  kube: Kube;
  client: Client;
  namespace: string;
  k0sflow: K0sflowProcess;
  child: CoreV1Api;
}

interface ClusterObject {
  status?: {
    initialization?: { controlPlaneInitialized?: boolean };
    conditions?: { type?: string; status?: string }[];
  };
}

async function controlPlaneInitialized(kube: Kube, namespace: string): Promise<boolean> {
  const c = (await kube.custom.getNamespacedCustomObject({
    ...CLUSTER,
    namespace,
    name: CLUSTER_NAME,
  })) as ClusterObject;
  return (
    c.status?.initialization?.controlPlaneInitialized === true ||
    (c.status?.conditions ?? []).some((x) => x.type === 'ControlPlaneInitialized' && x.status === 'True')
  );
}

/** Admin client of the child, through the `<cluster>-kubeconfig` Secret k0sflow wrote. */
async function childCore(kube: Kube, namespace: string): Promise<CoreV1Api> {
  const text = await eventually(
    async () => {
      const value = await secretText(kube, namespace, `${CLUSTER_NAME}-kubeconfig`, 'value');
      if (!value) throw new Error(`${CLUSTER_NAME}-kubeconfig has no value yet`);
      return value;
    },
    120_000,
    1000
  );
  const config = new KubeConfig();
  config.loadFromString(text);
  const core = config.makeApiClient(CoreV1Api);
  await eventually(() => core.readNamespace({ name: TOKEN_NAMESPACE }), 60_000, 1000);
  return core;
}

/** The seed's Cluster, K0smotronControlPlane and RemoteCluster; waits until the child cluster answers. */
async function setUpCluster(
  kube: Kube,
  namespace: string,
  k0sflow: K0sflowProcess
): Promise<{ setup: Omit<ClusterSetup, 'idleCpu' | 'idleTop' | 'cliStartupMs'>; child: CoreV1Api }> {
  const apiPort = await freeNodePort(kube);
  const stopMeter = cpuMeter(k0sflow.process.pid);
  const t0 = performance.now();
  await createAll(kube, namespace, seedObjects(CLUSTER_NAME, apiPort));
  const createMs = sinceMs(t0);
  say(`cluster ${CLUSTER_NAME}: created on API port ${apiPort}; waiting for Available`);
  await controlPlaneReason(kube, namespace, CLUSTER_NAME, 'Available', 'Available', 300_000);
  const availableMs = sinceMs(t0);
  const initialized = await pollUntil(() => controlPlaneInitialized(kube, namespace), 120_000);
  const initializedMs = initialized ? sinceMs(t0) : null;
  const child = await childCore(kube, namespace);
  const childReadyMs = sinceMs(t0);
  const cpu = stopMeter();
  say(
    `cluster ${CLUSTER_NAME}: Available in ${secs(availableMs)}, ControlPlaneInitialized ` +
      `${initialized ? `in ${secs(initializedMs)}` : 'NOT SEEN'}, child API answering in ${secs(childReadyMs)}`
  );
  return { setup: { namespace, apiPort, createMs, availableMs, initializedMs, childReadyMs, cpu }, child };
}

async function countTokens(ctx: Context): Promise<TokenCount | null> {
  try {
    const list = await ctx.child.listNamespacedSecret({
      namespace: TOKEN_NAMESPACE,
      fieldSelector: `type=${TOKEN_SECRET_TYPE}`,
    });
    const ours = list.items.filter((s) => {
      const labels = s.metadata?.labels ?? {};
      return labels[MANAGED_BY_LABEL] === 'k0sflow' && labels[CLUSTER_NAME_LABEL] === labelSafe(CLUSTER_NAME);
    });
    return { ours: ours.length, all: list.items.length };
  } catch (err) {
    say(`counting tokens in the child: ${errorText(err)}`);
    return null;
  }
}

// ---------------------------------------------------------------- machines and configs

/** A worker Machine, its K0sWorkerConfig and a paused RemoteMachine, all named `name`. */
function machineObjects(name: string): KubernetesObject[] {
  return [
    { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: 'K0sWorkerConfig', metadata: { name }, spec: {} },
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteMachine',
      metadata: { name, annotations: { [PAUSED_ANNOTATION]: 'true' } },
      spec: { address: MACHINE_ADDRESS, port: 22, user: 'root', sshKeyRef: { name: 'bench-key' } },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Machine',
      metadata: { name },
      spec: {
        clusterName: CLUSTER_NAME,
        bootstrap: {
          configRef: { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: 'K0sWorkerConfig', name },
        },
        infrastructureRef: {
          apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
          kind: 'RemoteMachine',
          name,
        },
      },
    },
  ] as unknown as KubernetesObject[];
}

interface WorkerConfigObject {
  metadata: { name: string; uid: string };
  status?: { ready?: boolean; dataSecretName?: string; conditions?: Condition[] };
}

async function listNames(ctx: Context, coordinates: typeof KWC, names: Set<string>): Promise<Set<string>> {
  const list = (await ctx.kube.custom.listNamespacedCustomObject({
    ...coordinates,
    namespace: ctx.namespace,
  })) as { items: { metadata: { name: string } }[] };
  return new Set(list.items.map((o) => o.metadata.name).filter((n) => names.has(n)));
}

async function listConfigs(ctx: Context, names: Set<string>): Promise<WorkerConfigObject[]> {
  const list = (await ctx.kube.custom.listNamespacedCustomObject({ ...KWC, namespace: ctx.namespace })) as {
    items: WorkerConfigObject[];
  };
  return list.items.filter((c) => names.has(c.metadata.name));
}

interface CreatePhase {
  createMs: number;
  t0Epoch: number;
  seenAt: Map<string, number>;
  last: WorkerConfigObject[];
  cpu: CpuFigures;
  wallMs: number | null;
}

async function createAndWait(ctx: Context, names: string[]): Promise<CreatePhase> {
  const n = names.length;
  const wanted = new Set(names);
  const stopMeter = cpuMeter(ctx.k0sflow.process.pid);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  await Promise.all(names.map((name) => createAll(ctx.kube, ctx.namespace, machineObjects(name))));
  const createMs = sinceMs(t0);
  say(`${n} machines: created ${3 * n} objects in ${secs(createMs)}; waiting for the configs to be ready`);
  // When each config was first seen ready (ms after t0).
  const {
    seenAt,
    last,
    lastSeenMs: wallMs,
  } = await pollFirstSeen({
    list: () => listConfigs(ctx, wanted),
    isDone: (c) => c.status?.ready === true,
    count: n,
    t0,
    timeoutMs: 120_000 + 3_000 * n,
  });
  const cpu = stopMeter();
  say(
    `${n} machines: ${seenAt.size}/${n} configs ready` +
      (wallMs !== null ? ` in ${secs(wallMs)}` : ' (TIMED OUT)')
  );
  return { createMs, t0Epoch, seenAt, last, cpu, wallMs };
}

async function dataSecretOf(ctx: Context, name: string | undefined): Promise<ConfigResult['dataSecret']> {
  if (!name) return null;
  try {
    const secret = await ctx.kube.core.readNamespacedSecret({ namespace: ctx.namespace, name });
    const bytes = (v: string | undefined): number => (v ? Buffer.from(v, 'base64').length : 0);
    const data = secret.data ?? {};
    return {
      name,
      valueBytes: bytes(data.value),
      dataBytes: Object.values(data).reduce((a, v) => a + bytes(v), 0),
    };
  } catch (err) {
    say(`data Secret ${name}: ${errorText(err)}`);
    return null;
  }
}

function readyCondition(config: WorkerConfigObject | undefined): Pick<ConfigResult, 'reason' | 'message'> {
  const ready = config?.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return { reason: '(no Ready condition)' };
  return { reason: `${ready.status}/${ready.reason}`, ...(ready.message ? { message: ready.message } : {}) };
}

async function configHistory(ctx: Context, name: string, uid: string | null): Promise<HistoryFigures | null> {
  const events = uid ? await fetchEvents(ctx.client, configWorkflowId(ctx.namespace, name, uid), say) : null;
  return events ? historyFigures(events) : null;
}

async function configResult(
  ctx: Context,
  name: string,
  created: CreatePhase,
  config: WorkerConfigObject | undefined
): Promise<ConfigResult> {
  const uid = config?.metadata.uid ?? null;
  const history = await configHistory(ctx, name, uid);
  const since = (at: number | undefined): number | null =>
    at === undefined ? null : round(at - created.t0Epoch);
  return {
    name,
    uid,
    readyAfterMs: created.seenAt.get(name) ?? null,
    ...readyCondition(config),
    toWorkflowStartMs: since(history?.startedAt),
    toIssueScheduledMs: since(history?.calls[0]?.scheduledAt),
    history,
    dataSecret: await dataSecretOf(ctx, config?.status?.dataSecretName),
    deletion: { machineGoneMs: null, configGoneMs: null, workflowCompletedMs: null },
    revokeCallsMs: [],
  };
}

/** Histories and data Secrets of each config, once all are ready (or timed out); a few at a time. */
async function collect(ctx: Context, names: string[], created: CreatePhase): Promise<ConfigResult[]> {
  await sleep(SETTLE_MS);
  const byName = new Map(created.last.map((c) => [c.metadata.name, c]));
  const results: ConfigResult[] = [];
  for (let i = 0; i < names.length; i += 10)
    results.push(
      ...(await Promise.all(
        names.slice(i, i + 10).map((name) => configResult(ctx, name, created, byName.get(name)))
      ))
    );
  return results;
}

// ---------------------------------------------------------------- rotation passes

/** The `key: value` lines `k0sflow rotate-tokens` prints. */
function parseRotationOutput(stdout: string): Pick<RotationRun, 'revoked' | 'reissued' | 'error'> {
  const field = (key: string): string => {
    const line = stdout.split('\n').find((l) => l.startsWith(`${key}: `));
    const value = line?.slice(key.length + 2).trim() ?? '-';
    return value === '-' ? '' : value;
  };
  const revoked = [...field('revoked').matchAll(/(\S+) \(([^)]+)\)/g)].map((m) => ({
    id: m[1]!,
    why: m[2]!,
  }));
  const reissued = field('reissued')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { revoked, reissued, error: field('error') || null };
}

async function rotationPass(ctx: Context, label: string): Promise<RotationRun> {
  const tokensBefore = await countTokens(ctx);
  const stopMeter = cpuMeter(ctx.k0sflow.process.pid);
  const t0 = performance.now();
  const cli = await k0sflowCli([
    'rotate-tokens',
    `${ctx.namespace}/${CLUSTER_NAME}`,
    '--task-queue',
    ctx.namespace,
  ]);
  const wallMs = sinceMs(t0);
  const cpu = stopMeter();
  const parsed = parseRotationOutput(cli.stdout);
  const run: RotationRun = {
    wallMs,
    code: cli.code,
    stdout: cli.stdout,
    stderr: cli.stderr,
    ...parsed,
    inWorkflow: await rotationPassFigures(ctx.client, ctx.namespace),
    tokensBefore,
    tokensAfter: await countTokens(ctx),
    cpu,
  };
  say(
    `rotate-tokens (${label}): exit ${cli.code} in ${secs(wallMs)}, revoked ${run.revoked.length}, ` +
      `reissued ${run.reissued.length}${run.error ? `, error: ${run.error}` : ''}`
  );
  return run;
}

// ---------------------------------------------------------------- deletion

/** One poll of the deletion: records when each machine, config and workflow was gone; true when all are. */
async function deletionPoll(ctx: Context, results: ConfigResult[], t0: number): Promise<boolean> {
  const names = new Set(results.map((r) => r.name));
  const [machines, configs, remoteMachines] = await Promise.all([
    listNames(ctx, MACHINE, names),
    listNames(ctx, KWC, names),
    listNames(ctx, RM, names),
  ]);
  const now = sinceMs(t0);
  const gone = await Promise.all(
    results.map(async (r) => {
      const d = r.deletion;
      if (d.machineGoneMs === null && !machines.has(r.name) && !remoteMachines.has(r.name))
        d.machineGoneMs = now;
      if (d.configGoneMs === null && !configs.has(r.name)) d.configGoneMs = now;
      if (d.workflowCompletedMs === null && r.uid) {
        const done = await workflowDone(ctx.client, configWorkflowId(ctx.namespace, r.name, r.uid)).catch(
          () => false
        );
        if (done) d.workflowCompletedMs = now;
      }
      return (
        d.machineGoneMs !== null && d.configGoneMs !== null && (d.workflowCompletedMs !== null || !r.uid)
      );
    })
  );
  return gone.every(Boolean);
}

/** revokeConfigTokens calls of each completed config workflow (its config gone). */
async function revokeCalls(ctx: Context, results: ConfigResult[]): Promise<void> {
  for (const r of results) {
    if (!r.uid || r.deletion.workflowCompletedMs === null) continue;
    const events = await fetchEvents(ctx.client, configWorkflowId(ctx.namespace, r.name, r.uid), say);
    r.revokeCallsMs = (
      activityCalls(events ?? [], ['revokeConfigTokens']).get('revokeConfigTokens') ?? []
    ).map((c) => c.totalMs);
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface MachineMeta {
  metadata: { name: string; deletionTimestamp?: string };
}

/**
 * Deletes the Machines at once. Each stays, deleting, while CAPI waits for its RemoteMachine: paused, it
 * keeps k0sflow's finalizer (deletion waits while paused, by design). Resolves once every Machine carries
 * a deletionTimestamp (or is gone); returns how long that took (ms), null if not within 60 s.
 */
async function deleteMachinesHeld(ctx: Context, results: ConfigResult[]): Promise<number | null> {
  const names = new Set(results.map((r) => r.name));
  const t0 = performance.now();
  await Promise.all(
    results.map((r) =>
      ctx.kube.custom
        .deleteNamespacedCustomObject({ ...MACHINE, namespace: ctx.namespace, name: r.name })
        .catch((err: unknown) => say(`delete Machine ${r.name}: ${errorText(err)}`))
    )
  );
  const deleting = await pollUntil(async () => {
    const list = (await ctx.kube.custom.listNamespacedCustomObject({
      ...MACHINE,
      namespace: ctx.namespace,
    })) as { items: MachineMeta[] };
    return list.items.every((m) => !names.has(m.metadata.name) || m.metadata.deletionTimestamp);
  }, 60_000);
  return deleting ? sinceMs(t0) : null;
}

/**
 * Lets a held RemoteMachine go: deletes it (CAPI has already) and lifts the pause, and k0sflow removes
 * its finalizer (a deleting RemoteMachine that was never provisioned needs no cleanup). CAPI then removes
 * the Machine and deletes the config.
 */
async function releaseRemoteMachine(ctx: Context, name: string): Promise<void> {
  const target = { namespace: ctx.namespace, name };
  await ctx.kube.custom
    .deleteNamespacedCustomObject({ ...RM, ...target })
    .catch((err: unknown) => say(`delete RemoteMachine ${name}: ${errorText(err)}`));
  await ctx.kube.custom
    .patchNamespacedCustomObject(
      { ...RM, ...target, body: { metadata: { annotations: { [PAUSED_ANNOTATION]: null } } } },
      mergePatch
    )
    .catch((err: unknown) => say(`unpause RemoteMachine ${name}: ${errorText(err)}`));
}

/** Releases the RemoteMachines and waits until Machines, RemoteMachines, configs and config workflows are gone. */
async function releaseAndWait(
  ctx: Context,
  results: ConfigResult[],
  deletingMs: number | null
): Promise<SizeResult['deletion']> {
  const stopMeter = cpuMeter(ctx.k0sflow.process.pid);
  const t0 = performance.now();
  await Promise.all(results.map((r) => releaseRemoteMachine(ctx, r.name)));
  const done = await pollUntil(() => deletionPoll(ctx, results, t0), 120_000 + 2_000 * results.length, 1000);
  const cpu = stopMeter();
  const tokensLeft = await countTokens(ctx);
  await revokeCalls(ctx, results);
  const d = results.map((r) => r.deletion);
  return {
    deletingMs,
    wallMs: done
      ? latestMs(d.flatMap((x) => [x.machineGoneMs, x.configGoneMs, x.workflowCompletedMs]))
      : null,
    machineGoneMs: summarize(d.map((x) => x.machineGoneMs)),
    configGoneMs: summarize(d.map((x) => x.configGoneMs)),
    workflowCompletedMs: summarize(d.map((x) => x.workflowCompletedMs)),
    revokeConfigTokensMs: summarize(results.flatMap((r) => r.revokeCallsMs)),
    tokensLeft,
    cpu,
  };
}

// ---------------------------------------------------------------- one size

function sizeResult(
  n: number,
  idle: { idleCpu: CpuFigures; idleTop: ProcessCpu[] },
  created: CreatePhase,
  results: ConfigResult[],
  tokens: { before: TokenCount | null; after: TokenCount | null },
  rest: Pick<SizeResult, 'rotationFresh' | 'rotationDeleting' | 'deletion' | 'rotationAfterDelete'>
): SizeResult {
  const histories = results.flatMap((r) => (r.history ? [r.history] : []));
  const calls = histories.flatMap((h) => h.calls);
  const secrets = results.flatMap((r) => (r.dataSecret ? [r.dataSecret] : []));
  return {
    machines: n,
    createMs: created.createMs,
    ready: created.seenAt.size,
    wallMs: created.wallMs,
    readyMs: summarize(results.map((r) => r.readyAfterMs)),
    cpu: created.cpu,
    ...idle,
    issueBootstrapData: {
      callMs: summarize(calls.map((c) => c.totalMs)),
      queueMs: summarize(calls.map((c) => c.queueMs)),
      runMs: summarize(calls.map((c) => c.runMs)),
      perConfigMs: summarize(histories.map((h) => h.calls.reduce((a, c) => a + c.totalMs, 0))),
      callsPerConfig: summarize(histories.map((h) => h.calls.length)),
      retried: calls.filter((c) => c.attempt > 1).length,
    },
    workflowTasks: {
      count: summarize(histories.map((h) => h.tasksToIssue.count)),
      firstWaitMs: summarize(histories.map((h) => h.tasksToIssue.firstWaitMs)),
      waitMs: summarize(histories.map((h) => h.tasksToIssue.waitMs)),
      runMs: summarize(histories.map((h) => h.tasksToIssue.runMs)),
    },
    events: summarize(histories.map((h) => h.events)),
    historyKiB: summarize(histories.map((h) => h.bytes / 1024)),
    passes: summarize(histories.map((h) => h.passes)),
    tokens: {
      ...tokens,
      added: tokens.before && tokens.after ? tokens.after.ours - tokens.before.ours : null,
      expected: n,
    },
    dataSecretValueBytes: summarize(secrets.map((s) => s.valueBytes)),
    dataSecretDataBytes: summarize(secrets.map((s) => s.dataBytes)),
    ...rest,
    perConfig: results,
  };
}

async function runSize(ctx: Context, n: number): Promise<SizeResult> {
  const names = Array.from({ length: n }, (_, i) => machineName(n, i));
  const idle = await idleBaseline(ctx.k0sflow.process.pid);
  const before = await countTokens(ctx);
  const created = await createAndWait(ctx, names);
  const results = await collect(ctx, names, created);
  const after = await countTokens(ctx);
  say(`${n} machines: tokens in the child ${before?.ours ?? '?'} → ${after?.ours ?? '?'} (expected +${n})`);
  const rotationFresh = await rotationPass(ctx, `${n} fresh tokens`);
  say(`${n} machines: deleting the Machines (held by their paused RemoteMachines)`);
  const deletingMs = await deleteMachinesHeld(ctx, results);
  const rotationDeleting = await rotationPass(ctx, `${n} machines deleting`);
  say(`${n} machines: releasing the RemoteMachines`);
  const deletion = await releaseAndWait(ctx, results, deletingMs);
  say(
    `${n} machines: ${deletion.wallMs === null ? 'deletion INCOMPLETE' : `all gone in ${secs(deletion.wallMs)}`}; ` +
      `${deletion.tokensLeft?.ours ?? '?'} tokens left for the next rotation pass`
  );
  const rotationAfterDelete = await rotationPass(ctx, `${n} machines gone`);
  return sizeResult(
    n,
    idle,
    created,
    results,
    { before, after },
    { rotationFresh, rotationDeleting, deletion, rotationAfterDelete }
  );
}

// ---------------------------------------------------------------- output

const msSummary = (s: Summary, digits = 0): string =>
  `p50 ${num(s.p50, digits)}, p90 ${num(s.p90, digits)}, max ${num(s.max, digits)}`;
const secSummary = (s: Summary): string => `p50 ${secs(s.p50)}, p90 ${secs(s.p90)}, max ${secs(s.max)}`;
const topText = (top: ProcessCpu[]): string =>
  top.map((p) => `${p.name} ${num(p.cpuSeconds)} s`).join(', ') || '-';
const tokensText = (t: TokenCount | null): string => (t ? `${t.ours} (all bootstrap tokens: ${t.all})` : '?');

function historyCells(h: HistoryFigures | null): string[] {
  if (!h) return ['-', '-', '-', '-', '-'];
  return [
    `${num(h.tasksToIssue.waitMs, 0)}+${num(h.tasksToIssue.runMs, 0)}`,
    h.calls.map((c) => `${num(c.queueMs, 0)}+${num(c.runMs, 0)}`).join(' ') || '-',
    `${h.passes}`,
    `${h.events}`,
    num(h.bytes / 1024),
  ];
}

function configRow(r: ConfigResult): string[] {
  return [
    r.name,
    secs(r.readyAfterMs),
    num(r.toWorkflowStartMs, 0),
    num(r.toIssueScheduledMs, 0),
    ...historyCells(r.history),
    `${r.dataSecret?.valueBytes ?? '-'}`,
    secs(r.deletion.configGoneMs),
    secs(r.deletion.workflowCompletedMs),
    r.revokeCallsMs.map((ms) => num(ms, 0)).join(' ') || '-',
  ];
}

function rotationLines(title: string, run: RotationRun): string[] {
  const w = run.inWorkflow;
  const acts = w
    ? Object.entries(w.activitiesMs)
        .map(([type, ms]) => `${type} ${ms.map((x) => num(x, 0)).join('+')} ms`)
        .join(', ')
    : '';
  const why = new Map<string, number>();
  for (const r of run.revoked) why.set(r.why, (why.get(r.why) ?? 0) + 1);
  return [
    `  ${title}: exit ${run.code}, wall ${secs(run.wallMs)} (the pass in the workflow ${num(w?.updateMs, 0)} ms` +
      `${acts ? `: ${acts}` : ''}); ${cpuText(run.cpu)}`,
    `    revoked ${run.revoked.length}${why.size ? ` (${[...why].map(([k, v]) => `${v} ${k}`).join(', ')})` : ''}, ` +
      `reissued ${run.reissued.length}; tokens ${run.tokensBefore?.ours ?? '?'} → ${run.tokensAfter?.ours ?? '?'}` +
      `${run.error ? `; error: ${run.error}` : ''}`,
    ...`${run.stdout}${run.stderr}`
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => `    | ${l.length > 160 ? `${l.slice(0, 157)}...` : l}`),
  ];
}

function printSize(r: SizeResult): void {
  const head = ['machine', 'ready', '→wf ms', '→issue ms', 'tasks wait+run ms', 'issue queue+run ms', 'passes', 'events', 'KiB',
    'value B', 'rel→config gone', 'rel→wf done', 'revoke ms']; // prettier-ignore
  const i = r.issueBootstrapData;
  const d = r.deletion;
  const t = r.tokens;
  const lines = [
    ``,
    `── ${r.machines} machine${r.machines === 1 ? '' : 's'}`,
    `  create → config ready   ${secSummary(r.readyMs)}; ` +
      `all ${r.ready}/${r.machines} in ${secs(r.wallMs)} (creating ${3 * r.machines} objects: ${secs(r.createMs)})`,
    `    ${cpuText(r.cpu)} (${cpus().length} cores, all processes); idle for ${IDLE_MS / 1000} s before: ${cpuText(r.idleCpu)}`,
    `      busiest then: ${topText(r.idleTop)}`,
    `  issueBootstrapData      per call ${msSummary(i.callMs)} ms (queue ${msSummary(i.queueMs)}; run ${msSummary(i.runMs)}); ` +
      `calls per config ${num(i.callsPerConfig.p50, 0)}/${num(i.callsPerConfig.max, 0)}, retried ${i.retried}`,
    `  workflow tasks until issueBootstrapData: first task scheduled → started ${msSummary(r.workflowTasks.firstWaitMs)} ms; ` +
      `all (${num(r.workflowTasks.count.p50, 0)}/${num(r.workflowTasks.count.max, 0)} tasks) waiting ${msSummary(r.workflowTasks.waitMs)} ms, running ${msSummary(r.workflowTasks.runMs)} ms`,
    `  config workflow history events ${msSummary(r.events)}; KiB p50 ${num(r.historyKiB.p50)}, max ${num(r.historyKiB.max)}; ` +
      `passes p50 ${num(r.passes.p50, 0)}, max ${num(r.passes.max, 0)}`,
    `  tokens in the child's kube-system: ${tokensText(t.before)} → ${tokensText(t.after)}: ` +
      `${t.added === null ? '?' : `+${t.added}`} (expected +${t.expected}${t.added === t.expected ? ', ok' : ', MISMATCH'})`,
    `  data Secret: value (cloud-config) ${msSummary(r.dataSecretValueBytes)} bytes; all data ${msSummary(r.dataSecretDataBytes)} bytes`,
    ...rotationLines('rotate-tokens, fresh tokens', r.rotationFresh),
    `  delete ${r.machines} Machines → all deleting (held by their paused RemoteMachines) ${secs(d.deletingMs)}`,
    ...rotationLines('rotate-tokens, Machines deleting', r.rotationDeleting),
    `  release the RemoteMachines → all gone ${secs(d.wallMs)}: Machines+RemoteMachines max ${secs(d.machineGoneMs.max)}, ` +
      `configs max ${secs(d.configGoneMs.max)}, config workflows completed p50 ${secs(d.workflowCompletedMs.p50)}, max ${secs(d.workflowCompletedMs.max)}`,
    `    revokeConfigTokens in the config workflows ${msSummary(d.revokeConfigTokensMs)} ms (${d.revokeConfigTokensMs.count} calls); ` +
      `tokens left then: ${tokensText(d.tokensLeft)}; ${cpuText(d.cpu)}`,
    ...rotationLines('rotate-tokens, all gone', r.rotationAfterDelete),
    `  per config (issue queue+run: scheduled → started → completed of each issueBootstrapData call; value B: data Secret's cloud-config)`,
    ...table(head, r.perConfig.map(configRow)).map((l) => `    ${l}`),
  ];
  for (const c of r.perConfig.filter((x) => x.readyAfterMs === null))
    lines.push(`  not ready: ${c.name}: ${c.reason} ${c.message ?? ''}`);
  console.log(lines.join('\n'));
}

function printSummary(setup: ClusterSetup | undefined, results: SizeResult[], logProblems: string[]): void {
  const rows = results.map((r) => [
    String(r.machines),
    `${num(r.readyMs.p50 / 1000)} / ${num(r.readyMs.p90 / 1000)} / ${num(r.readyMs.max / 1000)}`,
    num((r.wallMs ?? NaN) / 1000),
    `${num(r.workflowTasks.waitMs.p50 / 1000)} / ${num(r.workflowTasks.waitMs.max / 1000)}`,
    `${num(r.issueBootstrapData.callMs.p50, 0)} / ${num(r.issueBootstrapData.callMs.max, 0)}`,
    `${num(r.events.p50, 0)} / ${num(r.events.max, 0)}`,
    num(r.cpu.k0sflowSeconds),
    pct(r.cpu.machineBusyPercent),
    r.tokens.added === null ? '?' : `+${r.tokens.added}`,
    num(r.dataSecretValueBytes.p50, 0),
    `${num(r.rotationFresh.wallMs / 1000)} / ${r.rotationFresh.revoked.length}`,
    `${num(r.rotationDeleting.wallMs / 1000)} / ${num(r.rotationDeleting.inWorkflow?.updateMs, 0)} / ${r.rotationDeleting.revoked.length}`,
    num((r.deletion.wallMs ?? NaN) / 1000),
    `${r.deletion.tokensLeft?.ours ?? '?'}`,
    `${num(r.rotationAfterDelete.wallMs / 1000)} / ${r.rotationAfterDelete.revoked.length}`,
  ]);
  const head = ['machines', 'ready p50 / p90 / max s', 'all ready s', 'task wait p50 / max s', 'issue p50 / max ms', 'events p50 / max',
    'k0sflow CPU s', 'busy', 'tokens', 'value B', 'rotate fresh s / revoked',
    'rotate deleting s / pass ms / revoked', 'release→gone s', 'tokens left', 'rotate gone s / revoked']; // prettier-ignore
  const lines = [``, `summary`];
  if (setup)
    lines.push(
      `  cluster: Available ${secs(setup.availableMs)}, ControlPlaneInitialized ${secs(setup.initializedMs)}, ` +
        `child API ${secs(setup.childReadyMs)} after create; ${cpuText(setup.cpu)}; ` +
        `k0sflow CLI start-up (--help) ${secs(setup.cliStartupMs)}`,
      `  idle for ${IDLE_MS / 1000} s with the child running: ${cpuText(setup.idleCpu)}; busiest: ${topText(setup.idleTop)}`
    );
  lines.push(...table(head, rows, 0).map((l) => `  ${l}`));
  lines.push(
    `  k0sflow log: ${logProblems.length} warn/error line${logProblems.length === 1 ? '' : 's'}`,
    ...logProblems.slice(0, 10).map((l) => `    ${l.length > 200 ? `${l.slice(0, 197)}...` : l}`),
    figuresLine(RESULTS)
  );
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------- main

/** warn and error lines of the k0sflow log. */
function logProblems(proc: K0sflowProcess | undefined): string[] {
  if (!proc) return [];
  try {
    return readLog(proc)
      .split('\n')
      .filter((l) => /"level":"(warn|error)"/i.test(l));
  } catch {
    return [];
  }
}

/** Namespace, k0sflow, the child cluster and a CLI start-up baseline. */
async function prepare(kube: Kube, client: Client): Promise<{ ctx: Context; setup: ClusterSetup }> {
  const namespace = await createNamespace(kube, 'bootstrap-bench');
  say(`namespace ${namespace}; starting k0sflow`);
  const k0sflow = await startBenchK0sflowReady(namespace);
  const { setup, child } = await setUpCluster(kube, namespace, k0sflow);
  const t0 = performance.now();
  await k0sflowCli(['--help']);
  const cliStartupMs = sinceMs(t0);
  // After the child's start-up: what a running hosted control plane costs the machine with nothing to do.
  const idle = await idleBaseline(k0sflow.process.pid);
  return { ctx: { kube, client, namespace, k0sflow, child }, setup: { ...setup, ...idle, cliStartupMs } };
}

async function main(): Promise<number> {
  const opts = parseSizesOption({
    bench: 'bench:bootstrap',
    description: 'N Machines with K0sWorkerConfigs created at once against one hosted control plane',
    counts: 'machine counts',
    defaults: [1, 10, 50],
    max: MAX_SIZE,
  });
  say(`starting a proving ground in ${DIR} (no SSH hosts, CAPI, the pod double)`);
  let setup: ClusterSetup | undefined;
  let logFile: string | undefined;
  let problems: string[] = [];
  await runSizes({
    dir: DIR,
    hosts: 0,
    sizes: opts.sizes,
    say,
    prepare: async ({ client }) => {
      const prepared = await prepare(managementKube(), client);
      setup = prepared.setup;
      logFile = prepared.ctx.k0sflow.logFile;
      return prepared.ctx;
    },
    runSize,
    printSize,
    beforeStop: () => {
      problems = logProblems(runningK0sflow());
    },
    write: (results, error) =>
      writeResults(
        RESULTS,
        { bench: 'bootstrap', options: opts },
        {
          cluster: setup ?? null,
          results,
          k0sflowLog: logFile ?? null,
          k0sflowLogProblems: problems,
          ...(error ? { error } : {}),
        }
      ),
    printSummary: (results) => printSummary(setup, results, problems),
  });
  return 0;
}

runBench(main, say);
