// The hosted control plane end to end: the seed's K0smotronControlPlane (NodePort, emptyDir) with its
// Cluster and RemoteCluster, real CAPI core, and the proving ground's pod double, which runs a real
// etcd + kube-apiserver + kube-controller-manager for each pod with exactly the certificates k0sflow
// made. Only the API port is the test's (node ports are shared by the whole management cluster).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import {
  AppsV1Api,
  EventsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { parse } from 'yaml';

import { workflowIdFor } from '../../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  provingGround,
  rejection,
  startK0sflow,
  temporalClient,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { historyText, recordHistory } from '../harness/histories.js';
import {
  KMC,
  controlPlaneReason,
  cpCondition,
  freeNodePort,
  getControlPlane,
  kubectlWith,
  secretText,
  seedObjects,
  servingCertificateIssuer,
} from '../harness/hosted.js';
import { CLUSTER } from '../harness/resources.js';

const run = promisify(execFile);
const mergePatch = (): ReturnType<typeof setHeaderOptions> =>
  setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface ClusterObject {
  spec: { controlPlaneEndpoint?: { host: string; port: number } };
  status?: { conditions?: { type: string; status: string; reason: string }[] };
}

describe('K0smotronControlPlane: the hosted control plane', () => {
  const env = provingGround();
  let kube: Kube;
  let apps: AppsV1Api;
  let ns: string;
  let k0sflow: K0sflowProcess;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    kube = managementKube();
    apps = kube.config.makeApiClient(AppsV1Api);
    ns = await createNamespace(kube, 'hosted');
    k0sflow = startK0sflow({ namespace: ns });
    temporal = await temporalClient();
  });

  afterAll(async () => {
    await k0sflow?.stop();
    await temporal?.close();
  });

  const getCluster = async (name: string): Promise<ClusterObject> =>
    (await kube.custom.getNamespacedCustomObject({ ...CLUSTER, namespace: ns, name })) as ClusterObject;

  it("the seed's control plane: certificates, config, Service, StatefulSet, endpoint, a working kubeconfig, CAPI initialized and available", async () => {
    const apiPort = await freeNodePort(kube);
    await createAll(kube, ns, seedObjects('remote-test', apiPort));

    const cp = await controlPlaneReason(kube, ns, 'remote-test', 'Available', 'Available');
    expect(cp.status).toMatchObject({
      ready: true,
      initialized: true,
      initialization: { controlPlaneInitialized: true },
      externalManagedControlPlane: true,
      version: 'v1.27.2-k0s.0',
      replicas: 1,
      readyReplicas: 1,
    });

    // Certificates: the four CAPI Secrets, plus the etcd datastore's, owned by the control plane.
    for (const purpose of [
      'ca',
      'sa',
      'proxy',
      'etcd',
      'etcd-server',
      'etcd-peer',
      'apiserver-etcd-client',
    ]) {
      const secret = await kube.core.readNamespacedSecret({ namespace: ns, name: `remote-test-${purpose}` });
      expect(secret.type).toBe('cluster.x-k8s.io/secret');
      expect(Object.keys(secret.data ?? {}).sort()).toEqual(['tls.crt', 'tls.key']);
      expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'K0smotronControlPlane',
        uid: cp.metadata.uid,
      });
    }

    // The endpoint: the node's address and the node port, on the control plane and on the Cluster.
    const node = (await kube.core.listNode()).items[0]!;
    const nodeAddress = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    expect(cp.spec.controlPlaneEndpoint).toEqual({ host: nodeAddress, port: apiPort });
    const cluster = await getCluster('remote-test');
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: nodeAddress, port: apiPort });

    const svc = await kube.core.readNamespacedService({ namespace: ns, name: 'kmc-remote-test-nodeport' });
    expect(svc.spec?.type).toBe('NodePort');
    expect(svc.spec?.ports?.find((p) => p.name === 'api')?.nodePort).toBe(apiPort);

    const config = await kube.core.readNamespacedConfigMap({ namespace: ns, name: 'kmc-remote-test-config' });
    const k0s = parse(config.data?.K0SMOTRON_K0S_YAML ?? '') as { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(k0s.spec.api).toMatchObject({ port: apiPort, externalAddress: nodeAddress });
    expect(k0s.spec.api.sans).toEqual(
      expect.arrayContaining([nodeAddress, 'kmc-remote-test-nodeport.' + ns + '.svc'])
    );
    // The seed Cluster's network reaches k0s.
    expect(k0s.spec.network).toEqual({
      podCIDR: '192.168.0.0/16',
      serviceCIDR: '10.128.0.0/12',
      clusterDomain: 'cluster.local',
    });

    const sts = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-remote-test' });
    expect(sts.spec?.template.spec?.containers[0]?.image).toBe('quay.io/k0sproject/k0s:v1.27.2-k0s.0');
    expect(sts.spec?.template.spec?.volumes?.find((v) => v.name === 'kmc-remote-test')?.emptyDir).toEqual({});
    expect(sts.metadata?.ownerReferences?.[0]?.uid).toBe(cp.metadata.uid);

    // The kubeconfig Secret, as CAPI expects it, works against the child API server.
    const kubeconfigSecret = await kube.core.readNamespacedSecret({
      namespace: ns,
      name: 'remote-test-kubeconfig',
    });
    expect(kubeconfigSecret.type).toBe('cluster.x-k8s.io/secret');
    expect(kubeconfigSecret.metadata?.labels?.['cluster.x-k8s.io/cluster-name']).toBe('remote-test');
    const kubeconfig = await secretText(kube, ns, 'remote-test-kubeconfig', 'value');
    expect(kubeconfig).toContain(`server: https://${nodeAddress}:${apiPort}`);
    const namespaces = await kubectlWith(kubeconfig, ['get', 'namespaces', '-o', 'name']);
    expect(namespaces).toContain('namespace/kube-system');

    // CAPI core reads both signals from the control plane.
    await eventually(
      async () => {
        const conditions = (await getCluster('remote-test')).status?.conditions ?? [];
        for (const type of ['ControlPlaneInitialized', 'ControlPlaneAvailable'])
          expect(conditions.find((c) => c.type === type)?.status).toBe('True');
      },
      120_000,
      1000
    );

    // The CA key never passed through the workflow's history.
    const history = await temporal.client.workflow
      .getHandle(
        workflowIdFor({
          kind: 'K0smotronControlPlane',
          namespace: ns,
          name: 'remote-test',
          uid: cp.metadata.uid,
        })
      )
      .fetchHistory();
    const text = historyText(history);
    expect(text).toContain('applyHostedControlPlane');
    const caKey = await secretText(kube, ns, 'remote-test-ca', 'tls.key');
    const keyBody = caKey.split('\n').filter((l) => l && !l.startsWith('-----'))[1]!;
    expect(text).not.toContain(keyBody);
    expect(text).not.toContain(Buffer.from(caKey).toString('base64').slice(40, 120));
  });

  it('uses a CA the user brought, and the API server serves a certificate that chains to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byo-ca-'));
    try {
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=byo-root-ca',
        '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'),
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']); // prettier-ignore
      const caCert = readFileSync(join(dir, 'ca.crt'), 'utf8');
      const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
      await kube.core.createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: { name: 'byo-ca' },
          type: 'kubernetes.io/tls',
          stringData: { 'tls.crt': caCert, 'tls.key': caKey },
        },
      });
      const apiPort = await freeNodePort(kube);
      await createAll(kube, ns, seedObjects('byo', apiPort));
      const cp = await controlPlaneReason(kube, ns, 'byo', 'Available', 'Available');

      // Used, not overwritten, not adopted.
      const secret = await kube.core.readNamespacedSecret({ namespace: ns, name: 'byo-ca' });
      expect(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString()).toBe(caCert);
      expect(secret.metadata?.ownerReferences).toBeUndefined();

      const { host, port } = cp.spec.controlPlaneEndpoint!;
      expect(await servingCertificateIssuer(host, port, caCert)).toBe('byo-root-ca');
      // ...and not to any other CA: the check can fail.
      const other = await secretText(kube, ns, 'remote-test-ca', 'tls.crt');
      await expect(servingCertificateIssuer(host, port, other)).rejects.toThrow();

      const kubeconfig = await secretText(kube, ns, 'byo-kubeconfig', 'value');
      expect(await kubectlWith(kubeconfig, ['get', 'namespace', 'default', '-o', 'name'])).toContain(
        'namespace/default'
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scaling and a version change roll the StatefulSet, and the status follows', async () => {
    await kube.custom.patchNamespacedCustomObject(
      { ...KMC, namespace: ns, name: 'remote-test', body: { spec: { replicas: 2 } } },
      mergePatch()
    );
    await eventually(
      async () => {
        const cp = await getControlPlane(kube, ns, 'remote-test');
        expect(cp.status).toMatchObject({ replicas: 2, readyReplicas: 2 });
        expect(cpCondition(cp, 'Ready')?.status).toBe('True');
      },
      240_000,
      1000
    );
    // etcd grows to an odd member count, one ready member at a time.
    await eventually(
      async () => {
        const etcd = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-remote-test-etcd' });
        expect(etcd.spec?.replicas).toBe(3);
        expect(etcd.status?.readyReplicas).toBe(3);
      },
      240_000,
      1000
    );

    await kube.custom.patchNamespacedCustomObject(
      { ...KMC, namespace: ns, name: 'remote-test', body: { spec: { version: 'v1.28.4+k0s.0' } } },
      mergePatch()
    );
    const rolled = await eventually(
      async () => {
        const cp = await getControlPlane(kube, ns, 'remote-test');
        expect(cp.status).toMatchObject({ version: 'v1.28.4+k0s.0', updatedReplicas: 2, readyReplicas: 2 });
        return cp;
      },
      300_000,
      1000
    );
    expect(cpCondition(rolled, 'Available')?.status).toBe('True');
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-remote-test' });
    expect(sts.spec?.template.spec?.containers[0]?.image).toBe('quay.io/k0sproject/k0s:v1.28.4-k0s.0');
    expect(sts.status?.currentRevision).toBe(sts.status?.updateRevision);
    const pods = await kube.core.listNamespacedPod({
      namespace: ns,
      labelSelector: 'cluster=remote-test,component=cluster',
    });
    expect(pods.items.map((p) => p.spec?.containers[0]?.image)).toEqual([
      'quay.io/k0sproject/k0s:v1.28.4-k0s.0',
      'quay.io/k0sproject/k0s:v1.28.4-k0s.0',
    ]);
  });

  it('LoadBalancer and ClusterIP Services: the endpoint is the load balancer address or the ClusterIP', async () => {
    const lbPort = await freeNodePort(kube);
    const cipPort = lbPort + 2;
    await createAll(kube, ns, [
      ...seedObjects('lb', lbPort, {
        service: { type: 'LoadBalancer', apiPort: lbPort, konnectivityPort: lbPort + 1 },
      }),
      ...seedObjects('cip', cipPort, {
        service: { type: 'ClusterIP', apiPort: cipPort, konnectivityPort: cipPort + 1 },
      }),
    ]);
    const [lb, cip] = await Promise.all([
      controlPlaneReason(kube, ns, 'lb', 'Available', 'Available'),
      controlPlaneReason(kube, ns, 'cip', 'Available', 'Available'),
    ]);
    const lbService = await kube.core.readNamespacedService({ namespace: ns, name: 'kmc-lb-lb' });
    const lbAddress = lbService.status?.loadBalancer?.ingress?.[0]?.ip;
    expect(lbAddress).toBeTruthy();
    expect(lb.spec.controlPlaneEndpoint).toEqual({ host: lbAddress, port: lbPort });
    const cipService = await kube.core.readNamespacedService({ namespace: ns, name: 'kmc-cip' });
    expect(cip.spec.controlPlaneEndpoint).toEqual({ host: cipService.spec?.clusterIP, port: cipPort });
    for (const name of ['lb', 'cip']) {
      const kubeconfig = await secretText(kube, ns, `${name}-kubeconfig`, 'value');
      expect(await kubectlWith(kubeconfig, ['get', 'namespace', 'default', '-o', 'name'])).toContain(
        'default'
      );
    }
    // ClusterIP → NodePort on another port: the old Service goes, the endpoint and kubeconfig follow.
    const nodePort = await freeNodePort(kube);
    await kube.custom.patchNamespacedCustomObject(
      {
        ...KMC,
        namespace: ns,
        name: 'cip',
        body: { spec: { service: { type: 'NodePort', apiPort: nodePort, konnectivityPort: nodePort + 1 } } },
      },
      mergePatch()
    );
    const moved = await eventually(
      async () => {
        const cp = await getControlPlane(kube, ns, 'cip');
        expect(cp.spec.controlPlaneEndpoint?.port).toBe(nodePort);
        // Ready for this generation, not the Ready of before the change.
        expect(cpCondition(cp, 'Ready')).toMatchObject({
          status: 'True',
          observedGeneration: cp.metadata.generation,
        });
        expect(await secretText(kube, ns, 'cip-kubeconfig', 'value')).toContain(`:${nodePort}`);
        expect(await rejection(kube.core.readNamespacedService({ namespace: ns, name: 'kmc-cip' }))).toMatch(
          /not found/
        );
        return cp;
      },
      180_000,
      1000
    );
    await kube.core.readNamespacedService({ namespace: ns, name: 'kmc-cip-nodeport' });
    const movedConfig = await secretText(kube, ns, 'cip-kubeconfig', 'value');
    expect(moved.spec.controlPlaneEndpoint?.host).not.toBe(cipService.spec?.clusterIP);
    await eventually(
      async () =>
        expect(await kubectlWith(movedConfig, ['get', 'namespace', 'default', '-o', 'name'])).toContain(
          'default'
        ),
      60_000,
      1000
    );
    // Not needed further: give their API servers back.
    for (const name of ['lb', 'cip'])
      await kube.custom.deleteNamespacedCustomObject({ ...KMC, namespace: ns, name });
  });

  it('bad input is rejected at apply or reported as a condition, and nothing already made is lost', async () => {
    const [, cp] = seedObjects('bad', 30000);
    const invalidService = { ...cp!, spec: { ...(cp as any).spec, service: { type: 'ExternalName' } } }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(await rejection(createAll(kube, ns, [invalidService]))).toMatch(
      /service.type.*Unsupported value: "ExternalName"/
    );
    const invalidPersistence = { ...cp!, spec: { ...(cp as any).spec, persistence: { type: 'nfs' } } }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(await rejection(createAll(kube, ns, [invalidPersistence]))).toMatch(
      /persistence.type.*Unsupported value: "nfs"/
    );

    // pvc without a claim, on a running control plane: a condition; the StatefulSet stays as it was.
    const before = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-byo' });
    await kube.custom.patchNamespacedCustomObject(
      { ...KMC, namespace: ns, name: 'byo', body: { spec: { persistence: { type: 'pvc' } } } },
      mergePatch()
    );
    const bad = await controlPlaneReason(kube, ns, 'byo', 'Ready', 'InvalidSpec', 60_000);
    expect(cpCondition(bad, 'Ready')?.message).toMatch(/persistentVolumeClaim is missing/);
    expect(bad.status?.initialized).toBe(true);
    const after = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-byo' });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    await kube.custom.patchNamespacedCustomObject(
      { ...KMC, namespace: ns, name: 'byo', body: { spec: { persistence: { type: 'emptyDir' } } } },
      mergePatch()
    );
    await controlPlaneReason(kube, ns, 'byo', 'Ready', 'Ready', 120_000);
  });

  it('kubeconfigRef: waits with a condition while its Secret is missing; then everything lands in the second cluster, the kubeconfig Secret stays here', async () => {
    const second = env.second!;
    const secondConfig = new KubeConfig();
    secondConfig.loadFromFile(second.kubeconfig);
    const secondCore = secondConfig.makeApiClient(CoreV1Api);
    const secondApps = secondConfig.makeApiClient(AppsV1Api);
    const used = (await secondCore.listServiceForAllNamespaces()).items.flatMap((s) =>
      (s.spec?.ports ?? []).map((p) => p.nodePort)
    );
    let apiPort = await freeNodePort(kube);
    while (used.includes(apiPort)) apiPort = await freeNodePort(kube);

    await createAll(
      kube,
      ns,
      seedObjects('remote', apiPort, {
        kubeconfigRef: { name: 'second-kubeconfig', namespace: ns, key: 'value' },
      })
    );
    const waiting = await controlPlaneReason(
      kube,
      ns,
      'remote',
      'Ready',
      'HostingClusterUnavailable',
      60_000
    );
    expect(cpCondition(waiting, 'Ready')?.message).toMatch(/second-kubeconfig.*not found/);

    await kube.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'second-kubeconfig' },
        stringData: { value: readFileSync(second.kubeconfig, 'utf8') },
      },
    });
    const cp = await controlPlaneReason(kube, ns, 'remote', 'Available', 'Available');
    expect(cp.status?.ready).toBe(true);

    // In the second cluster: the StatefulSet, the Service, the certificates; none of it here.
    const sts = await secondApps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-remote' });
    expect(sts.status?.readyReplicas).toBe(1);
    await secondCore.readNamespacedService({ namespace: ns, name: 'kmc-remote-nodeport' });
    await secondCore.readNamespacedSecret({ namespace: ns, name: 'remote-ca' });
    expect(await rejection(apps.readNamespacedStatefulSet({ namespace: ns, name: 'kmc-remote' }))).toMatch(
      /not found/
    );
    expect(await rejection(kube.core.readNamespacedSecret({ namespace: ns, name: 'remote-ca' }))).toMatch(
      /not found/
    );
    // The kubeconfig Secret here, working against the API server in the second cluster.
    const kubeconfig = await secretText(kube, ns, 'remote-kubeconfig', 'value');
    expect(await kubectlWith(kubeconfig, ['get', 'namespace', 'kube-system', '-o', 'name'])).toContain(
      'kube-system'
    );
    await expect(
      secondCore.readNamespacedSecret({ namespace: ns, name: 'remote-kubeconfig' })
    ).rejects.toThrow();

    // Delete: the second cluster is cleaned up too (no owner references reach across clusters).
    await kube.custom.deleteNamespacedCustomObject({ ...KMC, namespace: ns, name: 'remote' });
    await eventually(
      async () => {
        const left = await secondApps.listNamespacedStatefulSet({
          namespace: ns,
          labelSelector: 'cluster=remote',
        });
        expect(left.items).toEqual([]);
        const secrets = await secondCore.listNamespacedSecret({
          namespace: ns,
          labelSelector: 'cluster=remote',
        });
        expect(secrets.items).toEqual([]);
      },
      120_000,
      1000
    );
  });

  it('a hosting cluster that cannot be reached does not keep a deleted control plane forever', async () => {
    await createAll(
      kube,
      ns,
      seedObjects('orphan', 30000, { kubeconfigRef: { name: 'nowhere', namespace: ns, key: 'value' } })
    );
    const waiting = await controlPlaneReason(
      kube,
      ns,
      'orphan',
      'Ready',
      'HostingClusterUnavailable',
      60_000
    );
    expect(waiting.metadata.finalizers).toContain('k0sflow.dev/finalizer');
    await kube.custom.deleteNamespacedCustomObject({ ...KMC, namespace: ns, name: 'orphan' });
    // Three attempts 30 s apart, then a Warning and the finalizer goes.
    await eventually(
      async () => expect(await rejection(getControlPlane(kube, ns, 'orphan'))).toMatch(/not found/),
      150_000,
      1000
    );
    const events = await kube.config.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const warning = events.items.find((e) => e.regarding?.name === 'orphan' && e.reason === 'CleanupFailed');
    expect(warning?.note).toMatch(/nowhere.*not found/);
  });

  it('delete removes everything it made, keeps what the user brought, and the workflow ends', async () => {
    const cp = await getControlPlane(kube, ns, 'byo');
    await kube.custom.deleteNamespacedCustomObject({ ...KMC, namespace: ns, name: 'byo' });
    await eventually(
      async () => {
        expect(await rejection(getControlPlane(kube, ns, 'byo'))).toMatch(/not found/);
        const selector = 'cluster=byo';
        expect(
          (await apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: selector })).items
        ).toEqual([]);
        expect(
          (await kube.core.listNamespacedService({ namespace: ns, labelSelector: selector })).items
        ).toEqual([]);
        expect(
          (await kube.core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector })).items
        ).toEqual([]);
        const secrets = (await kube.core.listNamespacedSecret({ namespace: ns })).items.map(
          (s) => s.metadata?.name
        );
        expect(secrets.filter((n) => n?.startsWith('byo-'))).toEqual(['byo-ca']);
        expect((await kube.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items).toEqual(
          []
        );
      },
      180_000,
      1000
    );
    const handle = temporal.client.workflow.getHandle(
      workflowIdFor({ kind: 'K0smotronControlPlane', namespace: ns, name: 'byo', uid: cp.metadata.uid })
    );
    await eventually(
      async () => expect((await handle.describe()).status.name).toBe('COMPLETED'),
      60_000,
      500
    );
    recordHistory('hosted-control-plane-lifecycle', handle.workflowId);
  });
});
