import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';
import { stringify } from 'yaml';

import { K0smotronControlPlaneSpecSchema } from '../domain/api/controlplane.js';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  apiServerSans,
  certificatePlan,
  clusterSecretMeta,
  configMaps,
  controlPlaneStatefulSet,
  etcdManifests,
  etcdReplicasNow,
  hostedNames,
  k0sClusterConfig,
  resolveEndpoint,
  serviceManifest,
  staleServiceNames,
  usesEtcd,
  type CertificatePlan,
  type EndpointResolution,
  type HostedContext,
  type HostedSpec,
  type Manifest,
  type NodeAddress,
  type ServiceFacts,
  type StatefulSetFacts,
} from '../domain/hosted-control-plane.js';
import { CLUSTER_NAME_LABEL, CLUSTER_RESOURCE, apiVersionOf, type ObjectRef } from '../domain/resources.js';
import { clusterNameOf, type ObjectMeta } from '../domain/snapshot.js';
import { HostingClusters, hostingCall, type HostingCluster } from './hosting.js';
import {
  errorMessage,
  httpStatusOf,
  isNotFound,
  nullIfNotFound,
  reuseConnections,
  type KubeClients,
} from './kube-client.js';
import { FIELD_MANAGER, kubeCall } from './objects.js';
import {
  adminKubeconfig,
  certificateMatchesKey,
  createCertificateAuthority,
  createServiceAccountKeyPair,
  isCertificateAuthority,
  issueCertificate,
  parseCertificate,
  type KeyPairPem,
} from './pki.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ApplyResult {
  endpoint?: Endpoint;
  /** The etcd datastore's members, when it has one. */
  etcd?: { replicas: number; readyReplicas: number };
  waitingFor?: string;
  statefulSet?: StatefulSetFacts;
}

export interface ProbeResult {
  ok: boolean;
  reason: string;
  message?: string;
}

/** Names only: certificate material never leaves the activity. */
export interface CertificatesResult {
  created: string[];
  reused: string[];
}

export interface HostedControlPlaneActivities {
  ensureHostedCertificates(ref: ObjectRef): Promise<CertificatesResult>;
  applyHostedControlPlane(ref: ObjectRef): Promise<ApplyResult>;
  publishHostedEndpoint(input: { ref: ObjectRef; endpoint: Endpoint }): Promise<{ changed: boolean }>;
  ensureHostedKubeconfig(input: { ref: ObjectRef; endpoint: Endpoint }): Promise<{ written: boolean }>;
  probeHostedControlPlane(ref: ObjectRef): Promise<ProbeResult>;
  deleteHostedControlPlane(ref: ObjectRef): Promise<{ deleted: string[] }>;
}

/** Failure types for bad input the workflow reports as a condition until the object changes. */
export const INVALID_CERTIFICATE = 'InvalidCertificate';
export const INVALID_SPEC = 'InvalidSpec';

interface ControlPlaneFacts {
  ref: ObjectRef;
  meta: ObjectMeta;
  spec: HostedSpec;
  clusterName: string;
  cluster: RawCluster;
}

interface RawCluster {
  metadata: { name: string; uid: string };
  spec?: {
    controlPlaneEndpoint?: { host?: string; port?: number };
    clusterNetwork?: {
      pods?: { cidrBlocks?: string[] };
      services?: { cidrBlocks?: string[] };
      serviceDomain?: string;
    };
  };
}

const KUBECONFIG_RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export function createHostedControlPlaneActivities(clients: KubeClients): HostedControlPlaneActivities {
  const hosting = new HostingClusters(clients);
  const { custom, core } = clients;

  async function facts(ref: ObjectRef): Promise<ControlPlaneFacts> {
    const raw: unknown = await kubeCall(`read ${ref.kind} ${ref.namespace}/${ref.name}`, () =>
      custom.getNamespacedCustomObject({ ...ref })
    );
    const object = raw as { metadata: ObjectMeta; spec?: unknown };
    if (object.metadata.uid !== ref.uid)
      throw ApplicationFailure.nonRetryable(`${ref.kind} ${ref.name} was replaced`, 'ObjectGone');
    const parsed = K0smotronControlPlaneSpecSchema.safeParse(object.spec ?? {});
    if (!parsed.success) throw ApplicationFailure.nonRetryable(parsed.error.message, INVALID_SPEC);
    const clusterName = clusterNameOf(object.metadata);
    if (!clusterName) throw ApplicationFailure.nonRetryable('no owner Cluster yet', 'WaitingForCluster');
    const cluster = (await kubeCall(`read Cluster ${ref.namespace}/${clusterName}`, () =>
      custom.getNamespacedCustomObject({ ...CLUSTER_RESOURCE, namespace: ref.namespace, name: clusterName })
    )) as RawCluster;
    return { ref, meta: object.metadata, spec: parsed.data as HostedSpec, clusterName, cluster };
  }

  function contextOf(f: ControlPlaneFacts): HostedContext {
    const network = f.cluster.spec?.clusterNetwork;
    return {
      cpName: f.ref.name,
      clusterName: f.clusterName,
      namespace: f.ref.namespace,
      spec: f.spec,
      network: {
        ...(network?.pods?.cidrBlocks?.[0] ? { podCIDR: network.pods.cidrBlocks[0] } : {}),
        ...(network?.services?.cidrBlocks?.[0] ? { serviceCIDR: network.services.cidrBlocks[0] } : {}),
        ...(network?.serviceDomain ? { clusterDomain: network.serviceDomain } : {}),
      },
    };
  }

  /** Owner references work inside one API server only; in a remote cluster the finalizer cleans up. */
  function owned<T extends Manifest>(f: ControlPlaneFacts, cluster: HostingCluster, manifest: T): T {
    if (cluster.remote) return manifest;
    return {
      ...manifest,
      metadata: {
        ...manifest.metadata,
        ownerReferences: [
          {
            apiVersion: apiVersionOf(f.ref),
            kind: f.ref.kind,
            name: f.ref.name,
            uid: f.ref.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
    };
  }

  async function ensureNamespace(cluster: HostingCluster, namespace: string): Promise<void> {
    if (!cluster.remote) return;
    await hostingCall(cluster, `create namespace ${namespace}`, async () => {
      try {
        await cluster.core.readNamespace({ name: namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await cluster.core.createNamespace({
          body: { metadata: { name: namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } } },
        });
      }
    });
  }

  async function readSecret(
    cluster: HostingCluster,
    namespace: string,
    name: string
  ): Promise<V1Secret | null> {
    return hostingCall(cluster, `read Secret ${namespace}/${name}`, () =>
      nullIfNotFound(() => cluster.core.readNamespacedSecret({ namespace, name }))
    );
  }

  async function readKeyPair(
    cluster: HostingCluster,
    namespace: string,
    name: string
  ): Promise<KeyPairPem | null> {
    const secret = await readSecret(cluster, namespace, name);
    if (!secret) return null;
    const cert = secret.data?.['tls.crt'];
    const key = secret.data?.['tls.key'];
    if (!cert || !key) throw invalidCertificate(`Secret ${namespace}/${name} needs both tls.crt and tls.key`);
    return { cert: decode(cert), key: decode(key) };
  }

  async function makeMaterial(
    plan: CertificatePlan,
    authorities: ReadonlyMap<string, KeyPairPem>
  ): Promise<KeyPairPem> {
    if (plan.kind === 'authority') return createCertificateAuthority(plan.commonName);
    if (plan.kind === 'keyPair') {
      const pair = await createServiceAccountKeyPair();
      return { cert: pair.publicKey, key: pair.privateKey };
    }
    const ca = authorities.get(plan.signedBy);
    if (!ca) throw new Error(`certificate authority ${plan.signedBy} is not ready`);
    return issueCertificate(ca, {
      commonName: plan.commonName,
      dnsNames: plan.dnsNames,
      ipAddresses: plan.ipAddresses,
      usages: plan.usages,
    });
  }

  function validate(plan: CertificatePlan, pair: KeyPairPem, where: string): void {
    if (plan.kind === 'keyPair') return;
    try {
      if (plan.kind === 'authority' && !isCertificateAuthority(pair.cert))
        throw new Error('tls.crt is not a certificate authority');
      if (!certificateMatchesKey(pair)) throw new Error('tls.key does not belong to tls.crt');
    } catch (err) {
      throw invalidCertificate(`Secret ${where}: ${errorMessage(err)}`);
    }
  }

  /**
   * Authorities and the SA key pair first, then the leafs they sign; each stage in parallel (RSA key
   * generation is most of a new control plane's CPU in k0sflow).
   */
  async function ensureCertificates(
    f: ControlPlaneFacts,
    cluster: HostingCluster
  ): Promise<CertificatesResult> {
    const plans = certificatePlan(f.spec, f.clusterName, f.ref.name, f.ref.namespace);
    const result: CertificatesResult = { created: [], reused: [] };
    const authorities = new Map<string, KeyPairPem>();
    for (const stage of [plans.filter((p) => p.kind !== 'leaf'), plans.filter((p) => p.kind === 'leaf')]) {
      const done = await Promise.all(stage.map((plan) => ensureCertificate(f, cluster, plan, authorities)));
      for (const { plan, material, created } of done) {
        authorities.set(plan.purpose, material);
        (created ? result.created : result.reused).push(plan.secretName);
      }
    }
    return result;
  }

  /** The material in the Secret: the existing one (validated), else new; someone else's if they won the race. */
  async function ensureCertificate(
    f: ControlPlaneFacts,
    cluster: HostingCluster,
    plan: CertificatePlan,
    authorities: ReadonlyMap<string, KeyPairPem>
  ): Promise<{ plan: CertificatePlan; material: KeyPairPem; created: boolean }> {
    const ns = f.ref.namespace;
    const where = `${ns}/${plan.secretName}`;
    const existing = await readKeyPair(cluster, ns, plan.secretName);
    if (existing) {
      validate(plan, existing, where);
      return { plan, material: existing, created: false };
    }
    const material = await makeMaterial(plan, authorities);
    if (await createSecret(f, cluster, plan.secretName, material)) return { plan, material, created: true };
    const theirs = await readKeyPair(cluster, ns, plan.secretName);
    if (!theirs) throw ApplicationFailure.retryable(`Secret ${where} vanished while being created`);
    validate(plan, theirs, where);
    return { plan, material: theirs, created: false };
  }

  async function createSecret(
    f: ControlPlaneFacts,
    cluster: HostingCluster,
    name: string,
    pair: KeyPairPem
  ): Promise<boolean> {
    const meta = clusterSecretMeta(f.clusterName, f.ref.name, 'certificates');
    const body = owned(f, cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: f.ref.namespace, labels: meta.labels },
      type: meta.type,
      data: { 'tls.crt': encode(pair.cert), 'tls.key': encode(pair.key) },
    });
    // create, never apply: a Secret someone else created in the meantime is theirs and is kept.
    return hostingCall(cluster, `create Secret ${f.ref.namespace}/${name}`, async () => {
      try {
        await cluster.core.createNamespacedSecret({ namespace: f.ref.namespace, body });
        return true;
      } catch (err) {
        if (httpStatusOf(err) !== 409) throw err;
        return false;
      }
    });
  }

  async function serviceFacts(
    cluster: HostingCluster,
    namespace: string,
    name: string
  ): Promise<ServiceFacts | null> {
    const svc = await hostingCall(cluster, `read Service ${namespace}/${name}`, () =>
      nullIfNotFound(() => cluster.core.readNamespacedService({ namespace, name }))
    );
    if (!svc) return null;
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const lb = ingress?.ip || ingress?.hostname;
    return {
      type: svc.spec?.type ?? 'ClusterIP',
      clusterIPs: svc.spec?.clusterIPs ?? [],
      ...(lb ? { loadBalancerAddress: lb } : {}),
    };
  }

  async function nodeAddresses(cluster: HostingCluster, spec: HostedSpec): Promise<NodeAddress[][]> {
    if (spec.service.type !== 'NodePort' || spec.externalAddress) return [];
    const nodes = await hostingCall(cluster, 'list Nodes', () => cluster.core.listNode({ limit: 50 }));
    return nodes.items
      .filter((n) => !n.spec?.unschedulable)
      .map((n) => (n.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })));
  }

  async function statefulSetFacts(
    cluster: HostingCluster,
    namespace: string,
    name: string
  ): Promise<StatefulSetFacts | undefined> {
    const sts = await hostingCall(cluster, `read StatefulSet ${namespace}/${name}`, () =>
      nullIfNotFound(() => cluster.apps.readNamespacedStatefulSet({ namespace, name }))
    );
    if (!sts) return undefined;
    const s = sts.status;
    return {
      replicas: s?.replicas ?? 0,
      readyReplicas: s?.readyReplicas ?? 0,
      availableReplicas: s?.availableReplicas ?? 0,
      updatedReplicas: s?.updatedReplicas ?? 0,
      ...(s?.currentRevision ? { currentRevision: s.currentRevision } : {}),
      ...(s?.updateRevision ? { updateRevision: s.updateRevision } : {}),
      observed: (s?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0),
    };
  }

  async function applyAll(
    f: ControlPlaneFacts,
    cluster: HostingCluster,
    manifests: Manifest[]
  ): Promise<void> {
    for (const manifest of manifests) {
      const what = `apply ${manifest.kind} ${manifest.metadata.namespace}/${manifest.metadata.name}`;
      await hostingCall(cluster, what, () => cluster.apply(owned(f, cluster, manifest)));
    }
  }

  /** After a `service.type` change, the Service under the old type's name; only one k0sflow made. */
  async function deleteStaleServices(f: ControlPlaneFacts, cluster: HostingCluster): Promise<void> {
    const ns = f.ref.namespace;
    for (const name of staleServiceNames(f.ref.name, f.clusterName, f.spec.service.type)) {
      const svc = await hostingCall(cluster, `read Service ${ns}/${name}`, () =>
        nullIfNotFound(() => cluster.core.readNamespacedService({ namespace: ns, name }))
      );
      if (svc?.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) continue;
      await hostingCall(cluster, `delete Service ${ns}/${name}`, () =>
        nullIfNotFound(() => cluster.core.deleteNamespacedService({ namespace: ns, name }))
      );
    }
  }

  async function apply(f: ControlPlaneFacts, cluster: HostingCluster): Promise<ApplyResult> {
    const ctx = contextOf(f);
    const ns = f.ref.namespace;
    const names = hostedNames(f.ref.name, f.clusterName, f.spec.service.type);
    await applyAll(f, cluster, [serviceManifest(ctx)]);
    await deleteStaleServices(f, cluster);
    const service = await serviceFacts(cluster, ns, names.service);
    const resolution: EndpointResolution = resolveEndpoint(
      f.spec,
      service,
      await nodeAddresses(cluster, f.spec)
    );
    if ('waitingFor' in resolution) return { waitingFor: resolution.waitingFor };
    const sans = apiServerSans(ctx, service?.clusterIPs ?? [], resolution.host);
    const config = stringify(k0sClusterConfig(ctx, sans, resolution.host));
    const plan = certificatePlan(f.spec, f.clusterName, f.ref.name, ns);
    const etcd = usesEtcd(f.spec) ? await statefulSetFacts(cluster, ns, names.etcd) : undefined;
    await applyAll(f, cluster, [
      ...configMaps(ctx, config),
      ...(usesEtcd(f.spec) ? etcdManifests(ctx, plan, etcdReplicasNow(f.spec.replicas, etcd)) : []),
      controlPlaneStatefulSet(ctx, plan),
    ]);
    const statefulSet = await statefulSetFacts(cluster, ns, names.statefulSet);
    const etcdNow = usesEtcd(f.spec) ? await statefulSetFacts(cluster, ns, names.etcd) : undefined;
    return {
      endpoint: resolution,
      ...(statefulSet ? { statefulSet } : {}),
      ...(etcdNow ? { etcd: { replicas: etcdNow.replicas, readyReplicas: etcdNow.readyReplicas } } : {}),
    };
  }

  async function kubeconfigUpToDate(
    name: string,
    ns: string,
    server: string,
    ca: KeyPairPem
  ): Promise<boolean> {
    const existing = await kubeCall(`read Secret ${ns}/${name}`, () =>
      nullIfNotFound(() => core.readNamespacedSecret({ namespace: ns, name }))
    );
    const value = existing?.data?.value;
    if (!value) return false;
    const config = new KubeConfig();
    try {
      config.loadFromString(decode(value));
    } catch {
      return false;
    }
    const cluster = config.getCurrentCluster();
    const user = config.getCurrentUser();
    if (
      cluster?.server !== server ||
      !cluster.caData ||
      decode(cluster.caData) !== ca.cert ||
      !user?.certData
    )
      return false;
    return (
      new Date(parseCertificate(decode(user.certData)).notAfter).getTime() - Date.now() >
      KUBECONFIG_RENEW_BEFORE_MS
    );
  }

  async function ensureKubeconfig(
    f: ControlPlaneFacts,
    cluster: HostingCluster,
    endpoint: Endpoint
  ): Promise<boolean> {
    const ns = f.ref.namespace;
    const caName = certificatePlan(f.spec, f.clusterName, f.ref.name, ns).find(
      (c) => c.purpose === 'ca'
    )!.secretName;
    const ca = await readKeyPair(cluster, ns, caName);
    if (!ca) throw ApplicationFailure.retryable(`Secret ${ns}/${caName} is missing`, 'CertificatesMissing');
    const names = hostedNames(f.ref.name, f.clusterName, f.spec.service.type);
    const server = `https://${formatHost(endpoint.host)}:${endpoint.port}`;
    if (await kubeconfigUpToDate(names.kubeconfig, ns, server, ca)) return false;
    const client = await issueCertificate(ca, {
      commonName: 'kubernetes-admin',
      organizations: ['system:masters'],
      usages: ['client'],
    });
    const value = adminKubeconfig({
      clusterName: f.clusterName,
      server,
      caCert: ca.cert,
      clientCert: client.cert,
      clientKey: client.key,
    });
    const meta = clusterSecretMeta(f.clusterName, f.ref.name, 'kubeconfig');
    const metadata = f.spec.kubeconfigSecretMetadata;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: names.kubeconfig,
        namespace: ns,
        labels: { ...metadata?.labels, ...meta.labels, [CLUSTER_NAME_LABEL]: f.clusterName },
        ...(metadata?.annotations ? { annotations: metadata.annotations } : {}),
        ownerReferences: [
          {
            apiVersion: apiVersionOf(f.ref),
            kind: f.ref.kind,
            name: f.ref.name,
            uid: f.ref.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      type: meta.type,
      data: { value: encode(value) },
    };
    await kubeCall(`apply Secret ${ns}/${names.kubeconfig}`, () =>
      core.patchNamespacedSecret(
        { namespace: ns, name: names.kubeconfig, body, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
      )
    );
    return true;
  }

  async function probe(f: ControlPlaneFacts): Promise<ProbeResult> {
    const ns = f.ref.namespace;
    const names = hostedNames(f.ref.name, f.clusterName, f.spec.service.type);
    const secret = await kubeCall(`read Secret ${ns}/${names.kubeconfig}`, () =>
      nullIfNotFound(() => core.readNamespacedSecret({ namespace: ns, name: names.kubeconfig }))
    );
    if (!secret?.data?.value)
      return {
        ok: false,
        reason: 'KubeconfigMissing',
        message: `Secret ${names.kubeconfig} not written yet`,
      };
    const config = new KubeConfig();
    config.loadFromString(decode(secret.data.value));
    reuseConnections(config);
    try {
      await withTimeout(config.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' }), 10_000);
      return { ok: true, reason: 'Available' };
    } catch (err) {
      return {
        ok: false,
        reason: 'KubeSystemNamespaceNotAccessible',
        message: errorMessage(err).slice(0, 300),
      };
    }
  }

  async function deleteAll(
    f: { ref: ObjectRef; meta: ObjectMeta; spec: HostedSpec },
    cluster: HostingCluster
  ): Promise<string[]> {
    const ns = f.ref.namespace;
    const selector = `cluster=${f.ref.name},${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    const deleted: string[] = [];
    const kinds: [
      string,
      () => Promise<{ items: { metadata?: { name?: string } }[] }>,
      (name: string) => Promise<unknown>,
    ][] = [
      [
        'StatefulSet',
        () => cluster.apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: selector }),
        (name) =>
          cluster.apps.deleteNamespacedStatefulSet({ namespace: ns, name, propagationPolicy: 'Background' }),
      ],
      [
        'Service',
        () => cluster.core.listNamespacedService({ namespace: ns, labelSelector: selector }),
        (name) => cluster.core.deleteNamespacedService({ namespace: ns, name }),
      ],
      [
        'ConfigMap',
        () => cluster.core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector }),
        (name) => cluster.core.deleteNamespacedConfigMap({ namespace: ns, name }),
      ],
      [
        'Secret',
        () => cluster.core.listNamespacedSecret({ namespace: ns, labelSelector: selector }),
        (name) => cluster.core.deleteNamespacedSecret({ namespace: ns, name }),
      ],
    ];
    for (const [kind, list, remove] of kinds) {
      const items = await hostingCall(cluster, `list ${kind}s of ${ns}/${f.ref.name}`, list);
      for (const item of items.items) {
        const name = item.metadata?.name;
        if (!name) continue;
        await hostingCall(cluster, `delete ${kind} ${ns}/${name}`, async () => {
          try {
            await remove(name);
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        });
        deleted.push(`${kind}/${name}`);
      }
    }
    return deleted;
  }

  return {
    async ensureHostedCertificates(ref) {
      const f = await facts(ref);
      const cluster = await hosting.resolve(f.spec.kubeconfigRef);
      await ensureNamespace(cluster, ref.namespace);
      return ensureCertificates(f, cluster);
    },

    async applyHostedControlPlane(ref) {
      const f = await facts(ref);
      return apply(f, await hosting.resolve(f.spec.kubeconfigRef));
    },

    async publishHostedEndpoint({ ref, endpoint }) {
      const f = await facts(ref);
      let changed = false;
      const own = f.spec.controlPlaneEndpoint;
      if (own?.host !== endpoint.host || own.port !== endpoint.port) {
        await mergePatch(clients, ref, { spec: { controlPlaneEndpoint: endpoint } });
        changed = true;
      }
      // CAPI forbids changing a Cluster's endpoint once set; set it only when empty.
      if (!f.cluster.spec?.controlPlaneEndpoint?.host) {
        await mergePatch(
          clients,
          { ...CLUSTER_RESOURCE, namespace: ref.namespace, name: f.clusterName, uid: f.cluster.metadata.uid },
          {
            spec: { controlPlaneEndpoint: endpoint },
          }
        );
        changed = true;
      }
      return { changed };
    },

    async ensureHostedKubeconfig({ ref, endpoint }) {
      const f = await facts(ref);
      return { written: await ensureKubeconfig(f, await hosting.resolve(f.spec.kubeconfigRef), endpoint) };
    },

    async probeHostedControlPlane(ref) {
      return probe(await facts(ref));
    },

    async deleteHostedControlPlane(ref) {
      const raw = (await kubeCall(`read ${ref.kind} ${ref.namespace}/${ref.name}`, () =>
        nullIfNotFound(() => custom.getNamespacedCustomObject({ ...ref }) as Promise<unknown>)
      )) as { metadata: ObjectMeta; spec?: unknown } | null;
      if (!raw || raw.metadata.uid !== ref.uid) return { deleted: [] };
      const parsed = K0smotronControlPlaneSpecSchema.safeParse(raw.spec ?? {});
      const spec = (parsed.success ? parsed.data : { kubeconfigRef: undefined }) as HostedSpec;
      const cluster = await hosting.resolve(spec.kubeconfigRef);
      return { deleted: await deleteAll({ ref, meta: raw.metadata, spec }, cluster) };
    },
  };
}

async function mergePatch(clients: KubeClients, ref: ObjectRef, body: object): Promise<void> {
  await kubeCall(`patch ${ref.kind} ${ref.namespace}/${ref.name}`, () =>
    clients.custom.patchNamespacedCustomObject(
      { ...ref, body, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    )
  );
}

function invalidCertificate(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, INVALID_CERTIFICATE);
}

const encode = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const decode = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** IPv6 hosts need brackets in a URL. */
function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
