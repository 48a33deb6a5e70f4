// What a served pod's spec gives its processes, resolved the way a kubelet would: the environment
// (env, envFrom ConfigMaps/Secrets) and the files its volumes mount (Secret, ConfigMap and projected
// volumes; items → key → path). See README.md, "Pod double", for the contract.
import type { CoreV1Api, V1Container, V1EnvVar, V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import { posix } from 'node:path';
import { orNull } from './kube-api.js';

export type Component = 'control-plane' | 'etcd';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const COMPONENT = 'app.kubernetes.io/component';
/** The pods the double serves (label selector for the watch). */
export const SERVED_SELECTOR = `${MANAGED_BY}=k0sflow,${COMPONENT} in (control-plane,etcd)`;

/** Where k0smotron's `certs-init` init container copies the control plane's `certs` volume. */
export const K0S_PKI_DIR = '/var/lib/k0s/pki';

export function componentOf(pod: V1Pod): Component | null {
  const labels = pod.metadata?.labels ?? {};
  if (labels[MANAGED_BY] !== 'k0sflow') return null;
  const c = labels[COMPONENT];
  return c === 'control-plane' || c === 'etcd' ? c : null;
}

/** The container the double runs: `controller` (control plane) or `etcd`, else the first one. */
export function mainContainer(pod: V1Pod, component: Component): V1Container {
  const containers = pod.spec?.containers ?? [];
  const name = component === 'control-plane' ? 'controller' : 'etcd';
  const c = containers.find((x) => x.name === name) ?? containers[0];
  if (!c) throw new Error('pod has no containers');
  return c;
}

/** A missing Secret, ConfigMap or key: the pod waits, as with a kubelet (FailedMount). */
export class NotReadyYet extends Error {}

interface Ref {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  optional: boolean;
}

type RefLike = { name?: string; optional?: boolean } | undefined;

function refOf(secret: RefLike, configMap: RefLike): Ref | null {
  if (secret?.name) return { kind: 'Secret', name: secret.name, optional: secret.optional ?? false };
  if (configMap?.name)
    return { kind: 'ConfigMap', name: configMap.name, optional: configMap.optional ?? false };
  return null;
}

/** Reads the Secrets and ConfigMaps of one namespace, each once per pod start; values as bytes. */
class Sources {
  private readonly cache = new Map<string, Promise<Record<string, Buffer> | null>>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string
  ) {}

  async read(ref: Ref): Promise<Record<string, Buffer>> {
    const key = `${ref.kind}/${ref.name}`;
    if (!this.cache.has(key)) this.cache.set(key, this.fetch(ref));
    const data = await this.cache.get(key)!;
    if (!data && !ref.optional) throw new NotReadyYet(`${ref.kind} ${this.namespace}/${ref.name} not found`);
    return data ?? {};
  }

  private async fetch(ref: Ref): Promise<Record<string, Buffer> | null> {
    const id = { name: ref.name, namespace: this.namespace };
    if (ref.kind === 'Secret') {
      const s = await orNull(() => this.core.readNamespacedSecret(id));
      return (
        s && Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]))
      );
    }
    const cm = await orNull(() => this.core.readNamespacedConfigMap(id));
    return cm && Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  }
}

function project(
  data: Record<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  ref: Ref
): Map<string, Buffer> {
  if (!items || items.length === 0) return new Map(Object.entries(data));
  const files = new Map<string, Buffer>();
  for (const item of items) {
    const v = data[item.key];
    if (v === undefined) throw new NotReadyYet(`${ref.kind} ${ref.name} has no key ${item.key}`);
    files.set(item.path, v);
  }
  return files;
}

/** What a volume projects: Secrets and ConfigMaps with their items (other sources are ignored). */
function volumeSources(volume: V1Volume): { ref: Ref; items: V1KeyToPath[] | undefined }[] {
  const direct = refOf(
    volume.secret && { name: volume.secret.secretName, optional: volume.secret.optional },
    volume.configMap
  );
  if (direct) return [{ ref: direct, items: volume.secret?.items ?? volume.configMap?.items }];
  return (volume.projected?.sources ?? []).flatMap((s) => {
    const ref = refOf(s.secret, s.configMap);
    return ref ? [{ ref, items: s.secret?.items ?? s.configMap?.items }] : [];
  });
}

/** The files of one volume, by path relative to its mount point. */
async function volumeFiles(src: Sources, volume: V1Volume): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const { ref, items } of volumeSources(volume))
    for (const [k, v] of project(await src.read(ref), items, ref)) files.set(k, v);
  return files;
}

/**
 * The files the pod's main container sees, by absolute path: its Secret/ConfigMap/projected volume
 * mounts, plus, for a control plane, the `certs` volume under /var/lib/k0s/pki (what k0smotron's
 * `certs-init` init container copies there).
 */
export async function podFiles(
  core: CoreV1Api,
  pod: V1Pod,
  component: Component
): Promise<Map<string, Buffer>> {
  const src = new Sources(core, pod.metadata!.namespace!);
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const files = new Map<string, Buffer>();
  const add = (base: string, rel: Map<string, Buffer>): void => {
    for (const [p, v] of rel) files.set(posix.join(base, p), v);
  };
  for (const m of mainContainer(pod, component).volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v || volumeSources(v).length === 0) continue;
    const rel = await volumeFiles(src, v);
    if (!m.subPath) add(m.mountPath, rel);
    else if (rel.has(m.subPath)) files.set(m.mountPath, rel.get(m.subPath)!);
  }
  const certs = volumes.get('certs');
  if (component === 'control-plane' && certs) add(K0S_PKI_DIR, await volumeFiles(src, certs));
  return files;
}

/** The value of one `env` entry: literal, or a ConfigMap/Secret key (field references are not resolved). */
async function envValue(src: Sources, e: V1EnvVar): Promise<string | undefined> {
  if (e.value !== undefined) return e.value;
  const sel = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
  const ref = refOf(e.valueFrom?.secretKeyRef, e.valueFrom?.configMapKeyRef);
  if (!ref || !sel) return undefined;
  const v = (await src.read(ref))[sel.key];
  if (v === undefined && !ref.optional)
    throw new NotReadyYet(`${ref.kind} ${ref.name} has no key ${sel.key}`);
  return v?.toString();
}

/** The container's environment from `envFrom` and `env`. */
export async function containerEnv(
  core: CoreV1Api,
  pod: V1Pod,
  c: V1Container
): Promise<Record<string, string>> {
  const src = new Sources(core, pod.metadata!.namespace!);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = refOf(from.secretRef, from.configMapRef);
    const data = ref ? await src.read(ref) : {};
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v.toString();
  }
  for (const e of c.env ?? []) {
    const v = await envValue(src, e);
    if (v !== undefined) env[e.name] = v;
  }
  return env;
}

/** The container port number for a Service's targetPort (a number, or a port name). */
export function resolveTargetPort(
  pod: V1Pod,
  target: number | string | undefined,
  port: number
): number | null {
  if (target === undefined || target === '') return port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    const p = (c.ports ?? []).find((x) => x.name === target);
    if (p) return p.containerPort;
  }
  return null;
}
