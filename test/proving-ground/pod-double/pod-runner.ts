// One served pod's life in the pod TEST DOUBLE, as scheduler + kubelet would handle it: bind it to
// the double's node, give it an address, start its processes, report its status (Ready only once
// its main process answers), restart what dies, and on deletion stop everything and delete it with
// grace period 0 (no real kubelet confirms a graceful deletion). Work on one pod is serialized.
import type { V1Pod } from '@kubernetes/client-node';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane } from './control-plane.js';
import { startEtcd } from './etcd-pod.js';
import { errorText, httpStatusOf, mergePatch } from './kube-api.js';
import { errorMessage, log } from './log.js';
import { type ConditionType, podStatusPatch } from './pod-status.js';
import { type Component, NotReadyYet } from './pod-spec.js';
import type { ClusterContext, PodPlace, PodView, PodWorkload } from './types.js';

type Phase = 'new' | 'starting' | 'waiting' | 'running' | 'stopping' | 'gone';

export interface PodReport {
  cluster: string;
  namespace: string;
  name: string;
  component: Component;
  ip: string | null;
  phase: Phase;
  ready: boolean;
  restarts: number;
  /** From the pod's creationTimestamp to Ready (first time), and from the double seeing it. */
  createdToReadyMs: number | null;
  seenToReadyMs: number | null;
  waiting: string | null;
  processes: { name: string; pid: number | null; running: boolean; rssMiB: number }[];
}

function placeOf(ctx: ClusterContext, pod: V1Pod): PodPlace {
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  const ownerDir = owner ? `${owner.name}-${owner.uid}` : `pod-${pod.metadata!.uid}`;
  return {
    workDir: join(ctx.dir, 'pods', ns, name),
    dataDir: join(ctx.dir, 'data', ns, ownerDir, name),
    logDir: join(ctx.logDir, ns, name),
  };
}

export class PodRunner {
  readonly view: PodView;
  private phase: Phase = 'new';
  private queue: Promise<void> = Promise.resolve();
  private workload: PodWorkload | null = null;
  private readyHookDone = false;
  private waiting: { reason: string; message: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly transitions = new Map<ConditionType, { status: string; time: string }>();
  private lastPatch = '';
  private readonly seenAt = Date.now();
  private readyAt: number | null = null;
  private startedAt: string | null = null;
  private readonly startTime = new Date().toISOString();
  private probeFailures = 0;

  constructor(
    private readonly ctx: ClusterContext,
    pod: V1Pod,
    component: Component
  ) {
    const m = pod.metadata!;
    this.view = {
      namespace: m.namespace!,
      name: m.name!,
      uid: m.uid!,
      component,
      pod,
      ip: null,
      ready: false,
      started: false,
    };
  }

  private get key(): string {
    return `${this.ctx.name}/${this.view.namespace}/${this.view.name}`;
  }

  get gone(): boolean {
    return this.phase === 'gone';
  }

  /** Every observation of the pod (watch event or relist). */
  update(pod: V1Pod): void {
    this.view.pod = pod;
    if (this.phase === 'stopping' || this.phase === 'gone') return;
    if (pod.metadata?.deletionTimestamp) {
      this.phase = 'stopping';
      this.enqueue(() => this.terminate(true));
    } else if (this.phase === 'new') {
      this.phase = 'starting';
      this.enqueue(() => this.start());
    }
  }

  /** The pod is gone from the API (deleted without us, or its namespace went). */
  vanished(): void {
    if (this.phase === 'stopping' || this.phase === 'gone') return;
    this.phase = 'stopping';
    this.enqueue(() => this.terminate(false));
  }

  report(): PodReport {
    const created = Date.parse(String(this.view.pod.metadata?.creationTimestamp ?? ''));
    return {
      cluster: this.ctx.name,
      namespace: this.view.namespace,
      name: this.view.name,
      component: this.view.component,
      ip: this.view.ip,
      phase: this.phase,
      ready: this.view.ready,
      restarts: this.restarts(),
      createdToReadyMs: this.readyAt !== null && !Number.isNaN(created) ? this.readyAt - created : null,
      seenToReadyMs: this.readyAt !== null ? this.readyAt - this.seenAt : null,
      waiting: this.waiting ? `${this.waiting.reason}: ${this.waiting.message}` : null,
      processes: (this.workload?.processes ?? []).map((p) => ({
        name: p.spec.name,
        pid: p.pid,
        running: p.running(),
        rssMiB: p.rssMiB(),
      })),
    };
  }

  /** Restarts of the main process (kube-apiserver, etcd); the controller manager follows the API server. */
  private restarts(): number {
    return this.workload?.processes[0]?.restarts ?? 0;
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => log(`${this.key}: ${errorMessage(err)}`));
  }

  private schedule(ms: number, fn: () => Promise<void>): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue(fn);
    }, ms);
  }

  /** false when the pod is bound to another node (not ours to run). */
  private async bind(): Promise<boolean> {
    const pod = this.view.pod;
    if (pod.spec?.nodeName) return pod.spec.nodeName === this.ctx.nodeName;
    try {
      await this.ctx.api.core.createNamespacedPodBinding({
        name: this.view.name,
        namespace: this.view.namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: this.view.name, namespace: this.view.namespace, uid: this.view.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: this.ctx.nodeName },
        },
      });
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 409) return true; // already bound (by us, before a relist)
      throw err;
    }
  }

  private async start(): Promise<void> {
    if (this.phase !== 'starting' && this.phase !== 'waiting') return;
    if (!(await this.bind())) {
      log(`${this.key}: bound to node ${this.view.pod.spec?.nodeName}, not ours: ignored`);
      this.phase = 'gone';
      return;
    }
    if (this.view.ip === null) {
      this.view.ip = await this.ctx.pool.allocate(this.key);
      this.ctx.endpointsChanged();
    }
    const place = placeOf(this.ctx, this.view.pod);
    mkdirSync(place.dataDir, { recursive: true });
    await this.patchStatus();
    try {
      const start = this.view.component === 'etcd' ? startEtcd : startControlPlane;
      this.workload = await start(this.ctx, this.view.pod, this.view.ip, place, () =>
        this.schedule(200, () => this.probe())
      );
    } catch (err) {
      return this.startFailed(err);
    }
    this.phase = 'running';
    this.waiting = null;
    this.view.started = true;
    this.startedAt = new Date().toISOString();
    log(`${this.key}: processes started on ${this.view.ip}`);
    this.ctx.endpointsChanged();
    await this.patchStatus();
    this.schedule(500, () => this.probe());
  }

  private async startFailed(err: unknown): Promise<void> {
    const notYet = err instanceof NotReadyYet;
    this.waiting = { reason: notYet ? 'CreateContainerConfigError' : 'StartError', message: errorText(err) };
    this.phase = 'waiting';
    log(`${this.key}: not started: ${this.waiting.message}; retrying`);
    await this.patchStatus();
    this.schedule(notYet ? 2000 : 10_000, () => this.start());
  }

  private async probe(): Promise<void> {
    const w = this.workload;
    if (this.phase !== 'running' || !w) return;
    const alive = w.processes.every((p) => p.running());
    let ok = alive && (await w.probe());
    if (ok && !this.readyHookDone) ok = await this.readyHook(w);
    this.probeFailures = ok ? 0 : this.probeFailures + 1;
    // A process that died is not Ready at once; a slow answer gets three chances.
    const ready = ok || (alive && this.view.ready && this.probeFailures < 3);
    this.setReady(ready);
    await this.patchStatus();
    if (this.phase === 'running') this.schedule(ready ? 5000 : 1000, () => this.probe());
  }

  private setReady(ready: boolean): void {
    if (ready && this.readyAt === null) {
      this.readyAt = Date.now();
      log(`${this.key}: Ready ${this.readyAt - this.seenAt} ms after it was seen`);
    }
    if (ready === this.view.ready) return;
    this.view.ready = ready;
    if (!ready) log(`${this.key}: not Ready`);
    this.ctx.endpointsChanged();
  }

  private async readyHook(w: PodWorkload): Promise<boolean> {
    try {
      await w.onReady?.();
      this.readyHookDone = true;
      return true;
    } catch (err) {
      log(`${this.key}: after-ready step failed (${errorMessage(err)}); retrying`);
      return false;
    }
  }

  private async terminate(deleteFromApi: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.view.ready = false;
    const w = this.workload;
    if (w) {
      if (deleteFromApi)
        await w.beforeStop?.().catch((err: unknown) => log(`${this.key}: ${errorMessage(err)}`));
      await Promise.all(w.processes.map((p) => p.stop()));
      await w.afterStop?.().catch((err: unknown) => log(`${this.key}: ${errorMessage(err)}`));
    }
    rmSync(placeOf(this.ctx, this.view.pod).workDir, { recursive: true, force: true });
    if (this.view.ip !== null) {
      await this.ctx.pool.release(this.view.ip);
      this.view.ip = null;
    }
    this.view.started = false;
    this.phase = 'gone';
    this.ctx.endpointsChanged();
    if (deleteFromApi) await this.deletePod();
    log(`${this.key}: stopped${deleteFromApi ? ' and deleted' : ''}`);
  }

  private async deletePod(): Promise<void> {
    try {
      await this.ctx.api.core.deleteNamespacedPod({
        name: this.view.name,
        namespace: this.view.namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: this.view.uid } },
      });
    } catch (err) {
      const status = httpStatusOf(err);
      if (status !== 404 && status !== 409) log(`${this.key}: delete failed: ${errorText(err)}`);
    }
  }

  private async patchStatus(): Promise<void> {
    const body = podStatusPatch({
      pod: this.view.pod,
      nodeIP: this.ctx.nodeIP,
      podIP: this.view.ip,
      startTime: this.startTime,
      started: this.view.started,
      startedAt: this.startedAt,
      ready: this.view.ready,
      restarts: this.restarts(),
      waiting: this.waiting,
      transitions: this.transitions,
    });
    const text = JSON.stringify(body);
    if (text === this.lastPatch) return;
    try {
      await this.ctx.api.core.patchNamespacedPodStatus(
        { name: this.view.name, namespace: this.view.namespace, body },
        mergePatch
      );
      this.lastPatch = text;
    } catch (err) {
      if (httpStatusOf(err) !== 404) log(`${this.key}: status patch failed: ${errorText(err)}`);
    }
  }
}
