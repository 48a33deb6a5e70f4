// Hosted control plane benchmark: N K0smotronControlPlanes created at once, each served by the proving
// ground's pod double (a real etcd + kube-apiserver + kube-controller-manager per control plane).
//
//   npm run bench:hosted -- [--sizes 1,3]
//
// It starts a proving ground in .proving-ground/hosted-bench (no SSH hosts, CAPI, no second cluster)
// and stops it at the end, also on failure. For each size it uses a fresh namespace and one k0sflow
// process, creates N control planes (the seed's Cluster + K0smotronControlPlane + RemoteCluster,
// renamed, each on its own node port) at once and measures create → Available=True, where each
// workflow spent its time (activities, kube calls, timers; from its history), the k0sflow process's
// CPU, the pod double's memory for these control planes; then deletes them all and measures delete →
// objects gone and workflows completed. It prints a table per size and a summary and writes every
// figure to .proving-ground/hosted-bench/results.json. Benches print; they never fail on a timing
// (exit 1 only when the bench itself could not run). See bench/README.md.
import { cpus } from 'node:os';

import { AppsV1Api } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';

import { workflowIdFor } from '../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  managementKube,
  type K0sflowProcess,
  type Kube,
} from '../test/harness/env.js';
import {
  KMC,
  cpCondition,
  freeNodePort,
  seedObjects,
  type ControlPlaneObject,
} from '../test/harness/hosted.js';
import { readPodDoubleStatus, type PodDoubleStatus } from '../test/proving-ground/index.js';
import {
  asNumber,
  completedActivities,
  countEvents,
  fetchEvents,
  historyBytes,
  payloadJson,
  scheduledActivities,
  tsMs,
  workflowDone,
  workflowStartedAt,
  workflowTasks,
  type HistoryEvent,
} from './history.js';
import {
  benchDir,
  parseSizesOption,
  runBench,
  runSizes,
  startBenchK0sflowReady,
  stopBenchK0sflow,
} from './lifecycle.js';
import {
  cpuMeter,
  IDLE_MS,
  latestMs,
  pollFirstSeen,
  pollUntil,
  round,
  SETTLE_MS,
  sleep,
  summarizeMedian as summarize,
  type CpuFigures,
  type MedianSummary as Summary,
} from './measure.js';
import { cpuText, figuresLine, num, pct, sayAs, secs, table, writeResults } from './report.js';

const { dir: DIR, results: RESULTS } = benchDir('hosted-bench');

const ACTIVITIES = [
  'ensureHostedCertificates',
  'applyHostedControlPlane',
  'publishHostedEndpoint',
  'ensureHostedKubeconfig',
  'probeHostedControlPlane',
] as const;
type Activity = (typeof ACTIVITIES)[number];
const SHORT: Record<Activity, string> = {
  ensureHostedCertificates: 'certs',
  applyHostedControlPlane: 'apply',
  publishHostedEndpoint: 'publish',
  ensureHostedKubeconfig: 'kubeconfig',
  probeHostedControlPlane: 'probe',
};
const PROCESSES = ['kube-apiserver', 'kube-controller-manager', 'etcd'] as const;
type ProcessKind = (typeof PROCESSES)[number];

/** How long after the last Available the pod double's memory is read (its status is rewritten every 2 s). */
const RSS_AFTER_MS = 3_000;

/** What one workflow history says, up to the workflow task that set Available=True (all of it if none). */
interface HistoryFigures {
  reachedAvailable: boolean;
  events: number;
  bytes: number;
  /** Reconcile passes: `readObject` local activities (each pass starts with one). */
  passes: number;
  signals: number;
  /** Scheduled → completed of the completed attempts, summed per type; and how many completed. */
  activitiesMs: Partial<Record<Activity, number>>;
  /** Each completed call, in order (scheduled → completed, ms). */
  activityCalls: Partial<Record<Activity, number[]>>;
  /** Local activities (the Kubernetes reads, finalizer, status patches, events): schedule → complete, summed. */
  kubeCallsMs: number;
  /** Timers started → fired (the 3 s progress polls), summed. */
  timersMs: number;
  /** Epoch ms. */
  startedAt?: number;
  firstActivityAt?: number;
}

interface ControlPlaneResult {
  name: string;
  apiPort: number;
  /** From the first create of the size to the poll that saw Available=True; null if never. */
  availableAfterMs: number | null;
  reason: string;
  message?: string;
  history: HistoryFigures | null;
  /** create → workflow started, → first activity scheduled (epoch differences, ms). */
  toWorkflowStartMs: number | null;
  toFirstActivityMs: number | null;
  /** The pod double's pods of this control plane: creation → Ready, and RSS by process. */
  pods: { name: string; createdToReadyMs: number | null }[];
  rssMiB: Record<ProcessKind, number>;
  deletion: { objectsGoneMs: number | null; podsGoneMs: number | null; workflowCompletedMs: number | null };
}

interface SizeResult {
  controlPlanes: number;
  namespace: string;
  /** Creating the 3 × N objects (the bench's API calls). */
  createMs: number;
  available: number;
  /** create → the last Available=True; null when incomplete. */
  wallMs: number | null;
  availableMs: Summary;
  cpu: CpuFigures;
  /** The same over IDLE_MS before the creates (k0sflow started, nothing to do). */
  idleCpu: CpuFigures;
  rssMiB: Record<ProcessKind, number> & {
    total: number;
    perControlPlane: number;
    podDoubleItself: number | null;
  };
  passes: Summary;
  events: Summary;
  historyKiB: Summary;
  activitiesMs: Record<Activity, Summary>;
  /** Per call, over all control planes: the first call of each workflow, and the later ones. */
  activityCallMs: Record<Activity, { first: Summary; later: Summary }>;
  deletion: {
    /** delete → every control plane's objects (and pods) gone and every workflow completed; null if not. */
    wallMs: number | null;
    objectsGoneMs: Summary;
    podsGoneMs: Summary;
    workflowCompletedMs: Summary;
    cpu: CpuFigures;
  };
  perControlPlane: ControlPlaneResult[];
}

// ---------------------------------------------------------------- small helpers

const say = sayAs('bench:hosted');
const cpName = (i: number): string => `hcp-${String(i).padStart(2, '0')}`;

// ---------------------------------------------------------------- workflow histories

/** The workflow task that completed a command event (marker, timer, activity, search attributes). */
function commandTaskOf(e: HistoryEvent): number | undefined {
  const attrs =
    e.markerRecordedEventAttributes ??
    e.timerStartedEventAttributes ??
    e.timerCanceledEventAttributes ??
    e.activityTaskScheduledEventAttributes ??
    e.upsertWorkflowSearchAttributesEventAttributes;
  return attrs ? asNumber(attrs.workflowTaskCompletedEventId) : undefined;
}

/**
 * The history up to the pass that set Available=True: the first probe that answered ok, the workflow
 * task after it (the status patch is a local activity in it) and that task's commands.
 */
function cutAtAvailable(events: HistoryEvent[]): { events: HistoryEvent[]; reached: boolean } {
  const probes = new Set<number>();
  for (const e of events)
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'probeHostedControlPlane')
      probes.add(asNumber(e.eventId));
  const ok = events.findIndex((e) => {
    const done = e.activityTaskCompletedEventAttributes;
    return (
      !!done &&
      probes.has(asNumber(done.scheduledEventId)) &&
      (payloadJson(done.result) as { ok?: boolean })?.ok === true
    );
  });
  const task = ok < 0 ? -1 : events.findIndex((e, i) => i > ok && !!e.workflowTaskCompletedEventAttributes);
  if (task < 0) return { events, reached: false };
  const taskId = asNumber(events[task]!.eventId);
  let end = task;
  while (end + 1 < events.length && commandTaskOf(events[end + 1]!) === taskId) end++;
  return { events: events.slice(0, end + 1), reached: true };
}

/** Scheduled → completed per activity type (completed attempts), summed, and how many completed. */
function activityTimes(
  events: HistoryEvent[]
): Pick<HistoryFigures, 'activitiesMs' | 'activityCalls' | 'firstActivityAt'> {
  const out: ReturnType<typeof activityTimes> = { activitiesMs: {}, activityCalls: {} };
  const first = scheduledActivities(events, ACTIVITIES)[0];
  if (first) out.firstActivityAt = first.at;
  for (const call of completedActivities(events, ACTIVITIES)) {
    const ms = round(call.completedAt - call.scheduledAt);
    out.activitiesMs[call.type] = round((out.activitiesMs[call.type] ?? 0) + ms);
    (out.activityCalls[call.type] ??= []).push(ms);
  }
  return out;
}

interface LocalActivityMarker {
  activity_type?: string;
  complete_time?: { seconds?: number; nanos?: number };
}

/**
 * Local activities from their markers: how many `readObject` (passes, each starts with one), and the
 * time spent in them: per workflow task, task started → its last local activity completed (they run
 * one after the other inside the task; the markers' own schedule times are not usable).
 */
function localActivities(events: HistoryEvent[]): { passes: number; kubeCallsMs: number } {
  const starts = new Map(workflowTasks(events).map((t) => [t.completedEventId, t.startedAt]));
  const lastDone = new Map<number, number>();
  let passes = 0;
  for (const e of events) {
    const attrs = e.markerRecordedEventAttributes;
    const marker = attrs?.details
      ? (payloadJson(attrs.details.data) as LocalActivityMarker | undefined)
      : undefined;
    if (!attrs || !marker?.complete_time) continue;
    if (marker.activity_type === 'readObject') passes++;
    const task = asNumber(attrs.workflowTaskCompletedEventId);
    lastDone.set(task, Math.max(lastDone.get(task) ?? 0, tsMs(marker.complete_time)));
  }
  let ms = 0;
  for (const [task, done] of lastDone) ms += Math.max(0, done - (starts.get(task) ?? done));
  return { passes, kubeCallsMs: round(ms) };
}

function timersMs(events: HistoryEvent[]): number {
  const started = new Map<number, number>();
  let ms = 0;
  for (const e of events) {
    if (e.timerStartedEventAttributes) started.set(asNumber(e.eventId), tsMs(e.eventTime));
    const fired = e.timerFiredEventAttributes;
    const at = fired ? started.get(asNumber(fired.startedEventId)) : undefined;
    if (at !== undefined) ms += tsMs(e.eventTime) - at;
  }
  return round(ms);
}

function historyFigures(all: HistoryEvent[]): HistoryFigures {
  const { events, reached } = cutAtAvailable(all);
  const startedAt = workflowStartedAt(events);
  return {
    reachedAvailable: reached,
    events: events.length,
    bytes: historyBytes(events),
    signals: countEvents(events, (e) => e.workflowExecutionSignaledEventAttributes),
    ...localActivities(events),
    ...activityTimes(events),
    timersMs: timersMs(events),
    ...(startedAt !== undefined ? { startedAt } : {}),
  };
}

const workflowIdOf = (namespace: string, cp: { metadata: { name: string; uid: string } }): string =>
  workflowIdFor({ kind: 'K0smotronControlPlane', namespace, name: cp.metadata.name, uid: cp.metadata.uid });

async function readHistory(client: Client, workflowId: string): Promise<HistoryFigures | null> {
  const events = await fetchEvents(client, workflowId, say);
  return events ? historyFigures(events) : null;
}

// ---------------------------------------------------------------- the control planes

/** `count` node ports, distinct and free (with the next one, for konnectivity). */
async function freeNodePorts(kube: Kube, count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freeNodePort(kube));
  return [...ports];
}

async function listControlPlanes(kube: Kube, namespace: string): Promise<ControlPlaneObject[]> {
  const list = (await kube.custom.listNamespacedCustomObject({ ...KMC, namespace })) as {
    items: ControlPlaneObject[];
  };
  return list.items;
}

const isAvailable = (cp: ControlPlaneObject): boolean => cpCondition(cp, 'Available')?.status === 'True';

// ---------------------------------------------------------------- the pod double

/** The pod double's report once it was written at least `afterEpochMs`; the latest one after `timeoutMs`. */
async function podDoubleStatusAfter(
  afterEpochMs: number,
  timeoutMs: number
): Promise<PodDoubleStatus | null> {
  let status: PodDoubleStatus | null = null;
  await pollUntil(async () => {
    status = readPodDoubleStatus(DIR);
    return Promise.resolve(status !== null && Date.parse(status.at) >= afterEpochMs);
  }, timeoutMs);
  return status;
}

/** The pods of control plane `name` in `namespace`: `kmc-<name>-<ordinal>`, `kmc-<name>-etcd-<ordinal>`. */
function podsOf(status: PodDoubleStatus | null, namespace: string, name: string): PodDoubleStatus['pods'] {
  const pattern = new RegExp(`^kmc-${name}-(etcd-)?\\d+$`);
  return (status?.pods ?? []).filter((p) => p.namespace === namespace && pattern.test(p.name));
}

function rssByProcess(pods: PodDoubleStatus['pods']): Record<ProcessKind, number> {
  const rss: Record<ProcessKind, number> = { 'kube-apiserver': 0, 'kube-controller-manager': 0, etcd: 0 };
  for (const proc of pods.flatMap((p) => p.processes)) {
    const kind = PROCESSES.find((k) => proc.name === k || proc.name.endsWith(` ${k}`));
    if (kind) rss[kind] = round(rss[kind] + proc.rssMiB);
  }
  return rss;
}

// ---------------------------------------------------------------- one size

interface Context {
  kube: Kube;
  apps: AppsV1Api;
  client: Client;
}

interface CreatePhase {
  createMs: number;
  t0Epoch: number;
  seenAt: Map<string, number>;
  last: ControlPlaneObject[];
  cpu: CpuFigures;
  wallMs: number | null;
}

async function createAndWait(
  ctx: Context,
  namespace: string,
  k0sflow: K0sflowProcess,
  names: string[],
  ports: number[]
): Promise<CreatePhase> {
  const n = names.length;
  const stopMeter = cpuMeter(k0sflow.process.pid);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  await Promise.all(names.map((name, i) => createAll(ctx.kube, namespace, seedObjects(name, ports[i]!))));
  const createMs = round(performance.now() - t0);
  say(
    `${n} control planes: created ${3 * n} objects in ${(createMs / 1000).toFixed(1)} s; waiting for Available`
  );
  // When each control plane was first seen Available=True (ms after t0).
  const seen = await pollFirstSeen({
    list: () => listControlPlanes(ctx.kube, namespace),
    isDone: isAvailable,
    count: n,
    t0,
    timeoutMs: 300_000 + 60_000 * n,
  });
  const cpu = stopMeter();
  const wallMs = seen.lastSeenMs;
  say(
    `${n} control planes: ${seen.seenAt.size}/${n} Available` +
      (wallMs !== null ? ` in ${(wallMs / 1000).toFixed(1)} s` : ' (TIMED OUT)')
  );
  return { createMs, t0Epoch, seenAt: seen.seenAt, last: seen.last, cpu, wallMs };
}

function controlPlaneResult(
  name: string,
  apiPort: number,
  created: CreatePhase,
  extra: { cp?: ControlPlaneObject; history: HistoryFigures | null; pods: PodDoubleStatus['pods'] }
): ControlPlaneResult {
  const available = extra.cp && cpCondition(extra.cp, 'Available');
  const h = extra.history;
  const since = (at: number | undefined): number | null =>
    at === undefined ? null : round(at - created.t0Epoch);
  return {
    name,
    apiPort,
    availableAfterMs: created.seenAt.get(name) ?? null,
    reason: available ? `${available.status}/${available.reason}` : '(no Available condition)',
    ...(available?.message ? { message: available.message } : {}),
    history: h,
    toWorkflowStartMs: since(h?.startedAt),
    toFirstActivityMs: since(h?.firstActivityAt),
    pods: extra.pods
      .map((p) => ({ name: p.name, createdToReadyMs: p.createdToReadyMs }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    rssMiB: rssByProcess(extra.pods),
    deletion: { objectsGoneMs: null, podsGoneMs: null, workflowCompletedMs: null },
  };
}

/** Histories and the pod double's figures for each control plane, once all are Available (or timed out). */
async function collect(
  ctx: Context,
  namespace: string,
  names: string[],
  ports: number[],
  created: CreatePhase
): Promise<{ results: ControlPlaneResult[]; podDouble: PodDoubleStatus | null }> {
  await sleep(SETTLE_MS);
  const lastAvailableEpoch = created.t0Epoch + (created.wallMs ?? 0);
  const podDouble = await podDoubleStatusAfter(
    Math.max(lastAvailableEpoch + RSS_AFTER_MS, Date.now()),
    15_000
  );
  const byName = new Map(created.last.map((cp) => [cp.metadata.name, cp]));
  const results = await Promise.all(
    names.map(async (name, i) => {
      const cp = byName.get(name);
      const history = cp ? await readHistory(ctx.client, workflowIdOf(namespace, cp)) : null;
      const pods = podsOf(podDouble, namespace, name);
      return controlPlaneResult(name, ports[i]!, created, { ...(cp ? { cp } : {}), history, pods });
    })
  );
  return { results, podDouble };
}

/** Names of control planes with something left, from one list of each kind with a `cluster` label. */
async function namesWithObjects(
  ctx: Context,
  namespace: string
): Promise<{ objects: Set<string>; pods: Set<string> }> {
  const opts = { namespace, labelSelector: 'cluster' };
  const [sts, svc, secrets, pods, cps] = await Promise.all([
    ctx.apps.listNamespacedStatefulSet(opts),
    ctx.kube.core.listNamespacedService(opts),
    ctx.kube.core.listNamespacedSecret(opts),
    ctx.kube.core.listNamespacedPod(opts),
    listControlPlanes(ctx.kube, namespace),
  ]);
  const label = (o: { metadata?: { labels?: Record<string, string> } }): string =>
    o.metadata?.labels?.cluster ?? '';
  const objects = new Set([...sts.items, ...svc.items, ...secrets.items].map(label));
  for (const cp of cps) objects.add(cp.metadata.name);
  return { objects, pods: new Set(pods.items.map(label)) };
}

/** Records when control plane `r`'s objects, pods and workflow were first seen gone; true when all are. */
async function markGone(
  ctx: Context,
  r: ControlPlaneResult,
  left: { objects: Set<string>; pods: Set<string> },
  workflowId: string | undefined,
  now: number
): Promise<boolean> {
  const d = r.deletion;
  if (d.objectsGoneMs === null && !left.objects.has(r.name)) d.objectsGoneMs = now;
  if (d.podsGoneMs === null && !left.pods.has(r.name)) d.podsGoneMs = now;
  if (
    d.workflowCompletedMs === null &&
    workflowId &&
    (await workflowDone(ctx.client, workflowId).catch(() => false))
  )
    d.workflowCompletedMs = now;
  return d.objectsGoneMs !== null && d.podsGoneMs !== null && (d.workflowCompletedMs !== null || !workflowId);
}

/** One poll of the deletion; true once every control plane is gone. */
async function deletionPoll(
  ctx: Context,
  namespace: string,
  results: ControlPlaneResult[],
  workflowIds: Map<string, string>,
  t0: number
): Promise<boolean> {
  const left = await namesWithObjects(ctx, namespace);
  const now = round(performance.now() - t0);
  const gone = await Promise.all(results.map((r) => markGone(ctx, r, left, workflowIds.get(r.name), now)));
  return gone.every(Boolean);
}

async function deleteAll(
  ctx: Context,
  namespace: string,
  k0sflow: K0sflowProcess,
  results: ControlPlaneResult[],
  workflowIds: Map<string, string>
): Promise<SizeResult['deletion']> {
  const stopMeter = cpuMeter(k0sflow.process.pid);
  const t0 = performance.now();
  await Promise.all(
    results.map((r) => ctx.kube.custom.deleteNamespacedCustomObject({ ...KMC, namespace, name: r.name }))
  );
  const done = await pollUntil(
    () => deletionPoll(ctx, namespace, results, workflowIds, t0),
    180_000 + 30_000 * results.length
  );
  const cpu = stopMeter();
  const d = results.map((r) => r.deletion);
  return {
    wallMs: done ? latestMs(d.flatMap((x) => [x.objectsGoneMs, x.podsGoneMs, x.workflowCompletedMs])) : null,
    objectsGoneMs: summarize(d.map((x) => x.objectsGoneMs)),
    podsGoneMs: summarize(d.map((x) => x.podsGoneMs)),
    workflowCompletedMs: summarize(d.map((x) => x.workflowCompletedMs)),
    cpu,
  };
}

function sizeRss(results: ControlPlaneResult[], podDouble: PodDoubleStatus | null): SizeResult['rssMiB'] {
  const sum = (k: ProcessKind): number => round(results.reduce((a, r) => a + r.rssMiB[k], 0));
  const byKind = {
    'kube-apiserver': sum('kube-apiserver'),
    'kube-controller-manager': sum('kube-controller-manager'),
    etcd: sum('etcd'),
  };
  const total = round(PROCESSES.reduce((a, k) => a + byKind[k], 0));
  return {
    ...byKind,
    total,
    perControlPlane: round(total / results.length),
    podDoubleItself: podDouble?.rssMiB ?? null,
  };
}

function sizeResult(
  namespace: string,
  idleCpu: CpuFigures,
  created: CreatePhase,
  results: ControlPlaneResult[],
  podDouble: PodDoubleStatus | null,
  deletion: SizeResult['deletion']
): SizeResult {
  const histories = results.flatMap((r) => (r.history ? [r.history] : []));
  return {
    controlPlanes: results.length,
    namespace,
    createMs: created.createMs,
    available: created.seenAt.size,
    wallMs: created.wallMs,
    availableMs: summarize(results.map((r) => r.availableAfterMs)),
    cpu: created.cpu,
    idleCpu,
    rssMiB: sizeRss(results, podDouble),
    passes: summarize(histories.map((h) => h.passes)),
    events: summarize(histories.map((h) => h.events)),
    historyKiB: summarize(histories.map((h) => h.bytes / 1024)),
    activitiesMs: Object.fromEntries(
      ACTIVITIES.map((a) => [a, summarize(histories.map((h) => h.activitiesMs[a]))])
    ) as Record<Activity, Summary>,
    activityCallMs: Object.fromEntries(
      ACTIVITIES.map((a) => {
        const calls = histories.map((h) => h.activityCalls[a] ?? []);
        return [
          a,
          { first: summarize(calls.map((c) => c[0])), later: summarize(calls.flatMap((c) => c.slice(1))) },
        ];
      })
    ) as SizeResult['activityCallMs'],
    deletion,
    perControlPlane: results,
  };
}

async function runSize(ctx: Context, n: number): Promise<SizeResult> {
  const names = Array.from({ length: n }, (_, i) => cpName(i));
  const namespace = await createNamespace(ctx.kube, `hosted-bench-${n}`);
  const ports = await freeNodePorts(ctx.kube, n);
  say(`${n} control planes: namespace ${namespace}, API ports ${ports.join(', ')}; starting k0sflow`);
  const k0sflow = await startBenchK0sflowReady(namespace);
  try {
    const idleMeter = cpuMeter(k0sflow.process.pid);
    await sleep(IDLE_MS);
    const idleCpu = idleMeter();
    const created = await createAndWait(ctx, namespace, k0sflow, names, ports);
    const { results, podDouble } = await collect(ctx, namespace, names, ports, created);
    const workflowIds = new Map(created.last.map((cp) => [cp.metadata.name, workflowIdOf(namespace, cp)]));
    say(`${n} control planes: deleting`);
    const deletion = await deleteAll(ctx, namespace, k0sflow, results, workflowIds);
    say(
      `${n} control planes: ${deletion.wallMs === null ? 'deletion INCOMPLETE' : `all gone in ${secs(deletion.wallMs)}`}`
    );
    return sizeResult(namespace, idleCpu, created, results, podDouble, deletion);
  } finally {
    await stopBenchK0sflow(k0sflow);
  }
}

// ---------------------------------------------------------------- output

function controlPlaneRow(r: ControlPlaneResult): string[] {
  const h = r.history;
  const rss = PROCESSES.reduce((a, k) => a + r.rssMiB[k], 0);
  return [
    r.name,
    secs(r.availableAfterMs),
    num(r.toWorkflowStartMs, 0),
    num(r.toFirstActivityMs, 0),
    ...ACTIVITIES.map((a) =>
      h?.activitiesMs[a] === undefined
        ? '-'
        : `${num(h.activitiesMs[a], 0)}/${h.activityCalls[a]?.length ?? 0}`
    ),
    num(h?.kubeCallsMs, 0),
    num(h?.timersMs, 0),
    `${h?.passes ?? '-'}`,
    `${h?.events ?? '-'}`,
    num(h ? h.bytes / 1024 : undefined),
    r.pods.map((p) => num(p.createdToReadyMs === null ? null : p.createdToReadyMs / 1000)).join('/'),
    num(rss, 0),
    secs(r.deletion.objectsGoneMs),
    secs(r.deletion.workflowCompletedMs),
  ];
}

function printSize(r: SizeResult): void {
  const head = ['control plane', 'Available', '→wf ms', '→1st act ms', ...ACTIVITIES.map((a) => `${SHORT[a]} ms/n`),
    'kube ms', 'timers ms', 'passes', 'events', 'KiB', 'pods→Ready s', 'RSS MiB', 'del→gone', 'del→wf done']; // prettier-ignore
  const rss = r.rssMiB;
  const d = r.deletion;
  const lines = [
    ``,
    `── ${r.controlPlanes} control plane${r.controlPlanes === 1 ? '' : 's'} (namespace ${r.namespace})`,
    `  create → Available=True   p50 ${secs(r.availableMs.p50)}, max ${secs(r.availableMs.max)} ` +
      `(${r.available}/${r.controlPlanes} Available; creating ${3 * r.controlPlanes} objects: ${secs(r.createMs)})`,
    `    ${cpuText(r.cpu)} (${cpus().length} cores, all processes); ` +
      `idle for ${IDLE_MS / 1000} s before: ${cpuText(r.idleCpu)}`,
    `  pod double RSS for these control planes: ${num(rss.total, 0)} MiB = apiserver ${num(rss['kube-apiserver'], 0)} ` +
      `+ controller manager ${num(rss['kube-controller-manager'], 0)} + etcd ${num(rss.etcd, 0)} ` +
      `(${num(rss.perControlPlane, 0)} MiB per control plane; the double itself ${num(rss.podDoubleItself, 0)} MiB)`,
    `  delete → objects gone     p50 ${secs(d.objectsGoneMs.p50)}, max ${secs(d.objectsGoneMs.max)}; pods gone max ` +
      `${secs(d.podsGoneMs.max)}; workflows completed p50 ${secs(d.workflowCompletedMs.p50)}, max ${secs(d.workflowCompletedMs.max)}`,
    `    ${cpuText(d.cpu)}`,
    `  per call, p50 ms (first call / later calls): ` +
      ACTIVITIES.map(
        (a) =>
          `${SHORT[a]} ${num(r.activityCallMs[a].first.p50, 0)} / ${num(r.activityCallMs[a].later.p50, 0)}`
      ).join(', '),
    `  per control plane (history up to the pass that set Available; activity ms = scheduled → completed, summed / calls;`,
    `  kube = local activities; timers = progress polls waited; pods → Ready: control plane / etcd pod, from the pod double)`,
    ...table(head, r.perControlPlane.map(controlPlaneRow)).map((l) => `    ${l}`),
  ];
  for (const cp of r.perControlPlane.filter((c) => c.availableAfterMs === null))
    lines.push(`  not Available: ${cp.name}: ${cp.reason} ${cp.message ?? ''}`);
  console.log(lines.join('\n'));
}

function printSummary(results: SizeResult[]): void {
  const rows = results.map((r) => [
    String(r.controlPlanes),
    `${num(r.availableMs.p50 / 1000)} / ${num(r.availableMs.max / 1000)}`,
    num(r.cpu.k0sflowSeconds),
    pct(r.cpu.machineBusyPercent),
    num(r.rssMiB.perControlPlane, 0),
    num(r.rssMiB.total, 0),
    `${num(r.passes.p50, 0)} / ${num(r.passes.max, 0)}`,
    `${num(r.events.p50, 0)} / ${num(r.events.max, 0)}`,
    num(r.historyKiB.max),
    `${num(r.deletion.objectsGoneMs.p50 / 1000)} / ${num(r.deletion.objectsGoneMs.max / 1000)}`,
    num(r.deletion.workflowCompletedMs.max / 1000),
  ]);
  const head = ['control planes', 'Available p50 / max s', 'k0sflow CPU s', 'busy', 'RSS/CP MiB', 'RSS MiB',
    'passes p50 / max', 'events p50 / max', 'history KiB max', 'delete→gone p50 / max s', 'wf done max s']; // prettier-ignore
  console.log(
    [
      ``,
      `summary (RSS: the pod double's apiserver + controller manager + etcd of these control planes)`,
      ...table(head, rows, 0),
      figuresLine(RESULTS),
    ].join('\n')
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const opts = parseSizesOption({
    bench: 'bench:hosted',
    description: 'N hosted control planes (K0smotronControlPlane) created at once, served by the pod double',
    counts: 'control plane counts',
    defaults: [1, 3],
    max: 20,
  });
  say(`starting a proving ground in ${DIR} (no SSH hosts, CAPI, the pod double)`);
  await runSizes({
    dir: DIR,
    hosts: 0,
    sizes: opts.sizes,
    say,
    prepare: ({ client }): Promise<Context> => {
      const kube = managementKube();
      return Promise.resolve({ kube, apps: kube.config.makeApiClient(AppsV1Api), client });
    },
    runSize,
    printSize,
    write: (results, error) =>
      writeResults(RESULTS, { bench: 'hosted', options: opts }, { results, ...(error ? { error } : {}) }),
    printSummary,
  });
  return 0;
}

runBench(main, say);
