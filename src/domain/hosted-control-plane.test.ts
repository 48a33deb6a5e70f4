import { K0smotronControlPlaneSpecSchema } from './api/controlplane.js';
import {
  KINE_URL_PLACEHOLDER,
  apiServerSans,
  certificatePlan,
  configMaps,
  controlPlaneStatefulSet,
  controllerFlags,
  entrypointScript,
  etcdManifests,
  etcdReplicas,
  etcdReplicasNow,
  hostedNames,
  hostedSpecProblem,
  hostedStatusUpToDate,
  imageTag,
  k0sClusterConfig,
  planHostedStatus,
  resolveEndpoint,
  serviceManifest,
  staleServiceNames,
  volumeNameForPath,
  type HostedContext,
  type HostedSpec,
  type StatefulSetFacts,
} from './hosted-control-plane.js';

const now = new Date('2026-11-22T10:00:00Z');

function specOf(raw: unknown): HostedSpec {
  return K0smotronControlPlaneSpecSchema.parse(raw) as HostedSpec;
}

function ctxOf(raw: unknown, network: HostedContext['network'] = {}): HostedContext {
  return { cpName: 'cp', clusterName: 'demo', namespace: 'ns1', spec: specOf(raw), network };
}

// The seed's control plane: NodePort, emptyDir, etcd datastore by default.
const SEED = { version: 'v1.27.2-k0s.0', persistence: { type: 'emptyDir' }, service: { type: 'NodePort' } };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('names and versions', () => {
  it('names objects as k0smotron does, the Service by type, the kubeconfig after the cluster', () => {
    expect(hostedNames('cp', 'demo', 'NodePort')).toMatchObject({
      statefulSet: 'kmc-cp',
      service: 'kmc-cp-nodeport',
      config: 'kmc-cp-config',
      entrypoint: 'kmc-entrypoint-cp-config',
      etcd: 'kmc-cp-etcd',
      kubeconfig: 'demo-kubeconfig',
    });
    expect(hostedNames('cp', 'demo', 'LoadBalancer').service).toBe('kmc-cp-lb');
    expect(hostedNames('cp', 'demo', 'ClusterIP').service).toBe('kmc-cp');
    expect(staleServiceNames('cp', 'demo', 'NodePort')).toEqual(['kmc-cp', 'kmc-cp-lb']);
  });

  it('turns any version notation into an image tag', () => {
    expect(imageTag('v1.27.2-k0s.0')).toBe('v1.27.2-k0s.0');
    expect(imageTag('v1.31.2+k0s.1')).toBe('v1.31.2-k0s.1');
    expect(imageTag('v1.31.2')).toBe('v1.31.2-k0s.0');
    expect(imageTag(undefined)).toBe('v1.27.9-k0s.0');
  });
});

describe('certificatePlan', () => {
  it('plans the four CAPI Secrets, plus the etcd leafs when etcd is the datastore', () => {
    const plan = certificatePlan(specOf(SEED), 'demo', 'cp', 'ns1');
    expect(plan.map((p) => p.secretName)).toEqual([
      'demo-ca',
      'demo-proxy',
      'demo-sa',
      'demo-etcd',
      'demo-etcd-server',
      'demo-etcd-peer',
      'demo-apiserver-etcd-client',
    ]);
    const server = plan.find((p) => p.purpose === 'etcd-server');
    expect(server).toMatchObject({ kind: 'leaf', signedBy: 'etcd', usages: ['server', 'client'] });
    expect(server?.kind === 'leaf' && server.dnsNames).toEqual(
      expect.arrayContaining(['kmc-cp-etcd', 'kmc-cp-etcd.ns1.svc', '*.kmc-cp-etcd.ns1.svc', 'localhost'])
    );
  });

  it('uses Secret names from certificateRefs and skips etcd leafs with kine', () => {
    const plan = certificatePlan(
      specOf({ kineDataSourceURL: 'postgres://x', certificateRefs: [{ type: 'ca', name: 'my-ca' }] }),
      'demo',
      'cp',
      'ns1'
    );
    expect(plan.map((p) => p.secretName)).toEqual(['my-ca', 'demo-proxy', 'demo-sa', 'demo-etcd']);
  });
});

describe('Service', () => {
  it('NodePort: node ports equal the API and konnectivity ports, selecting the controller pods', () => {
    const svc = serviceManifest(
      ctxOf({ ...SEED, service: { type: 'NodePort', apiPort: 31001, konnectivityPort: 31002 } })
    );
    expect(svc.metadata.name).toBe('kmc-cp-nodeport');
    expect((svc.spec as Json).ports).toEqual([
      { name: 'api', port: 31001, targetPort: 31001, protocol: 'TCP', nodePort: 31001 },
      { name: 'konnectivity', port: 31002, targetPort: 31002, protocol: 'TCP', nodePort: 31002 },
    ]);
    expect((svc.spec as Json).selector).toEqual({
      app: 'k0smotron',
      cluster: 'cp',
      component: 'cluster',
      'cluster.x-k8s.io/control-plane': 'true',
    });
  });

  it('LoadBalancer: no node ports, the class and annotations as given', () => {
    const svc = serviceManifest(
      ctxOf({ service: { type: 'LoadBalancer', loadBalancerClass: 'lb.example/x', annotations: { a: 'b' } } })
    );
    expect((svc.spec as Json).ports[0].nodePort).toBeUndefined();
    expect((svc.spec as Json).loadBalancerClass).toBe('lb.example/x');
    expect(svc.metadata.annotations).toEqual({ a: 'b' });
  });
});

describe('k0s ClusterConfig', () => {
  it('lays the port, SANs, external address, network and etcd over the user config', () => {
    const ctx = ctxOf(
      {
        ...SEED,
        k0sConfig: {
          apiVersion: 'k0s.k0sproject.io/v1beta1',
          kind: 'ClusterConfig',
          spec: { api: { port: 1, sans: ['user.example'] }, telemetry: { enabled: false } },
        },
      },
      { podCIDR: '192.168.0.0/16', serviceCIDR: '10.128.0.0/12', clusterDomain: 'cluster.local' }
    );
    const sans = apiServerSans(ctx, ['10.96.0.12'], '10.0.0.5');
    const config = k0sClusterConfig(ctx, sans, '10.0.0.5') as Json;
    expect(config.spec.telemetry).toEqual({ enabled: false });
    expect(config.spec.api.port).toBe(30443);
    expect(config.spec.api.externalAddress).toBe('10.0.0.5');
    expect(config.spec.api.sans).toEqual(
      expect.arrayContaining(['user.example', '10.96.0.12', '10.0.0.5', 'kmc-cp-nodeport.ns1.svc'])
    );
    expect(config.spec.network).toEqual({
      podCIDR: '192.168.0.0/16',
      serviceCIDR: '10.128.0.0/12',
      clusterDomain: 'cluster.local',
    });
    expect(config.spec.storage.etcd.externalCluster).toMatchObject({
      endpoints: ['https://kmc-cp-etcd:2379'],
      etcdPrefix: 'cp',
      caFile: '/var/lib/k0s/pki/etcd-ca.crt',
    });
  });

  it('kine from a Secret: a placeholder in the ConfigMap, replaced in the pod from the environment', () => {
    const ctx = ctxOf({ kineDataSourceSecretName: 'kine-dsn' });
    const config = k0sClusterConfig(ctx, []) as Json;
    expect(config.spec.storage).toEqual({ type: 'kine', kine: { dataSource: KINE_URL_PLACEHOLDER } });
    const script = entrypointScript(ctx.spec);
    expect(script).toContain(`s|${KINE_URL_PLACEHOLDER}|$url|g`);
    const sts = controlPlaneStatefulSet(ctx, certificatePlan(ctx.spec, 'demo', 'cp', 'ns1')) as Json;
    expect(sts.spec.template.spec.containers[0].envFrom).toEqual([
      { configMapRef: { name: 'kmc-cp-config' } },
      { secretRef: { name: 'kine-dsn' } },
    ]);
  });

  it('the ConfigMap holds the YAML under k0smotron key, the entrypoint runs k0s controller with it', () => {
    const [config, entrypoint] = configMaps(ctxOf(SEED), 'apiVersion: x\n');
    expect(config?.data).toEqual({ K0SMOTRON_K0S_YAML: 'apiVersion: x\n' });
    expect((entrypoint?.data as Json)['k0smotron-entrypoint.sh']).toContain(
      'exec k0s controller --config=/etc/k0s/k0s.yaml --enable-dynamic-config'
    );
  });

  it('keeps controller flags the user set instead of adding defaults', () => {
    expect(controllerFlags(specOf({ controllerPlaneFlags: ['--config=/x.yaml', '--debug'] }))).toEqual([
      '--config=/x.yaml',
      '--debug',
      '--enable-dynamic-config',
    ]);
  });
});

describe('StatefulSets', () => {
  const plan = certificatePlan(specOf(SEED), 'demo', 'cp', 'ns1');

  it('runs k0s controller from the versioned image with the PKI projected from the Secrets', () => {
    const sts = controlPlaneStatefulSet(ctxOf({ ...SEED, replicas: 3 }), plan) as Json;
    const pod = sts.spec.template.spec;
    expect(sts.spec.replicas).toBe(3);
    expect(pod.containers[0].image).toBe('quay.io/k0sproject/k0s:v1.27.2-k0s.0');
    expect(pod.containers[0].ports[0]).toEqual({ name: 'api', containerPort: 30443, protocol: 'TCP' });
    const certs = (pod.volumes as Json[]).find((v) => v.name === 'certs');
    expect((certs?.projected.sources as Json[]).map((s) => s.secret.name as string)).toEqual([
      'demo-ca',
      'demo-sa',
      'demo-proxy',
      'demo-etcd',
      'demo-apiserver-etcd-client',
    ]);
    expect(pod.volumes).toContainEqual({ name: 'kmc-cp', emptyDir: {} });
    expect(pod.initContainers[0].command[2]).toContain('/var/lib/k0s/pki');
  });

  it('hostPath and pvc persistence; mounts and manifests become volumes', () => {
    const hostPath = controlPlaneStatefulSet(
      ctxOf({
        persistence: { type: 'hostPath', hostPath: '/data/k0s' },
        mounts: [{ path: '/etc/extra', secret: { secretName: 's' } }],
      }),
      plan
    ) as Json;
    const pod = hostPath.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'kmc-cp', hostPath: { path: '/data/k0s' } });
    expect(pod.volumes).toContainEqual({ name: 'etc-extra', secret: { secretName: 's' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'etc-extra',
      mountPath: '/etc/extra',
      readOnly: true,
    });

    const pvc = controlPlaneStatefulSet(
      ctxOf({
        persistence: {
          type: 'pvc',
          autoDeletePVCs: true,
          persistentVolumeClaim: { spec: { resources: { requests: { storage: '5Gi' } } } },
        },
      }),
      plan
    ) as Json;
    expect(pvc.spec.volumeClaimTemplates[0].metadata.name).toBe('kmc-cp');
    expect(pvc.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Delete',
      whenScaled: 'Retain',
    });
  });

  it('etcd: an odd member count, a headless Service, server and peer certificates', () => {
    expect([1, 2, 3, 4].map(etcdReplicas)).toEqual([1, 3, 3, 5]);
    const [svc, sts] = etcdManifests(ctxOf({ ...SEED, replicas: 2 }), plan) as Json[];
    expect(svc?.spec.clusterIP).toBe('None');
    expect(sts?.spec.replicas).toBe(3);
    const sources = (sts?.spec.template.spec.volumes[0].projected.sources as Json[]).map(
      (s) => s.secret.name as string
    );
    expect(sources).toEqual(['demo-etcd', 'demo-etcd-server', 'demo-etcd-peer']);
    // Growing the cluster must not roll running members: the template ignores the count.
    const [, one] = etcdManifests(ctxOf(SEED), plan, 1) as Json[];
    expect(one?.spec.template).toEqual(sts?.spec.template);
  });

  it('etcd grows one ready member at a time and never shrinks', () => {
    expect(etcdReplicasNow(3)).toBe(3);
    expect(etcdReplicasNow(3, { replicas: 1, readyReplicas: 1 })).toBe(2);
    expect(etcdReplicasNow(3, { replicas: 2, readyReplicas: 1 })).toBe(2);
    expect(etcdReplicasNow(1, { replicas: 3, readyReplicas: 3 })).toBe(3);
    const [, sts] = etcdManifests(ctxOf(SEED), plan, 2) as Json[];
    expect(sts?.spec.replicas).toBe(2);
    expect(sts?.spec.template.spec.initContainers[0].command[2]).toContain('etcdctl member add "$POD_NAME"');
  });

  it('names volumes from paths as k0smotron does', () => {
    expect(volumeNameForPath('/etc/foo/bar')).toBe('etc-foo-bar');
    expect(volumeNameForPath('/etc/Foo_bar.d')).toMatch(/^etc-foo-bar-d-[0-9a-f]{5}$/);
  });
});

describe('resolveEndpoint', () => {
  const svc = { type: 'NodePort', clusterIPs: ['10.96.0.7'] };
  it('externalAddress first, then per Service type', () => {
    expect(resolveEndpoint(specOf({ ...SEED, externalAddress: 'cp.example' }), null, [])).toEqual({
      host: 'cp.example',
      port: 30443,
    });
    const nodes = [
      [{ type: 'InternalIP', address: '10.0.0.2' }],
      [{ type: 'ExternalIP', address: '1.2.3.4' }],
    ];
    expect(resolveEndpoint(specOf(SEED), svc, nodes)).toEqual({ host: '1.2.3.4', port: 30443 });
    expect(resolveEndpoint(specOf(SEED), svc, [[{ type: 'InternalIP', address: '10.0.0.2' }]])).toEqual({
      host: '10.0.0.2',
      port: 30443,
    });
    expect(resolveEndpoint(specOf(SEED), svc, [])).toEqual({
      waitingFor: 'a Node address in the hosting cluster',
    });
    const lb = specOf({ service: { type: 'LoadBalancer' } });
    expect(resolveEndpoint(lb, { type: 'LoadBalancer', clusterIPs: [] }, [])).toEqual({
      waitingFor: 'a load balancer address',
    });
    expect(
      resolveEndpoint(lb, { type: 'LoadBalancer', clusterIPs: [], loadBalancerAddress: '5.6.7.8' }, [])
    ).toEqual({ host: '5.6.7.8', port: 30443 });
    expect(resolveEndpoint(specOf({}), { type: 'ClusterIP', clusterIPs: ['10.96.0.9'] }, [])).toEqual({
      host: '10.96.0.9',
      port: 30443,
    });
  });
});

describe('planHostedStatus', () => {
  const rolled: StatefulSetFacts = {
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    updatedReplicas: 1,
    currentRevision: 'r1',
    updateRevision: 'r1',
    observed: true,
  };
  const base = { generation: 2, current: undefined, spec: specOf(SEED), cpName: 'cp', now, paused: false };

  it('available: ready, initialized per both contracts, version, hosted, Available=True', () => {
    const status = planHostedStatus({
      ...base,
      statefulSet: rolled,
      available: { ok: true, reason: 'Available' },
    });
    expect(status).toMatchObject({
      ready: true,
      initialized: true,
      initialization: { controlPlaneInitialized: true },
      externalManagedControlPlane: true,
      version: 'v1.27.2-k0s.0',
      replicas: 1,
      readyReplicas: 1,
      unavailableReplicas: 0,
      selector: 'app=k0smotron,cluster=cp,cluster.x-k8s.io/control-plane=true,component=cluster',
    });
    expect(status.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('during a rollout keeps the old version and says how far it got; initialized stays true', () => {
    const before = planHostedStatus({
      ...base,
      statefulSet: rolled,
      available: { ok: true, reason: 'Available' },
    });
    const rolling = planHostedStatus({
      ...base,
      current: before,
      spec: specOf({ ...SEED, version: 'v1.28.1-k0s.0', replicas: 2 }),
      statefulSet: { ...rolled, replicas: 2, updatedReplicas: 1, updateRevision: 'r2' },
      available: { ok: false, reason: 'KubeSystemNamespaceNotAccessible', message: 'refused' },
    });
    expect(rolling.version).toBe('v1.27.2-k0s.0');
    expect(rolling.initialized).toBe(true);
    expect(rolling.ready).toBe(false);
    expect(rolling.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RollingOut',
    });
    expect(hostedStatusUpToDate(before, rolling)).toBe(false);
    expect(hostedStatusUpToDate(rolling, { ...rolling })).toBe(true);
  });

  it('a problem is reported without taking back what was reached', () => {
    const before = planHostedStatus({
      ...base,
      statefulSet: rolled,
      available: { ok: true, reason: 'Available' },
    });
    const bad = planHostedStatus({
      ...base,
      current: before,
      problem: { reason: 'HostingClusterUnavailable', message: 'gone' },
    });
    expect(bad).toMatchObject({ initialized: true, ready: true, replicas: 1, readyReplicas: 1 });
    expect(bad.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'HostingClusterUnavailable',
    });
    expect(bad.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
  });
});

describe('hostedSpecProblem', () => {
  it('catches what the schema cannot', () => {
    expect(hostedSpecProblem(specOf({ persistence: { type: 'pvc' } }))).toMatch(
      /persistentVolumeClaim is missing/
    );
    expect(hostedSpecProblem(specOf({ persistence: { type: 'hostPath' } }))).toMatch(/hostPath is empty/);
    expect(hostedSpecProblem(specOf(SEED))).toBeUndefined();
  });
});
