/**
 * The hosted control plane (K0smotronControlPlane) as data: names, labels, the k0s ClusterConfig, the
 * Service, the StatefulSets and the certificates to make, the endpoint and the status. Pure: the
 * activities read the facts and apply what this plans. Shapes follow k0smotron v1.10.9
 * (internal/controller/k0smotron.io) so that dashboards and scripts written for it keep working.
 */
import type { HostedClusterSpec, PersistenceSpec, ServiceSpec } from './api/hosted-cluster.js';
import { pausedCondition, setCondition, type Condition } from './conditions.js';
import { stableJson } from './fingerprint.js';
import { CLUSTER_NAME_LABEL } from './resources.js';

/** k0smotron's default when `version` is empty (v1.10.9: DefaultK0SVersion). */
export const DEFAULT_HOSTED_K0S_VERSION = 'v1.27.9-k0s.0';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const MANAGED_BY = 'k0sflow';
export const CONTROL_PLANE_COMPONENT = 'control-plane';
export const ETCD_COMPONENT = 'etcd';
export const K0S_CONFIG_KEY = 'K0SMOTRON_K0S_YAML';
/** Replaced in the pod by the URL from `kineDataSourceSecretName` (key K0SMOTRON_KINE_DATASOURCE_URL). */
export const KINE_URL_PLACEHOLDER = '__K0SMOTRON_KINE_DATASOURCE_URL_PLACEHOLDER__';
export const ENTRYPOINT_KEY = 'k0smotron-entrypoint.sh';
/** Where k0s looks for its PKI; the init container copies the mounted Secrets there. */
export const K0S_PKI_DIR = '/var/lib/k0s/pki';
const ETCD_PKI_DIR = '/var/lib/k0s/pki/etcd';
const CLUSTER_SECRET_TYPE = 'cluster.x-k8s.io/secret';

export type HostedSpec = HostedClusterSpec & { controlPlaneEndpoint?: { host: string; port: number } };

/** The objects of one hosted control plane, named as k0smotron names them. */
export interface HostedNames {
  statefulSet: string;
  service: string;
  clusterIPService: string;
  config: string;
  entrypoint: string;
  volume: string;
  etcd: string;
  kubeconfig: string;
}

export function hostedNames(
  cpName: string,
  clusterName: string,
  serviceType: ServiceSpec['type']
): HostedNames {
  const base = `kmc-${cpName}`;
  const service =
    serviceType === 'NodePort' ? `${base}-nodeport` : serviceType === 'LoadBalancer' ? `${base}-lb` : base;
  return {
    statefulSet: base,
    service,
    clusterIPService: base,
    config: `${base}-config`,
    entrypoint: `kmc-entrypoint-${cpName}-config`,
    volume: base,
    etcd: `${base}-etcd`,
    kubeconfig: `${clusterName}-kubeconfig`,
  };
}

/** The names the control plane's Service had under the other Service types: left over after a type change. */
export function staleServiceNames(cpName: string, clusterName: string, type: ServiceSpec['type']): string[] {
  const current = hostedNames(cpName, clusterName, type).service;
  const all = (['ClusterIP', 'NodePort', 'LoadBalancer'] as const).map(
    (t) => hostedNames(cpName, clusterName, t).service
  );
  return all.filter((name) => name !== current);
}

/** The Secrets of the cluster's PKI, as Cluster API names them (`<cluster>-<purpose>`). */
export type CertificatePurpose =
  'ca' | 'sa' | 'proxy' | 'etcd' | 'apiserver-etcd-client' | 'etcd-server' | 'etcd-peer';

export type CertificatePlan =
  | { purpose: 'ca' | 'proxy' | 'etcd'; secretName: string; kind: 'authority'; commonName: string }
  | { purpose: 'sa'; secretName: string; kind: 'keyPair' }
  | {
      purpose: 'apiserver-etcd-client' | 'etcd-server' | 'etcd-peer';
      secretName: string;
      kind: 'leaf';
      signedBy: 'etcd';
      commonName: string;
      dnsNames: string[];
      ipAddresses: string[];
      usages: ('server' | 'client')[];
    };

/** Labels on everything k0sflow makes for a control plane, k0smotron's (`app`, `cluster`) included. */
export function hostedLabels(cpName: string, clusterName: string, component: string): Record<string, string> {
  return {
    app: 'k0smotron',
    cluster: cpName,
    [CLUSTER_NAME_LABEL]: clusterName,
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [COMPONENT_LABEL]: component,
  };
}

/** Immutable StatefulSet selectors: k0smotron's, so its pods keep matching after a migration. */
export function controlPlaneSelector(cpName: string): Record<string, string> {
  return {
    app: 'k0smotron',
    cluster: cpName,
    component: 'cluster',
    'cluster.x-k8s.io/control-plane': 'true',
  };
}

function etcdSelector(cpName: string): Record<string, string> {
  return { app: 'k0smotron', cluster: cpName, component: 'etcd' };
}

/** `app=k0smotron,cluster=x,...`: the CAPI contract's `status.selector`, in query-parameter syntax. */
export function selectorString(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function usesEtcd(spec: HostedSpec): boolean {
  return !spec.kineDataSourceURL && !spec.kineDataSourceSecretName;
}

/** `v1.31.2+k0s.0` or `v1.31.2` become the image tag `v1.31.2-k0s.0` (image tags cannot hold `+`). */
export function imageTag(version: string | undefined): string {
  const v = (version || DEFAULT_HOSTED_K0S_VERSION).replace('+', '-');
  return /-k0s\.\d+$/.test(v) ? v : `${v}-k0s.0`;
}

/** The version reported in status: the spec's, in the spec's own notation, or k0smotron's default. */
export function desiredVersion(spec: HostedSpec): string {
  return spec.version || DEFAULT_HOSTED_K0S_VERSION;
}

export function certificatePlan(
  spec: HostedSpec,
  clusterName: string,
  cpName: string,
  namespace: string
): CertificatePlan[] {
  const name = (purpose: CertificatePurpose): string =>
    spec.certificateRefs?.find((r) => r.type === purpose && r.name)?.name ?? `${clusterName}-${purpose}`;
  const plan: CertificatePlan[] = [
    { purpose: 'ca', secretName: name('ca'), kind: 'authority', commonName: 'kubernetes' },
    { purpose: 'proxy', secretName: name('proxy'), kind: 'authority', commonName: 'front-proxy' },
    { purpose: 'sa', secretName: name('sa'), kind: 'keyPair' },
    { purpose: 'etcd', secretName: name('etcd'), kind: 'authority', commonName: 'etcd' },
  ];
  if (!usesEtcd(spec)) return plan;
  const etcdNames = etcdDnsNames(`kmc-${cpName}-etcd`, namespace);
  const leaf = (purpose: 'etcd-server' | 'etcd-peer'): CertificatePlan => ({
    purpose,
    secretName: name(purpose),
    kind: 'leaf',
    signedBy: 'etcd',
    commonName: purpose,
    dnsNames: [...etcdNames, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: ['server', 'client'],
  });
  plan.push(leaf('etcd-server'), leaf('etcd-peer'), {
    purpose: 'apiserver-etcd-client',
    secretName: name('apiserver-etcd-client'),
    kind: 'leaf',
    signedBy: 'etcd',
    commonName: 'apiserver-etcd-client',
    dnsNames: [],
    ipAddresses: [],
    usages: ['client'],
  });
  return plan;
}

function etcdDnsNames(service: string, namespace: string): string[] {
  const svc = `${service}.${namespace}.svc`;
  return [
    service,
    `${service}.${namespace}`,
    svc,
    `${svc}.cluster.local`,
    `*.${service}`,
    `*.${svc}`,
    `*.${svc}.cluster.local`,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------------------

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface HostedContext {
  cpName: string;
  clusterName: string;
  namespace: string;
  spec: HostedSpec;
  /** From the Cluster's `clusterNetwork`, when given. */
  network: { podCIDR?: string; serviceCIDR?: string; clusterDomain?: string };
}

export function serviceManifest(ctx: HostedContext): Manifest {
  const { spec } = ctx;
  const names = hostedNames(ctx.cpName, ctx.clusterName, spec.service.type);
  const nodePort = spec.service.type === 'NodePort';
  const port = (portName: string, value: number): Record<string, unknown> => ({
    name: portName,
    port: value,
    targetPort: value,
    protocol: 'TCP',
    ...(nodePort ? { nodePort: value } : {}),
  });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.service,
      namespace: ctx.namespace,
      labels: {
        ...hostedLabels(ctx.cpName, ctx.clusterName, CONTROL_PLANE_COMPONENT),
        ...spec.service.labels,
      },
      ...(spec.service.annotations ? { annotations: spec.service.annotations } : {}),
    },
    spec: {
      type: spec.service.type,
      selector: controlPlaneSelector(ctx.cpName),
      ports: [port('api', spec.service.apiPort), port('konnectivity', spec.service.konnectivityPort)],
      ...(spec.service.externalTrafficPolicy && spec.service.type !== 'ClusterIP'
        ? { externalTrafficPolicy: spec.service.externalTrafficPolicy }
        : {}),
      ...(spec.service.type === 'LoadBalancer' && spec.service.loadBalancerClass
        ? { loadBalancerClass: spec.service.loadBalancerClass }
        : {}),
    },
  };
}

/** Subject alternative names of the API server, as k0smotron's genSANs lists them (sorted). */
export function apiServerSans(
  ctx: HostedContext,
  serviceClusterIPs: readonly string[],
  host?: string
): string[] {
  const svc = hostedNames(ctx.cpName, ctx.clusterName, ctx.spec.service.type).service;
  const ns = `${svc}.${ctx.namespace}`;
  const sans = [svc, ns, `${ns}.svc`, `${ns}.svc.cluster.local`, ...serviceClusterIPs];
  if (ctx.spec.externalAddress) sans.push(ctx.spec.externalAddress);
  if (host) sans.push(host);
  return [...new Set(sans)].sort();
}

/**
 * The k0s ClusterConfig: the user's `k0sConfig` with k0sflow's fields laid over it (the API port, SANs,
 * external address, konnectivity port, network from the Cluster, and the datastore).
 */
export function k0sClusterConfig(
  ctx: HostedContext,
  sans: readonly string[],
  host?: string
): Record<string, unknown> {
  const { spec } = ctx;
  const user: Record<string, unknown> = spec.k0sConfig ?? {};
  const userSans = ((user.spec as { api?: { sans?: unknown } } | undefined)?.api?.sans ?? []) as unknown[];
  const ours: Record<string, unknown> = {
    apiVersion: 'k0s.k0sproject.io/v1beta1',
    kind: 'ClusterConfig',
    metadata: { name: 'k0s' },
    spec: {
      api: {
        port: spec.service.apiPort,
        sans: [...new Set([...userSans.filter((s): s is string => typeof s === 'string'), ...sans])],
        ...(host ? { externalAddress: host } : {}),
      },
      konnectivity: { agentPort: spec.service.konnectivityPort },
      ...networkConfig(ctx.network),
      storage: storageConfig(ctx),
    },
  };
  return deepMerge(user, ours);
}

function networkConfig(network: HostedContext['network']): Record<string, unknown> {
  const entries = Object.entries(network).filter(([, v]) => v !== undefined && v !== '');
  return entries.length > 0 ? { network: Object.fromEntries(entries) } : {};
}

function storageConfig(ctx: HostedContext): Record<string, unknown> {
  const { spec } = ctx;
  if (spec.kineDataSourceURL) return { type: 'kine', kine: { dataSource: spec.kineDataSourceURL } };
  if (spec.kineDataSourceSecretName) return { type: 'kine', kine: { dataSource: KINE_URL_PLACEHOLDER } };
  return {
    type: 'etcd',
    etcd: {
      externalCluster: {
        endpoints: [`https://kmc-${ctx.cpName}-etcd:2379`],
        etcdPrefix: ctx.cpName,
        caFile: `${K0S_PKI_DIR}/etcd-ca.crt`,
        clientCertFile: `${K0S_PKI_DIR}/apiserver-etcd-client.crt`,
        clientKeyFile: `${K0S_PKI_DIR}/apiserver-etcd-client.key`,
      },
    },
  };
}

/** Objects merge key by key, ours winning; anything else is replaced. */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `k0s controller` flags: the user's, plus the config file and dynamic config unless they set them. */
export function controllerFlags(spec: HostedSpec): string[] {
  const flags = [...(spec.controllerPlaneFlags ?? [])];
  const has = (flag: string): boolean => flags.some((f) => f === flag || f.startsWith(`${flag}=`));
  if (!has('--config')) flags.push('--config=/etc/k0s/k0s.yaml');
  if (!has('--enable-dynamic-config')) flags.push('--enable-dynamic-config');
  if (spec.ingress) flags.push('--disable-components=endpoint-reconciler');
  return flags;
}

export function entrypointScript(spec: HostedSpec): string {
  return [
    '#!/bin/sh',
    'set -e',
    '# Written by k0sflow: put the k0s config in place, then run the controller.',
    'mkdir -p /etc/k0s',
    `printf '%s\\n' "$${K0S_CONFIG_KEY}" > /etc/k0s/k0s.yaml`,
    ...(spec.kineDataSourceSecretName
      ? [
          // The URL stays in its Secret (an env var here), never in the ConfigMap.
          `url=$(printf '%s' "$K0SMOTRON_KINE_DATASOURCE_URL" | sed 's/[&|\\]/\\\\&/g')`,
          `sed -i "s|${KINE_URL_PLACEHOLDER}|$url|g" /etc/k0s/k0s.yaml`,
        ]
      : []),
    `exec k0s controller ${controllerFlags(spec).join(' ')}`,
    '',
  ].join('\n');
}

export function configMaps(ctx: HostedContext, k0sConfigYaml: string): Manifest[] {
  const names = hostedNames(ctx.cpName, ctx.clusterName, ctx.spec.service.type);
  const labels = hostedLabels(ctx.cpName, ctx.clusterName, CONTROL_PLANE_COMPONENT);
  const cm = (name: string, data: Record<string, string>): Manifest => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ctx.namespace, labels },
    data,
  });
  return [
    cm(names.config, { [K0S_CONFIG_KEY]: k0sConfigYaml }),
    cm(names.entrypoint, { [ENTRYPOINT_KEY]: entrypointScript(ctx.spec) }),
  ];
}

type Volume = Record<string, unknown> & { name: string };
type VolumeMount = { name: string; mountPath: string; readOnly?: boolean; subPath?: string };

function secretProjection(secretName: string, items: [key: string, path: string][]): Record<string, unknown> {
  return { secret: { name: secretName, items: items.map(([key, path]) => ({ key, path })) } };
}

function controlPlaneCertsVolume(plan: readonly CertificatePlan[]): Volume {
  const name = (p: CertificatePurpose): string => plan.find((c) => c.purpose === p)?.secretName ?? '';
  const sources = [
    secretProjection(name('ca'), [
      ['tls.crt', 'ca.crt'],
      ['tls.key', 'ca.key'],
    ]),
    secretProjection(name('sa'), [
      ['tls.crt', 'sa.pub'],
      ['tls.key', 'sa.key'],
    ]),
    secretProjection(name('proxy'), [
      ['tls.crt', 'front-proxy-ca.crt'],
      ['tls.key', 'front-proxy-ca.key'],
    ]),
    secretProjection(name('etcd'), [
      ['tls.crt', 'etcd-ca.crt'],
      ['tls.key', 'etcd-ca.key'],
    ]),
  ];
  if (plan.some((c) => c.purpose === 'apiserver-etcd-client'))
    sources.push(
      secretProjection(name('apiserver-etcd-client'), [
        ['tls.crt', 'apiserver-etcd-client.crt'],
        ['tls.key', 'apiserver-etcd-client.key'],
      ])
    );
  return { name: 'certs', projected: { sources } };
}

/** The data volume and how it is claimed; `undefined` volume when a claim template provides it. */
export function persistence(
  names: HostedNames,
  p: PersistenceSpec
): { volume?: Volume; claimTemplates: Record<string, unknown>[]; mountName: string; retention?: unknown } {
  if (p.type === 'hostPath') {
    return {
      volume: { name: names.volume, hostPath: { path: p.hostPath } },
      claimTemplates: [],
      mountName: names.volume,
    };
  }
  if (p.type === 'pvc') {
    const claim = p.persistentVolumeClaim ?? {};
    const claimName = claim.metadata?.name ?? names.volume;
    return {
      claimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { ...(claim.metadata ?? {}), name: claimName },
          spec: claim.spec ?? {},
        },
      ],
      mountName: claimName,
      ...(p.autoDeletePVCs ? { retention: { whenDeleted: 'Delete', whenScaled: 'Retain' } } : {}),
    };
  }
  return { volume: { name: names.volume, emptyDir: {} }, claimTemplates: [], mountName: names.volume };
}

/** What is wrong with a spec that the CRD schema cannot say; `undefined` when nothing. */
export function hostedSpecProblem(spec: HostedSpec): string | undefined {
  if (spec.persistence.type === 'hostPath' && !spec.persistence.hostPath)
    return 'persistence.type is hostPath but persistence.hostPath is empty';
  if (spec.persistence.type === 'pvc' && !spec.persistence.persistentVolumeClaim)
    return 'persistence.type is pvc but persistence.persistentVolumeClaim is missing';
  if (spec.replicas > 1 && spec.kineDataSourceURL?.startsWith('sqlite'))
    return 'replicas above 1 need a shared datastore; sqlite kine is local to each pod';
  return undefined;
}

export function controlPlaneStatefulSet(ctx: HostedContext, plan: readonly CertificatePlan[]): Manifest {
  const { spec, cpName } = ctx;
  const names = hostedNames(cpName, ctx.clusterName, spec.service.type);
  const labels = {
    ...hostedLabels(cpName, ctx.clusterName, CONTROL_PLANE_COMPONENT),
    ...controlPlaneSelector(cpName),
  };
  const data = persistence(names, spec.persistence);
  const volumes: Volume[] = [
    {
      name: names.entrypoint,
      configMap: {
        name: names.entrypoint,
        defaultMode: 0o744,
        items: [{ key: ENTRYPOINT_KEY, path: ENTRYPOINT_KEY }],
      },
    },
    controlPlaneCertsVolume(plan),
    ...(data.volume ? [data.volume] : []),
  ];
  const mounts: VolumeMount[] = [
    { name: names.entrypoint, mountPath: `/${ENTRYPOINT_KEY}`, subPath: ENTRYPOINT_KEY },
    { name: data.mountName, mountPath: '/var/lib/k0s' },
  ];
  for (const manifest of spec.manifests ?? []) {
    volumes.push(manifest);
    mounts.push({
      name: manifest.name,
      mountPath: `/var/lib/k0s/manifests/${manifest.name}`,
      readOnly: true,
    });
  }
  for (const mount of spec.mounts ?? []) {
    const { path, readOnly, ...source } = mount;
    const name = volumeNameForPath(path);
    volumes.push({ ...source, name });
    const secretOrConfig = 'secret' in source || 'configMap' in source;
    mounts.push({ name, mountPath: path, ...(readOnly || secretOrConfig ? { readOnly: true } : {}) });
  }
  const envFrom: unknown[] = [{ configMapRef: { name: names.config } }];
  if (spec.kineDataSourceSecretName) envFrom.push({ secretRef: { name: spec.kineDataSourceSecretName } });
  const image = `${spec.image}:${imageTag(spec.version)}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: names.statefulSet, namespace: ctx.namespace, labels },
    spec: {
      replicas: spec.replicas,
      serviceName: names.clusterIPService,
      selector: { matchLabels: controlPlaneSelector(cpName) },
      ...(data.retention ? { persistentVolumeClaimRetentionPolicy: data.retention } : {}),
      ...(data.claimTemplates.length > 0 ? { volumeClaimTemplates: data.claimTemplates } : {}),
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          ...(spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
          ...(spec.topologySpreadConstraints
            ? { topologySpreadConstraints: spec.topologySpreadConstraints }
            : {}),
          initContainers: [
            {
              name: 'certs-init',
              image,
              command: ['sh', '-c', `mkdir -p ${K0S_PKI_DIR} && cp /certs-init/*.* ${K0S_PKI_DIR}/`],
              volumeMounts: [
                { name: 'certs', mountPath: '/certs-init' },
                { name: data.mountName, mountPath: '/var/lib/k0s' },
              ],
            },
          ],
          containers: [
            {
              name: 'controller',
              image,
              imagePullPolicy: 'IfNotPresent',
              args: ['/bin/sh', '-c', `/${ENTRYPOINT_KEY}`],
              ports: [
                { name: 'api', containerPort: spec.service.apiPort, protocol: 'TCP' },
                { name: 'konnectivity', containerPort: spec.service.konnectivityPort, protocol: 'TCP' },
              ],
              envFrom,
              ...(spec.resources ? { resources: spec.resources } : {}),
              volumeMounts: mounts,
              readinessProbe: {
                exec: { command: ['k0s', 'status'] },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                failureThreshold: 15,
              },
              livenessProbe: {
                exec: { command: ['k0s', 'status'] },
                initialDelaySeconds: 90,
                periodSeconds: 10,
                failureThreshold: 10,
              },
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** k0smotron's pathToVolumeName: `/etc/foo/bar` → `etc-foo-bar`; odd paths get a sanitised name. */
export function volumeNameForPath(path: string): string {
  const simple = path.replace(/^\//, '').replaceAll('/', '-');
  if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(simple) && simple.length <= 63) return simple;
  let hash = 0;
  for (const ch of path) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const suffix = hash.toString(16).padStart(8, '0').slice(0, 5);
  const base = simple
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 57)
    .replace(/-+$/, '');
  return base ? `${base}-${suffix}` : suffix;
}

/** etcd members: one for a single controller, else an odd number at least the controllers' count. */
export function etcdReplicas(controllers: number): number {
  if (controllers <= 1) return 1;
  return controllers % 2 === 0 ? controllers + 1 : controllers;
}

/**
 * etcd members to run now: k0smotron's rule, one member more at a time and only while all are ready
 * (a new member joins through `member add`); never fewer than exist (members are not removed).
 */
export function etcdReplicasNow(
  controllers: number,
  existing?: { replicas: number; readyReplicas: number }
): number {
  const target = etcdReplicas(controllers);
  if (!existing) return target;
  if (target <= existing.replicas) return existing.replicas;
  return existing.readyReplicas >= existing.replicas ? existing.replicas + 1 : existing.replicas;
}

export function etcdManifests(
  ctx: HostedContext,
  plan: readonly CertificatePlan[],
  replicas = etcdReplicas(ctx.spec.replicas)
): Manifest[] {
  const { cpName, namespace, spec } = ctx;
  const name = `kmc-${cpName}-etcd`;
  const labels = { ...hostedLabels(cpName, ctx.clusterName, ETCD_COMPONENT), ...etcdSelector(cpName) };
  const secret = (p: CertificatePurpose): string => plan.find((c) => c.purpose === p)?.secretName ?? '';
  const service: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: etcdSelector(cpName),
      ports: [
        { name: 'client', port: 2379, targetPort: 2379, protocol: 'TCP' },
        { name: 'peer', port: 2380, targetPort: 2380, protocol: 'TCP' },
      ],
    },
  };
  const certs = {
    name: 'certs',
    projected: {
      sources: [
        secretProjection(secret('etcd'), [
          ['tls.crt', 'ca.crt'],
          ['tls.key', 'ca.key'],
        ]),
        secretProjection(secret('etcd-server'), [
          ['tls.crt', 'server.crt'],
          ['tls.key', 'server.key'],
        ]),
        secretProjection(secret('etcd-peer'), [
          ['tls.crt', 'peer.crt'],
          ['tls.key', 'peer.key'],
        ]),
      ],
    },
  };
  const etcd = spec.etcd;
  const statefulSet: Manifest = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      serviceName: name,
      // Members start one at a time: the first bootstraps the cluster, the next ones join it.
      podManagementPolicy: 'OrderedReady',
      selector: { matchLabels: etcdSelector(cpName) },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'etcd-data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: String(etcd.persistence?.size ?? '1Gi') } },
            ...(etcd.persistence?.storageClass ? { storageClassName: etcd.persistence.storageClass } : {}),
          },
        },
      ],
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          initContainers: [
            {
              name: 'etcd-join',
              image: etcd.image,
              command: ['/bin/sh', '-c', etcdJoinScript(name, namespace)],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              volumeMounts: [
                { name: 'certs', mountPath: ETCD_PKI_DIR, readOnly: true },
                { name: 'etcd-data', mountPath: '/var/lib/k0s/etcd' },
              ],
            },
          ],
          containers: [
            {
              name: 'etcd',
              image: etcd.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', '-c', etcdCommand(name, namespace, etcd.args ?? [])],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: 2379, protocol: 'TCP' },
                { name: 'peer', containerPort: 2380, protocol: 'TCP' },
              ],
              ...(etcd.resources ? { resources: etcd.resources } : {}),
              volumeMounts: [
                { name: 'certs', mountPath: ETCD_PKI_DIR, readOnly: true },
                { name: 'etcd-data', mountPath: '/var/lib/k0s/etcd' },
              ],
            },
          ],
          volumes: [certs],
        },
      },
    },
  };
  return [service, statefulSet];
}

function etcdCommand(service: string, namespace: string, extraArgs: readonly string[]): string {
  const self = `https://$POD_NAME.${service}.${namespace}.svc`;
  return [
    'exec etcd --name=$POD_NAME --data-dir=/var/lib/k0s/etcd',
    `--listen-client-urls=https://0.0.0.0:2379 --advertise-client-urls=${self}:2379`,
    `--listen-peer-urls=https://0.0.0.0:2380 --initial-advertise-peer-urls=${self}:2380`,
    // Written by etcdJoinScript: the pod template does not depend on the member count, so growing
    // the cluster never rolls the members that run.
    '--initial-cluster=$(cat /var/lib/k0s/etcd/initial-cluster)',
    '--initial-cluster-state=$(cat /var/lib/k0s/etcd/initial-state)',
    `--client-cert-auth --trusted-ca-file=${ETCD_PKI_DIR}/ca.crt`,
    `--cert-file=${ETCD_PKI_DIR}/server.crt --key-file=${ETCD_PKI_DIR}/server.key`,
    `--peer-client-cert-auth --peer-trusted-ca-file=${ETCD_PKI_DIR}/ca.crt`,
    `--peer-cert-file=${ETCD_PKI_DIR}/peer.crt --peer-key-file=${ETCD_PKI_DIR}/peer.key`,
    ...extraArgs,
  ].join(' ');
}

/**
 * Init container of each etcd member. With data: nothing to do. The first member of a new cluster
 * bootstraps it alone; any other waits for the cluster to answer, removes a stale member of its name
 * and joins with `member add`, whose output names the cluster it joins.
 */
export function etcdJoinScript(service: string, namespace: string): string {
  const peer = `https://$POD_NAME.${service}.${namespace}.svc:2380`;
  const dir = '/var/lib/k0s/etcd';
  return [
    'set -eu',
    `export ETCDCTL_ENDPOINTS=https://${service}:2379 ETCDCTL_CACERT=${ETCD_PKI_DIR}/ca.crt`,
    `export ETCDCTL_CERT=${ETCD_PKI_DIR}/server.crt ETCDCTL_KEY=${ETCD_PKI_DIR}/server.key`,
    `mkdir -p ${dir}`,
    `[ -f ${dir}/member/snap/db ] && exit 0`,
    `if [ "\${POD_NAME##*-}" = 0 ] && ! etcdctl member list >/dev/null 2>&1; then`,
    `  echo "$POD_NAME=${peer}" > ${dir}/initial-cluster; echo new > ${dir}/initial-state; exit 0`,
    'fi',
    'until etcdctl member list >/dev/null 2>&1; do sleep 2; done',
    'stale=$(etcdctl member list | grep ", $POD_NAME," | cut -d, -f1 || true)',
    'if [ -n "$stale" ]; then etcdctl member remove "$stale"; fi',
    `etcdctl member add "$POD_NAME" --peer-urls=${peer} | sed -n 's/^ETCD_INITIAL_CLUSTER="\\(.*\\)"$/\\1/p' > ${dir}/initial-cluster`,
    `echo existing > ${dir}/initial-state`,
  ].join('\n');
}

/** Secret metadata for a generated certificate or the kubeconfig: CAPI's type and cluster label. */
export function clusterSecretMeta(
  clusterName: string,
  cpName: string,
  component: string
): {
  type: string;
  labels: Record<string, string>;
} {
  return { type: CLUSTER_SECRET_TYPE, labels: hostedLabels(cpName, clusterName, component) };
}

// ---------------------------------------------------------------------------------------------------------
// Endpoint
// ---------------------------------------------------------------------------------------------------------

export interface ServiceFacts {
  type: string;
  clusterIPs: string[];
  /** `status.loadBalancer.ingress[0]`: ip or hostname. */
  loadBalancerAddress?: string;
}

export interface NodeAddress {
  type: string;
  address: string;
}

export type EndpointResolution = { host: string; port: number } | { waitingFor: string };

/**
 * Where clients reach the API server: `externalAddress`, else per Service type the address a client
 * outside the hosting cluster can use (a node's ExternalIP, then InternalIP, for NodePort; the load
 * balancer's address), else the ClusterIP, reachable inside the hosting cluster only.
 */
export function resolveEndpoint(
  spec: HostedSpec,
  service: ServiceFacts | null,
  nodes: NodeAddress[][]
): EndpointResolution {
  const port = spec.service.apiPort;
  if (spec.externalAddress) return { host: spec.externalAddress, port };
  if (!service) return { waitingFor: 'the control plane Service' };
  if (spec.service.type === 'LoadBalancer') {
    return service.loadBalancerAddress
      ? { host: service.loadBalancerAddress, port }
      : { waitingFor: 'a load balancer address' };
  }
  if (spec.service.type === 'NodePort') {
    const host = firstNodeAddress(nodes, 'ExternalIP') ?? firstNodeAddress(nodes, 'InternalIP');
    return host ? { host, port } : { waitingFor: 'a Node address in the hosting cluster' };
  }
  const clusterIP = service.clusterIPs.find((ip) => ip && ip !== 'None');
  return clusterIP ? { host: clusterIP, port } : { waitingFor: 'a ClusterIP' };
}

function firstNodeAddress(nodes: NodeAddress[][], type: string): string | undefined {
  for (const addresses of nodes) {
    const found = addresses.find((a) => a.type === type && a.address);
    if (found) return found.address;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------------------

export interface StatefulSetFacts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
  currentRevision?: string;
  updateRevision?: string;
  /** `status.observedGeneration === metadata.generation`: the controller has seen the last change. */
  observed: boolean;
}

export interface HostedStatusFacts {
  generation: number;
  current: HostedOwnedStatus | undefined;
  spec: HostedSpec;
  cpName: string;
  now: Date;
  paused: boolean;
  /** Bad input or a failure that needs a person: reported, nothing made is removed. */
  problem?: { reason: string; message: string };
  /** What the control plane is waiting for, in words. */
  waitingFor?: string;
  statefulSet?: StatefulSetFacts;
  /** The etcd datastore's members, when it has one. */
  etcd?: { replicas: number; readyReplicas: number };
  /** The kube-system namespace answered through the `<cluster>-kubeconfig` Secret. */
  available?: { ok: boolean; reason: string; message?: string };
}

/** The part of the status k0sflow owns: both CAPI contracts' fields. */
export interface HostedOwnedStatus {
  ready?: boolean;
  initialized?: boolean;
  initialization?: { controlPlaneInitialized?: boolean };
  externalManagedControlPlane?: boolean;
  version?: string;
  versions?: { version: string; replicas?: number }[];
  selector?: string;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  upToDateReplicas?: number;
  updatedReplicas?: number;
  unavailableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

/**
 * Status per both contracts. `initialized` is sticky (the v1beta2 contract forbids it going back);
 * `version` is the spec's once every replica runs the current template, else the last reported one.
 */
export function planHostedStatus(facts: HostedStatusFacts): HostedOwnedStatus {
  const { current = {}, generation, now } = facts;
  const sts = facts.statefulSet;
  const rolledOut = sts !== undefined && isRolledOut(sts);
  // A pass that only reports (paused, bad input) keeps what the last full pass found.
  const keep = facts.paused || facts.problem !== undefined;
  const available = facts.available ? facts.available.ok : keep && current.ready === true;
  const initialized = current.initialized === true || available;
  const version =
    rolledOut && sts.replicas === facts.spec.replicas ? desiredVersion(facts.spec) : current.version;
  let conditions = setCondition(current.conditions, pausedCondition(facts.paused, generation), now);
  conditions = setCondition(conditions, availableCondition(facts), now);
  conditions = setCondition(conditions, readyCondition(facts, rolledOut), now);
  const counts = sts ? replicaCounts(sts) : keep ? keptCounts(current) : replicaCounts(undefined);
  return {
    ready: available,
    initialized,
    initialization: { controlPlaneInitialized: initialized },
    externalManagedControlPlane: true,
    ...(version ? { version, versions: [{ version, replicas: counts.replicas }] } : {}),
    selector: selectorString(controlPlaneSelector(facts.cpName)),
    ...counts,
    observedGeneration: generation,
    conditions,
  };
}

function isRolledOut(sts: StatefulSetFacts): boolean {
  return (
    sts.observed &&
    sts.updatedReplicas === sts.replicas &&
    sts.currentRevision === sts.updateRevision &&
    sts.readyReplicas === sts.replicas
  );
}

type ReplicaCounts = Required<
  Pick<
    HostedOwnedStatus,
    | 'replicas'
    | 'readyReplicas'
    | 'availableReplicas'
    | 'upToDateReplicas'
    | 'updatedReplicas'
    | 'unavailableReplicas'
  >
>;

function replicaCounts(sts: StatefulSetFacts | undefined): ReplicaCounts {
  const replicas = sts?.replicas ?? 0;
  const availableReplicas = sts?.availableReplicas ?? 0;
  const updated = sts?.updatedReplicas ?? 0;
  return {
    replicas,
    readyReplicas: sts?.readyReplicas ?? 0,
    availableReplicas,
    upToDateReplicas: updated,
    updatedReplicas: updated,
    unavailableReplicas: Math.max(0, replicas - availableReplicas),
  };
}

function keptCounts(current: HostedOwnedStatus): ReplicaCounts {
  return {
    replicas: current.replicas ?? 0,
    readyReplicas: current.readyReplicas ?? 0,
    availableReplicas: current.availableReplicas ?? 0,
    upToDateReplicas: current.upToDateReplicas ?? 0,
    updatedReplicas: current.updatedReplicas ?? 0,
    unavailableReplicas: current.unavailableReplicas ?? 0,
  };
}

function availableCondition(facts: HostedStatusFacts): Omit<Condition, 'lastTransitionTime'> {
  const base = { type: 'Available', observedGeneration: facts.generation };
  if (facts.available?.ok) return { ...base, status: 'True', reason: 'Available' };
  if (facts.available)
    return {
      ...base,
      status: 'False',
      reason: facts.available.reason,
      ...(facts.available.message ? { message: facts.available.message } : {}),
    };
  const previous = facts.current?.conditions?.find((c) => c.type === 'Available');
  // A report-only pass (paused, bad input) cannot tell; a control plane that answered stays Available.
  if (previous?.status === 'True' && (facts.paused || facts.problem))
    return {
      ...base,
      status: previous.status,
      reason: previous.reason,
      ...(previous.message ? { message: previous.message } : {}),
    };
  return {
    ...base,
    status: 'False',
    reason: 'NotAvailable',
    message: facts.problem
      ? facts.problem.message
      : facts.waitingFor
        ? `waiting for ${facts.waitingFor}`
        : 'the API server has not answered yet',
  };
}

function readyCondition(facts: HostedStatusFacts, rolledOut: boolean): Omit<Condition, 'lastTransitionTime'> {
  const base = { type: 'Ready', observedGeneration: facts.generation };
  if (facts.problem)
    return { ...base, status: 'False', reason: facts.problem.reason, message: facts.problem.message };
  if (facts.paused)
    return { ...base, status: 'Unknown', reason: 'Paused', message: 'Reconciliation is paused' };
  if (facts.waitingFor)
    return { ...base, status: 'False', reason: 'Waiting', message: `waiting for ${facts.waitingFor}` };
  const sts = facts.statefulSet;
  if (!sts)
    return { ...base, status: 'False', reason: 'Provisioning', message: 'creating the control plane' };
  if (!rolledOut || sts.replicas !== facts.spec.replicas) {
    return {
      ...base,
      status: 'False',
      reason: 'RollingOut',
      message: `${sts.updatedReplicas}/${facts.spec.replicas} replicas updated, ${sts.readyReplicas} ready`,
    };
  }
  const etcdTarget = etcdReplicas(facts.spec.replicas);
  if (facts.etcd && (facts.etcd.replicas < etcdTarget || facts.etcd.readyReplicas < facts.etcd.replicas)) {
    const { readyReplicas, replicas } = facts.etcd;
    return {
      ...base,
      status: 'False',
      reason: 'RollingOut',
      message: `etcd: ${readyReplicas}/${Math.max(replicas, etcdTarget)} members ready`,
    };
  }
  if (facts.available && !facts.available.ok)
    return {
      ...base,
      status: 'False',
      reason: facts.available.reason,
      ...(facts.available.message ? { message: facts.available.message } : {}),
    };
  return {
    ...base,
    status: 'True',
    reason: 'Ready',
    message: `${sts.readyReplicas}/${facts.spec.replicas} replicas ready, version ${desiredVersion(facts.spec)}`,
  };
}

/** True when applying `next` would change nothing (transition times aside, which setCondition keeps). */
export function hostedStatusUpToDate(
  current: HostedOwnedStatus | undefined,
  next: HostedOwnedStatus
): boolean {
  const pick = (s: HostedOwnedStatus | undefined): unknown => {
    const { conditions, ...rest } = s ?? {};
    const owned = new Set(['Available', 'Ready', 'Paused']);
    return { ...rest, conditions: (conditions ?? []).filter((c) => owned.has(c.type)) };
  };
  return stableJson(pick(current)) === stableJson(pick(next));
}
