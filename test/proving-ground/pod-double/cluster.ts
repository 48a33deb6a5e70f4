// One cluster watched by the pod TEST DOUBLE (management, or the second cluster): its Node
// `pod-double-node`, the served pods (PodRunner each), the Services that select them (names in the
// hosts files, NodePort/LoadBalancer proxies), and clean-up of data whose StatefulSet is gone.
import type { V1Node, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { VERSIONS } from '../paths.js';
import type { AddressPool } from './addresses.js';
import { NODE_NAME, type WatchedCluster } from './config.js';
import { type NamedEndpoint, type NamedService, HostsFiles, renderHosts, selects } from './hosts-file.js';
import { type Api, errorText, httpStatusOf, listWatchLoop, makeApi, mergePatch } from './kube-api.js';
import { errorMessage, log } from './log.js';
import { type PodReport, PodRunner } from './pod-runner.js';
import { MANAGED_BY, SERVED_SELECTOR, componentOf, resolveTargetPort } from './pod-spec.js';
import { PrivateEtcds } from './private-etcd.js';
import { type Backend, type ProxyHost, ServiceProxies } from './service-proxy.js';
import type { PodNames } from './supervisor.js';
import type { ClusterContext, PodView } from './types.js';

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string =>
  `${o.metadata?.namespace}/${o.metadata?.name}`;

export class ClusterDouble implements ClusterContext, ProxyHost {
  readonly name: string;
  readonly api: Api;
  readonly nodeName = NODE_NAME;
  readonly nodeIP: string;
  readonly dir: string;
  readonly logDir: string;
  readonly privateEtcds: PrivateEtcds;
  private readonly runners = new Map<string, PodRunner>();
  private readonly services = new Map<string, V1Service>();
  /** Services that selected a served pod once: they stay served until deleted. */
  private readonly servedServices = new Set<string>();
  private readonly hosts: HostsFiles;
  private readonly proxies: ServiceProxies;
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private endpointsTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly nodeSince = new Date().toISOString();

  constructor(
    cfg: WatchedCluster,
    rootDir: string,
    readonly pool: AddressPool
  ) {
    this.name = cfg.name;
    this.nodeIP = cfg.nodeIP;
    this.api = makeApi(cfg.kubeconfig);
    this.dir = join(rootDir, 'pod-double', cfg.name);
    this.logDir = join(rootDir, 'logs', 'pods', cfg.name);
    this.privateEtcds = new PrivateEtcds(this.logDir);
    this.hosts = new HostsFiles(join(this.dir, 'hosts'), (ns) => this.renderHosts(ns));
    this.proxies = new ServiceProxies(this);
  }

  async start(): Promise<void> {
    await this.registerNode();
    this.timers.push(setInterval(() => void this.heartbeat(), 10_000));
    this.timers.push(setInterval(() => void this.gc(), 30_000));
    void this.watchPods();
    void this.watchServices();
    log(`${this.name}: serving pods (${SERVED_SELECTOR}) on node ${NODE_NAME} (${this.nodeIP})`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.timers.forEach((t) => clearInterval(t));
    if (this.endpointsTimer) clearTimeout(this.endpointsTimer);
    await this.proxies.stop();
  }

  namesFor(pod: V1Pod): PodNames {
    return {
      hostsFile: this.hosts.fileFor(pod.metadata!.namespace!),
      resolvFile: this.hosts.resolvFile,
      hostname: pod.spec?.hostname ?? pod.metadata!.name!,
    };
  }

  pods(): PodView[] {
    return [...this.runners.values()].filter((r) => !r.gone).map((r) => r.view);
  }

  reports(): PodReport[] {
    return [...this.runners.values()].map((r) => r.report());
  }

  loadBalancers(): Record<string, string> {
    return this.proxies.loadBalancers();
  }

  /** Debounced: hosts files and proxies follow pods' addresses and readiness. */
  endpointsChanged(): void {
    if (this.endpointsTimer || this.stopped) return;
    this.endpointsTimer = setTimeout(() => {
      this.endpointsTimer = null;
      this.hosts.refresh();
      void this.proxies.sync(this.served());
    }, 50);
  }

  backends(svc: V1Service, port: V1ServicePort): Backend[] {
    const selector = svc.spec?.selector ?? {};
    return this.pods()
      .filter((p) => p.namespace === svc.metadata?.namespace && p.ready && p.ip)
      .filter((p) => selects(selector, p.pod.metadata?.labels ?? {}))
      .flatMap((p) => {
        const target = resolveTargetPort(p.pod, port.targetPort, port.port);
        return target === null ? [] : [{ ip: p.ip!, port: target }];
      });
  }

  // --- pods

  private watchPods(): Promise<void> {
    return listWatchLoop<V1Pod>({
      what: `${this.name} pods`,
      config: this.api.config,
      path: '/api/v1/pods',
      labelSelector: SERVED_SELECTOR,
      list: () => this.api.core.listPodForAllNamespaces({ labelSelector: SERVED_SELECTOR }),
      onList: (pods) => {
        const uids = new Set(pods.map((p) => p.metadata?.uid));
        for (const [uid, r] of this.runners) if (!uids.has(uid)) r.vanished();
        pods.forEach((p) => this.upsertPod(p));
        this.forgetGone();
      },
      onEvent: (type, pod) => {
        if (type === 'DELETED') this.runners.get(pod.metadata?.uid ?? '')?.vanished();
        else this.upsertPod(pod);
      },
      signal: this.abort.signal,
    });
  }

  private upsertPod(pod: V1Pod): void {
    const component = componentOf(pod);
    const uid = pod.metadata?.uid;
    if (!component || !uid) return;
    if (pod.spec?.nodeName && pod.spec.nodeName !== NODE_NAME) return;
    let runner = this.runners.get(uid);
    if (!runner) {
      if (pod.metadata?.deletionTimestamp && !pod.spec?.nodeName) return; // never ran
      runner = new PodRunner(this, pod, component);
      this.runners.set(uid, runner);
      this.endpointsChanged(); // a Service may now select a served pod
    }
    runner.update(pod);
  }

  private forgetGone(): void {
    for (const [uid, r] of this.runners) if (r.gone) this.runners.delete(uid);
  }

  // --- services

  private watchServices(): Promise<void> {
    return listWatchLoop<V1Service>({
      what: `${this.name} services`,
      config: this.api.config,
      path: '/api/v1/services',
      list: () => this.api.core.listServiceForAllNamespaces({}),
      onList: (items) => {
        this.services.clear();
        items.forEach((s) => this.services.set(keyOf(s), s));
        this.endpointsChanged();
      },
      onEvent: (type, svc) => {
        if (type === 'DELETED') {
          this.services.delete(keyOf(svc));
          this.servedServices.delete(svc.metadata?.uid ?? '');
        } else this.services.set(keyOf(svc), svc);
        this.endpointsChanged();
      },
      signal: this.abort.signal,
    });
  }

  private served(): V1Service[] {
    const pods = this.pods();
    return [...this.services.values()].filter((s) => {
      const uid = s.metadata?.uid ?? '';
      if (this.servedServices.has(uid)) return true;
      // k0sflow's own Services are served before any pod exists, as a real load balancer controller
      // gives an address to a Service without endpoints (k0sflow waits for it to write the config).
      const hit =
        s.metadata?.labels?.[MANAGED_BY] === 'k0sflow' ||
        pods.some(
          (p) =>
            p.namespace === s.metadata?.namespace &&
            selects(s.spec?.selector ?? {}, p.pod.metadata?.labels ?? {})
        );
      if (hit) this.servedServices.add(uid);
      return hit;
    });
  }

  private renderHosts(ns: string): string {
    const services: NamedService[] = this.served().map((s) => ({
      namespace: s.metadata!.namespace!,
      name: s.metadata!.name!,
      selector: s.spec?.selector ?? {},
      publishNotReadyAddresses: s.spec?.publishNotReadyAddresses ?? false,
    }));
    const endpoints: NamedEndpoint[] = this.pods().map((p) => ({
      namespace: p.namespace,
      name: p.name,
      hostname: p.pod.spec?.hostname ?? p.name,
      subdomain: p.pod.spec?.subdomain ?? null,
      labels: p.pod.metadata?.labels ?? {},
      ip: p.ip,
      ready: p.ready,
    }));
    return renderHosts(ns, services, endpoints);
  }

  // --- node

  private nodeStatus(): { status: Record<string, unknown> } {
    const now = new Date().toISOString();
    const cond = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.nodeSince,
    });
    const capacity = {
      cpu: String(cpus().length),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: '110',
    };
    return {
      status: {
        addresses: [
          { type: 'InternalIP', address: this.nodeIP },
          { type: 'Hostname', address: NODE_NAME },
        ],
        capacity,
        allocatable: capacity,
        conditions: [
          cond('Ready', 'True', 'KubeletReady', 'pod test double (not a kubelet) is posting ready status'),
          cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', ''),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', ''),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID', ''),
        ],
        nodeInfo: {
          kubeletVersion: VERSIONS.kubernetes,
          kubeProxyVersion: '',
          architecture: 'amd64',
          operatingSystem: 'linux',
          osImage: 'k0sflow pod test double',
          kernelVersion: release(),
          containerRuntimeVersion: 'pod-double://1',
          machineID: '',
          systemUUID: '',
          bootID: '',
        },
      },
    };
  }

  private async registerNode(): Promise<void> {
    const body: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        labels: {
          'kubernetes.io/hostname': NODE_NAME,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'k0sflow.io/pod-double': 'true',
        },
      },
    };
    try {
      await this.api.core.createNode({ body });
    } catch (err) {
      if (httpStatusOf(err) !== 409) throw err;
    }
    await this.api.core.patchNodeStatus({ name: NODE_NAME, body: this.nodeStatus() }, mergePatch);
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.api.core.patchNodeStatus({ name: NODE_NAME, body: this.nodeStatus() }, mergePatch);
    } catch (err) {
      if (httpStatusOf(err) === 404)
        await this.registerNode().catch((e: unknown) => log(`${this.name}: node: ${errorText(e)}`));
      else log(`${this.name}: node heartbeat: ${errorText(err)}`);
    }
  }

  // --- clean-up

  /** Removes data of StatefulSets that are gone, and hosts files of namespaces without pods. */
  private async gc(): Promise<void> {
    try {
      for (const dir of await this.staleDataDirs()) {
        rmSync(dir, { recursive: true, force: true });
        log(`${this.name}: removed ${dir} (its StatefulSet is gone)`);
        if (readdirSync(dirname(dir)).length === 0) rmSync(dirname(dir), { recursive: true, force: true });
      }
      const namespaces = new Set(this.pods().map((p) => p.namespace));
      for (const ns of this.hosts.namespaces()) if (!namespaces.has(ns)) this.hosts.remove(ns);
    } catch (err) {
      log(`${this.name}: clean-up: ${errorMessage(err)}`);
    }
  }

  /** data/<ns>/<owner name>-<owner uid>/ whose owner no longer exists and that nothing uses. */
  private async staleDataDirs(): Promise<string[]> {
    const sets = await this.api.apps.listStatefulSetForAllNamespaces({});
    const owners = new Set([
      ...sets.items.map((s) => s.metadata?.uid),
      ...this.pods().map((p) => p.pod.metadata?.ownerReferences?.find((o) => o.controller)?.uid ?? p.uid),
    ]);
    const root = join(this.dir, 'data');
    const dirs = (existsSync(root) ? readdirSync(root) : []).flatMap((ns) =>
      readdirSync(join(root, ns)).map((owner) => join(root, ns, owner))
    );
    return dirs.filter(
      (d) => !owners.has(d.slice(-36)) && !this.privateEtcds.inUse().some((used) => used.startsWith(`${d}/`))
    );
  }
}
