// kube-proxy and a LoadBalancer controller for the pod TEST DOUBLE's Services (those selecting
// served pods): a TCP proxy on clusterIP:port (the ClusterIP aliased on lo: reachable from this
// machine only), on nodeIP:nodePort for NodePort and LoadBalancer Services, and for LoadBalancer
// Services on an address of their own (an alias, written to status.loadBalancer.ingress):port.
// Each connection goes to the next Ready pod (round robin).
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { type Server, type Socket, connect, createServer } from 'node:net';
import type { AddressPool } from './addresses.js';
import { isIPv4 } from './k0s-config.js';
import { type Api, errorText, mergePatch } from './kube-api.js';
import { errorMessage, log } from './log.js';

export interface Backend {
  ip: string;
  port: number;
}

export interface ProxyHost {
  name: string;
  nodeIP: string;
  pool: AddressPool;
  api: Api;
  /** Ready pods behind a Service port, with the resolved target port. */
  backends(svc: V1Service, port: V1ServicePort): Backend[];
}

interface Target {
  svcUid: string;
  portIndex: number;
}

interface Listener extends Target {
  server: Server;
}

const svcKey = (s: V1Service): string => `${s.metadata?.namespace}/${s.metadata?.name}`;

function pipe(client: Socket, backend: Backend): void {
  const upstream = connect(backend.port, backend.ip);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream).pipe(client);
}

export class ServiceProxies {
  private readonly listeners = new Map<string, Listener>();
  private readonly lbAddresses = new Map<string, string>();
  private readonly clusterIPs = new Map<string, string>();
  private readonly services = new Map<string, V1Service>();
  private readonly roundRobin = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly host: ProxyHost) {}

  /** Makes the listeners match `served` (the Services that select served pods). */
  sync(served: V1Service[]): Promise<void> {
    this.chain = this.chain
      .then(() => this.syncNow(served))
      .catch((err: unknown) => log(`${this.host.name}: service proxies: ${errorMessage(err)}`));
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    for (const key of [...this.listeners.keys()]) this.close(key);
    for (const addr of this.lbAddresses.values()) await this.host.pool.release(addr);
    this.lbAddresses.clear();
    for (const addr of this.clusterIPs.values()) await this.host.pool.removeClusterIP(addr);
    this.clusterIPs.clear();
  }

  /** Addresses given to LoadBalancer Services, by namespace/name. */
  loadBalancers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [uid, addr] of this.lbAddresses) {
      const s = this.services.get(uid);
      if (s) out[svcKey(s)] = addr;
    }
    return out;
  }

  private async syncNow(served: V1Service[]): Promise<void> {
    if (this.stopped) return;
    this.services.clear();
    served.forEach((svc) => this.services.set(svc.metadata!.uid!, svc));
    const desired = new Map<string, Target>();
    for (const svc of served) await this.addListeners(svc, desired);
    await this.releaseAddresses();
    for (const key of [...this.listeners.keys()]) if (!desired.has(key)) this.close(key);
    for (const [key, target] of desired) {
      const current = this.listeners.get(key);
      if (current) Object.assign(current, target);
      else await this.open(key, target);
    }
  }

  /** clusterIP:port; nodeIP:nodePort for NodePort and LoadBalancer Services; address:port for LoadBalancers. */
  private async addListeners(svc: V1Service, desired: Map<string, Target>): Promise<void> {
    const svcUid = svc.metadata!.uid!;
    const type = svc.spec?.type ?? 'ClusterIP';
    const addresses = [
      ...((await this.clusterIP(svc)) ?? []),
      ...(type === 'LoadBalancer' ? [await this.lbAddress(svc)] : []),
    ];
    (svc.spec?.ports ?? []).forEach((p, portIndex) => {
      if ((p.protocol ?? 'TCP') !== 'TCP') return;
      if (p.nodePort && type !== 'ClusterIP')
        desired.set(`${this.host.nodeIP}:${p.nodePort}`, { svcUid, portIndex });
      for (const a of addresses) desired.set(`${a}:${p.port}`, { svcUid, portIndex });
    });
  }

  /** The Service's IPv4 ClusterIP, made local; null for headless Services. */
  private async clusterIP(svc: V1Service): Promise<[string] | null> {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || !isIPv4(ip)) return null;
    const uid = svc.metadata!.uid!;
    if (this.clusterIPs.get(uid) !== ip) {
      await this.host.pool.addClusterIP(ip);
      this.clusterIPs.set(uid, ip);
    }
    return [ip];
  }

  /** Addresses of Services that are gone or no longer need them. */
  private async releaseAddresses(): Promise<void> {
    for (const [uid, addr] of [...this.lbAddresses]) {
      if (this.services.get(uid)?.spec?.type === 'LoadBalancer') continue;
      this.lbAddresses.delete(uid);
      await this.host.pool.release(addr);
    }
    for (const [uid, addr] of [...this.clusterIPs]) {
      if (this.services.get(uid)?.spec?.clusterIP === addr) continue;
      this.clusterIPs.delete(uid);
      await this.host.pool.removeClusterIP(addr);
    }
  }

  private async lbAddress(svc: V1Service): Promise<string> {
    const uid = svc.metadata!.uid!;
    let addr = this.lbAddresses.get(uid);
    if (!addr) {
      addr = await this.host.pool.allocate(`LoadBalancer ${this.host.name}/${svcKey(svc)}`);
      this.lbAddresses.set(uid, addr);
      log(`${this.host.name}/${svcKey(svc)}: LoadBalancer address ${addr}`);
    }
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    if (ingress.length !== 1 || ingress[0]?.ip !== addr) {
      await this.host.api.core
        .patchNamespacedServiceStatus(
          {
            name: svc.metadata!.name!,
            namespace: svc.metadata!.namespace!,
            body: { status: { loadBalancer: { ingress: [{ ip: addr, ipMode: 'VIP' }] } } },
          },
          mergePatch
        )
        .catch((err: unknown) => log(`${this.host.name}/${svcKey(svc)}: status: ${errorText(err)}`));
    }
    return addr;
  }

  private open(key: string, target: Target): Promise<void> {
    const [addr = '', port = '0'] = key.split(/:(?=\d+$)/);
    const listener: Listener = { ...target, server: createServer((c) => this.connection(listener, c)) };
    return new Promise<void>((resolve) => {
      listener.server.once('error', (err) => {
        // Retried at the next sync (relist), e.g. when a port is busy for a moment.
        log(`${this.host.name}: cannot listen on ${key}: ${err.message}`);
        this.listeners.delete(key);
        resolve();
      });
      listener.server.listen(Number(port), addr, () => {
        log(`${this.host.name}: proxying ${key}`);
        resolve();
      });
      this.listeners.set(key, listener);
    });
  }

  private close(key: string): void {
    this.listeners.get(key)?.server.close();
    this.listeners.delete(key);
    log(`${this.host.name}: stopped proxying ${key}`);
  }

  private connection(listener: Listener, client: Socket): void {
    const svc = this.services.get(listener.svcUid);
    const port = svc?.spec?.ports?.[listener.portIndex];
    const backends = svc && port ? this.host.backends(svc, port) : [];
    if (backends.length === 0) {
      client.destroy();
      return;
    }
    const rrKey = `${listener.svcUid}/${listener.portIndex}`;
    const n = this.roundRobin.get(rrKey) ?? 0;
    this.roundRobin.set(rrKey, n + 1);
    pipe(client, backends[n % backends.length]!);
  }
}
