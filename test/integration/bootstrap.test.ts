// The bootstrap provider end to end, with nothing played by the test: the seed's RemoteMachine flow
// (Cluster, K0smotronControlPlane, RemoteCluster, Machine, K0sWorkerConfig, RemoteMachine) on real CAPI
// core; k0sflow as control-plane, bootstrap and infrastructure provider; the pod double serving the hosted
// control plane's API server; and the k0s TEST DOUBLE on an SSH host joining it as a kubelet would. Only
// the API port, the host's address and key and the k0s download URL are the test's.
import {
  KubeConfig,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parse } from 'yaml';

import { decodeTokenFile } from '../../src/activities/join-token.js';
import { BOOTSTRAP_GROUP } from '../../src/domain/api/groups.js';
import { workflowIdFor } from '../../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  parseManifests,
  provingGround,
  startK0sflow,
  temporalClient,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { historyText, recordHistory } from '../harness/histories.js';
import { freeNodePort, secretText } from '../harness/hosted.js';
import { CLEAN_HOST, K0S_PATH, hostRun, parseCalls } from '../harness/hosts.js';
import { createKeySecret, getMachine, type Condition } from '../harness/machines.js';
import { MACHINE } from '../harness/resources.js';
import { seedManifest } from '../harness/seeds.js';

const SEED_KINDS = [
  'Cluster',
  'K0smotronControlPlane',
  'RemoteCluster',
  'Machine',
  'K0sWorkerConfig',
  'RemoteMachine',
];
const KWC = { group: BOOTSTRAP_GROUP, version: 'v1beta1', plural: 'k0sworkerconfigs' };
const mergePatch = (): ReturnType<typeof setHeaderOptions> =>
  setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface WorkerConfigObject {
  metadata: { name: string; uid: string; generation: number };
  status?: {
    ready?: boolean;
    dataSecretName?: string;
    initialization?: { dataSecretCreated?: boolean };
    conditions?: Condition[];
  };
}

interface CloudConfig {
  write_files: { path: string; content: string; permissions: string }[];
  runcmd: string[];
}

describe('K0sWorkerConfig: the bootstrap provider', () => {
  const env = provingGround();
  const host = env.hosts[0]!;
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'bootstrap');
    expect((await hostRun(host, CLEAN_HOST)).code).toBe(0);
    await createKeySecret(kube, ns, 'footloose-key', host);
    k0sflow = startK0sflow({ namespace: ns });
    temporal = await temporalClient();
  });

  afterAll(async () => {
    await k0sflow?.stop();
    await temporal?.close();
    await hostRun(host, CLEAN_HOST);
  });

  const getConfig = async (name: string): Promise<WorkerConfigObject> =>
    (await kube.custom.getNamespacedCustomObject({ ...KWC, namespace: ns, name })) as WorkerConfigObject;
  const configCondition = (c: WorkerConfigObject, type: string): Condition | undefined =>
    c.status?.conditions?.find((x) => x.type === type);

  /** A client of the child cluster, through the kubeconfig Secret k0sflow wrote for it. */
  const childCore = async (cluster: string): Promise<CoreV1Api> => {
    const config = new KubeConfig();
    config.loadFromString(await secretText(kube, ns, `${cluster}-kubeconfig`, 'value'));
    return config.makeApiClient(CoreV1Api);
  };

  it("runs the seed's flow: token in the child, data Secret, provisioning, Node with providerID, Machine Running", async () => {
    const apiPort = await freeNodePort(kube);
    const objects = parseManifests(seedManifest('remote-machine-provider', SEED_KINDS, 0)).map((o) =>
      adapt(o, { apiPort, host, downloadURL: env.k0sDownloadURL! })
    );
    await createAll(kube, ns, objects);

    // Before the control plane is initialized the config says why it waits, and hands out nothing.
    // (The control plane's pods take seconds to start: the first status is always this one.)
    const early = await getConfigWhen(
      () => getConfig('remote-test-0'),
      (c) => configCondition(c, 'Ready') !== undefined
    );
    expect(early.status?.ready).toBe(false);
    expect(configCondition(early, 'DataSecretAvailable')).toMatchObject({
      status: 'False',
      reason: 'WaitingForControlPlaneInitialization',
    });

    const config = await eventually(
      async () => {
        const c = await getConfig('remote-test-0');
        if (!c.status?.ready) throw new Error(`not ready: ${JSON.stringify(c.status?.conditions)}`);
        return c;
      },
      300_000,
      2000
    );
    expect(config.status).toMatchObject({
      ready: true,
      dataSecretName: 'remote-test-0',
      initialization: { dataSecretCreated: true },
    });
    expect(configCondition(config, 'DataSecretAvailable')).toMatchObject({
      status: 'True',
      reason: 'Available',
    });

    // The data Secret: CAPI's type, owned by the config, labelled with the cluster, k0smotron's cloud-config.
    const data = await kube.core.readNamespacedSecret({ namespace: ns, name: 'remote-test-0' });
    expect(data.type).toBe('cluster.x-k8s.io/secret');
    expect(data.metadata?.labels).toMatchObject({
      'cluster.x-k8s.io/cluster-name': 'remote-test',
      'app.kubernetes.io/component': 'bootstrap',
    });
    expect(data.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'K0sWorkerConfig',
        name: 'remote-test-0',
        uid: config.metadata.uid,
        controller: true,
      }),
    ]);
    expect(Buffer.from(data.data!.format!, 'base64').toString()).toBe('cloud-config');
    const value = Buffer.from(data.data!.value!, 'base64').toString();
    expect(value.startsWith('## template: jinja\n#cloud-config\n')).toBe(true);
    const cloud = parse(value) as CloudConfig;
    expect(cloud.write_files.map((f) => [f.path, f.permissions])).toEqual([['/etc/k0s.token', '0600']]);
    expect(cloud.runcmd).toEqual([
      `curl -sSfL --retry 5 ${env.k0sDownloadURL} -o /usr/local/bin/k0s`,
      'chmod +x /usr/local/bin/k0s',
      '/usr/local/bin/k0s install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=remote-test-0 --kubelet-extra-args="--hostname-override=remote-test-0"',
      expect.stringContaining('systemctl start k0sworker'),
      'mkdir -p /run/cluster-api && touch /run/cluster-api/bootstrap-success.complete',
    ]);

    // The token file: a kubeconfig for the Cluster's endpoint, trusting the cluster CA, with a bootstrap token
    // that exists in the child's kube-system with worker usages and a 24 h expiry.
    const kubeconfig = parse(decodeTokenFile(cloud.write_files[0]!.content)) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { name: string; user: { token: string } }[];
    };
    const cluster = (await kube.custom.getNamespacedCustomObject({
      group: 'cluster.x-k8s.io',
      version: 'v1beta2',
      plural: 'clusters',
      namespace: ns,
      name: 'remote-test',
    })) as { spec: { controlPlaneEndpoint: { host: string; port: number } } };
    const endpoint = cluster.spec.controlPlaneEndpoint;
    expect(kubeconfig.clusters[0]!.cluster.server).toBe(`https://${endpoint.host}:${endpoint.port}`);
    const ca = await secretText(kube, ns, 'remote-test-ca', 'tls.crt');
    expect(
      Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString()
    ).toBe(ca);
    expect(kubeconfig.users[0]!.name).toBe('kubelet-bootstrap');
    const [tokenId, tokenSecret] = kubeconfig.users[0]!.user.token.split('.');
    const child = await childCore('remote-test');
    const tokenSecretObject = await child.readNamespacedSecret({
      namespace: 'kube-system',
      name: `bootstrap-token-${tokenId}`,
    });
    const tokenData = Object.fromEntries(
      Object.entries(tokenSecretObject.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])
    );
    expect(tokenSecretObject.type).toBe('bootstrap.kubernetes.io/token');
    expect(tokenData).toMatchObject({
      'token-id': tokenId,
      'token-secret': tokenSecret,
      'usage-bootstrap-api-auth': 'true',
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-api-worker-calls': 'true',
    });
    const lifetime = Date.parse(tokenData.expiration!) - Date.now();
    expect(lifetime).toBeGreaterThan(23 * 3600_000);
    expect(lifetime).toBeLessThanOrEqual(24 * 3600_000);

    // The host ran it; its kubelet (the double's) joined the child with that token.
    const machine = await eventually(
      async () => {
        const m = (await getMachine(kube, ns, 'remote-test-0')) as Awaited<ReturnType<typeof getMachine>> & {
          status?: { nodeRef?: { name?: string } };
        };
        if (m.status?.phase !== 'Running') throw new Error(`Machine phase ${m.status?.phase}`);
        return m;
      },
      300_000,
      2000
    );
    const providerID = `remote-machine://${host.address}:${host.port}`;
    expect(machine.spec.providerID).toBe(providerID);
    expect(machine.status?.nodeRef?.name).toBe('remote-test-0');
    const node = await child.readNode({ name: 'remote-test-0' });
    expect(node.spec?.providerID).toBe(providerID);
    expect(node.metadata?.labels?.['k0smotron.io/machine-name']).toBe('remote-test-0');
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const calls = parseCalls((await hostRun(host, 'cat /var/lib/k0s-double/calls.log')).stdout).calls;
    expect(calls.map((c) => c.argv)).toContain(
      `${K0S_PATH} install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=remote-test-0 --kubelet-extra-args=--hostname-override=remote-test-0`
    );

    // Joined: the token is of no more use and goes.
    await eventually(
      async () => {
        const left = await child.listNamespacedSecret({
          namespace: 'kube-system',
          fieldSelector: `metadata.name=bootstrap-token-${tokenId}`,
        });
        if (left.items.length > 0) throw new Error('token still there');
      },
      60_000,
      1000
    );

    // Secrets never enter workflow history: neither the token secret nor the token file.
    const workflowId = workflowIdFor({
      kind: 'K0sWorkerConfig',
      namespace: ns,
      name: 'remote-test-0',
      uid: config.metadata.uid,
    });
    const history = historyText(await temporal.client.workflow.getHandle(workflowId).fetchHistory());
    expect(history).toContain('issueBootstrapData');
    expect(history).not.toContain(tokenSecret!);
    expect(history).not.toContain(cloud.write_files[0]!.content.slice(0, 40));
    recordHistory('worker-config-joined', workflowId);
  }, 600_000);

  it('K0sControllerConfig: the first controller gets the cluster PKI and k0s.yaml, the next one a controller-join token', async () => {
    // Controllers on machines for the seed's cluster (its certificates and kubeconfig are the hosted
    // control plane's): what a K0sControlPlane creates, played here by the test.
    const hosts = [env.hosts[1]!, env.hosts[2]!];
    for (const h of hosts) expect((await hostRun(h, CLEAN_HOST)).code).toBe(0);
    const k0s = {
      apiVersion: 'k0s.k0sproject.io/v1beta1',
      kind: 'ClusterConfig',
      spec: { api: { extraArgs: { 'anonymous-auth': 'true' } } },
    };
    for (const [i, h] of hosts.entries()) {
      const name = `cp-${i}`;
      await createKeySecret(kube, ns, `${name}-key`, h);
      // The second controller's machine waits (paused) until the test has seen its token in the child.
      await createAll(kube, ns, controllerObjects(name, h, k0s, env.k0sDownloadURL!, i === 1));
      // The first controller is the oldest control-plane Machine: give creation times a second apart.
      if (i === 0) await new Promise((r) => setTimeout(r, 1100));
    }
    const provisioned = async (name: string): Promise<void> => {
      await eventually(
        async () => {
          const rm = (await kube.custom.getNamespacedCustomObject({
            group: 'infrastructure.cluster.x-k8s.io',
            version: 'v1beta1',
            plural: 'remotemachines',
            namespace: ns,
            name,
          })) as { status?: { ready?: boolean; conditions?: Condition[] } };
          if (!rm.status?.ready) throw new Error(`${name}: ${JSON.stringify(rm.status?.conditions)}`);
        },
        240_000,
        2000
      );
    };
    await provisioned('cp-0');
    // The joining controller's data: a controller-join token that exists in the child, for the first
    // controller's address (nothing answers k0s's join API on the endpoint here).
    const joiningConfig = await eventually(
      async () => {
        const c = (await kube.custom.getNamespacedCustomObject({
          ...KWC,
          plural: 'k0scontrollerconfigs',
          namespace: ns,
          name: 'cp-1',
        })) as WorkerConfigObject;
        if (!c.status?.ready) throw new Error(`cp-1: ${JSON.stringify(c.status?.conditions)}`);
        return c;
      },
      180_000,
      2000
    );
    const joiningData = parse(
      await secretText(kube, ns, joiningConfig.status!.dataSecretName!, 'value')
    ) as CloudConfig;
    const tokenFile = joiningData.write_files.find((f) => f.path === '/etc/k0s.token')!.content;
    const token = parse(decodeTokenFile(tokenFile)) as {
      clusters: { cluster: { server: string } }[];
      users: { name: string; user: { token: string } }[];
    };
    expect(token.users[0]!.name).toBe('controller-bootstrap');
    expect(token.clusters[0]!.cluster.server).toBe(`https://${hosts[0]!.address}:9443`);
    const [id] = token.users[0]!.user.token.split('.');
    const child = await childCore('remote-test');
    const secret = await child.readNamespacedSecret({
      namespace: 'kube-system',
      name: `bootstrap-token-${id}`,
    });
    const usages = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])
    );
    expect(usages).toMatchObject({
      'usage-bootstrap-api-auth': 'true',
      'usage-bootstrap-authentication': 'false',
      'usage-bootstrap-signing': 'false',
      'usage-controller-join': 'true',
    });
    await kube.custom.patchNamespacedCustomObject(
      {
        group: 'infrastructure.cluster.x-k8s.io',
        version: 'v1beta1',
        plural: 'remotemachines',
        namespace: ns,
        name: 'cp-1',
        body: { metadata: { annotations: { 'cluster.x-k8s.io/paused': null } } },
      },
      mergePatch()
    );
    await provisioned('cp-1');

    // The first controller: the cluster's CA, etcd CA, front-proxy CA and service-account keys, byte for
    // byte, and the k0s config it is installed with.
    const first = hosts[0]!;
    for (const [path, secret, key] of [
      ['/var/lib/k0s/pki/ca.crt', 'remote-test-ca', 'tls.crt'],
      ['/var/lib/k0s/pki/ca.key', 'remote-test-ca', 'tls.key'],
      ['/var/lib/k0s/pki/etcd/ca.key', 'remote-test-etcd', 'tls.key'],
      ['/var/lib/k0s/pki/front-proxy-ca.crt', 'remote-test-proxy', 'tls.crt'],
      ['/var/lib/k0s/pki/sa.key', 'remote-test-sa', 'tls.key'],
      ['/var/lib/k0s/pki/sa.pub', 'remote-test-sa', 'tls.crt'],
    ] as const) {
      const onHost = await hostRun(first, `cat ${path}`);
      expect(onHost.stdout).toBe(await secretText(kube, ns, secret, key));
    }
    expect(JSON.parse((await hostRun(first, 'cat /etc/k0s.yaml')).stdout)).toEqual(k0s);
    expect((await hostRun(first, 'test -e /etc/k0s.token; echo $?')).stdout.trim()).toBe('1');
    const firstCalls = parseCalls((await hostRun(first, 'cat /var/lib/k0s-double/calls.log')).stdout).calls;
    expect(firstCalls.map((c) => c.argv)).toEqual(
      expect.arrayContaining([
        `${K0S_PATH} install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-0 --config /etc/k0s.yaml`,
        `${K0S_PATH} start`,
      ])
    );

    // The joining controller: no key material, a controller-join token for the first controller's
    // address (nothing answers k0s's join API on the endpoint here), and it installs with it.
    const joining = hosts[1]!;
    expect((await hostRun(joining, 'test -e /var/lib/k0s/pki/ca.key; echo $?')).stdout.trim()).toBe('1');
    const calls = parseCalls((await hostRun(joining, 'cat /var/lib/k0s-double/calls.log')).stdout);
    expect(calls.calls.map((c) => c.argv)).toContain(
      `${K0S_PATH} install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=cp-1 --config /etc/k0s.yaml --token-file /etc/k0s.token`
    );
    expect(calls.notes).toContain(`join: controller token for https://${first.address}:9443`);
    expect((await hostRun(joining, 'cat /etc/k0s.token')).stdout).toBe(tokenFile);
    // Installed: k0s has used the token (a controller without a kubelet gets no nodeRef to wait for).
    await eventually(
      async () => {
        const left = await child.listNamespacedSecret({
          namespace: 'kube-system',
          fieldSelector: `metadata.name=bootstrap-token-${id}`,
        });
        if (left.items.length > 0) throw new Error('controller token still there');
      },
      60_000,
      1000
    );
    for (const h of hosts) await hostRun(h, CLEAN_HOST);
  }, 420_000);

  it('a MachineDeployment from a K0sWorkerConfigTemplate and a pooled RemoteMachineTemplate: its Machine joins', async () => {
    const pooled = env.hosts[1]!;
    expect((await hostRun(pooled, CLEAN_HOST)).code).toBe(0);
    await createKeySecret(kube, ns, 'pool-key', pooled);
    await createAll(kube, ns, [
      {
        apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
        kind: 'K0sWorkerConfigTemplate',
        metadata: { name: 'workers' },
        spec: { template: { spec: { downloadURL: env.k0sDownloadURL } } },
      },
      {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'RemoteMachineTemplate',
        metadata: { name: 'workers' },
        spec: { template: { spec: { pool: 'workers' } } },
      },
      {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'PooledRemoteMachine',
        metadata: { name: 'pooled-0' },
        spec: {
          pool: 'workers',
          machine: {
            address: pooled.address,
            port: pooled.port,
            user: 'root',
            sshKeyRef: { name: 'pool-key' },
          },
        },
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachineDeployment',
        metadata: { name: 'workers' },
        spec: {
          clusterName: 'remote-test',
          replicas: 1,
          selector: { matchLabels: { pool: 'workers' } },
          template: {
            metadata: { labels: { pool: 'workers' } },
            spec: {
              clusterName: 'remote-test',
              version: 'v1.27.2',
              bootstrap: {
                configRef: {
                  apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
                  kind: 'K0sWorkerConfigTemplate',
                  name: 'workers',
                },
              },
              infrastructureRef: {
                apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
                kind: 'RemoteMachineTemplate',
                name: 'workers',
              },
            },
          },
        },
      },
    ] as unknown as KubernetesObject[]);
    const machine = await eventually(
      async () => {
        const list = (await kube.custom.listNamespacedCustomObject({
          ...MACHINE,
          namespace: ns,
          labelSelector: 'pool=workers',
        })) as {
          items: {
            metadata: { name: string };
            spec: { providerID?: string };
            status?: { phase?: string; nodeRef?: { name?: string } };
          }[];
        };
        const m = list.items[0];
        if (m?.status?.phase !== 'Running')
          throw new Error(`Machine ${m?.metadata.name}: ${m?.status?.phase}`);
        return m;
      },
      300_000,
      2000
    );
    expect(machine.spec.providerID).toBe(`remote-machine://${pooled.address}:${pooled.port}`);
    expect(machine.status?.nodeRef?.name).toBe(machine.metadata.name);
    const node = await (await childCore('remote-test')).readNode({ name: machine.metadata.name });
    expect(node.spec?.providerID).toBe(machine.spec.providerID);
    // The config CAPI cloned from the template is the one that bootstrapped it: Machine version, normalised.
    const configs = (await kube.custom.listNamespacedCustomObject({ ...KWC, namespace: ns })) as {
      items: WorkerConfigObject[];
    };
    const cloned = configs.items.find((c) => c.metadata.name === machine.metadata.name);
    expect(cloned?.status?.dataSecretName).toBe(machine.metadata.name);
    const cloud = parse(await secretText(kube, ns, machine.metadata.name, 'value')) as CloudConfig;
    expect(cloud.runcmd[0]).toBe(`curl -sSfL --retry 5 ${env.k0sDownloadURL} -o /usr/local/bin/k0s`);
    await kube.custom.patchNamespacedCustomObject(
      {
        group: 'cluster.x-k8s.io',
        version: 'v1beta2',
        plural: 'machinedeployments',
        namespace: ns,
        name: 'workers',
        body: { spec: { replicas: 0 } },
      },
      mergePatch()
    );
  }, 420_000);

  it('reports bad input without minting a token: an invalid version, a missing file source', async () => {
    const clusterName = 'remote-test';
    const machine = (name: string, config: string): KubernetesObject =>
      ({
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Machine',
        metadata: { name, namespace: ns },
        spec: {
          clusterName,
          bootstrap: {
            configRef: { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: 'K0sWorkerConfig', name: config },
          },
          infrastructureRef: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
            kind: 'RemoteMachine',
            name,
          },
        },
      }) as KubernetesObject;
    const workerConfig = (name: string, spec: Record<string, unknown>): KubernetesObject =>
      ({
        apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
        kind: 'K0sWorkerConfig',
        metadata: { name, namespace: ns },
        spec,
      }) as KubernetesObject;
    await createAll(kube, ns, [
      workerConfig('bad-version', { version: 'v1.30+k0s.0' }),
      machine('bad-version', 'bad-version'),
      workerConfig('missing-file', {
        version: 'v1.30.1+k0s.0',
        files: [{ path: '/etc/x.conf', contentFrom: { secretRef: { name: 'not-there', key: 'x' } } }],
      }),
      machine('missing-file', 'missing-file'),
    ]);
    const reasonOf = (name: string, reason: string): Promise<WorkerConfigObject> =>
      eventually(
        async () => {
          const c = await getConfig(name);
          const ready = configCondition(c, 'Ready');
          if (ready?.reason !== reason) throw new Error(`${name}: ${ready?.reason} ${ready?.message ?? ''}`);
          return c;
        },
        120_000,
        1000
      );
    const badVersion = await reasonOf('bad-version', 'InvalidSpec');
    expect(configCondition(badVersion, 'Ready')?.message).toContain('is not a k0s version');
    const missing = await reasonOf('missing-file', 'WaitingForInput');
    expect(configCondition(missing, 'Ready')?.message).toContain('Secret');
    const child = await childCore(clusterName);
    const tokens = await child.listNamespacedSecret({
      namespace: 'kube-system',
      labelSelector: 'bootstrap.k0sflow.dev/config-name in (bad-version,missing-file)',
    });
    expect(tokens.items).toEqual([]);
    await expect(kube.core.readNamespacedSecret({ namespace: ns, name: 'bad-version' })).rejects.toThrow();

    // The Secret appears: the config gets its data on the next timed look, with the file in it.
    await kube.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'not-there' }, stringData: { x: 'from a secret\n' } },
    });
    const fixed = await reasonOf('missing-file', 'Ready');
    expect(fixed.status?.dataSecretName).toBe('missing-file');
    const cloud = parse(await secretText(kube, ns, 'missing-file', 'value')) as CloudConfig;
    expect(cloud.write_files.find((f) => f.path === '/etc/x.conf')?.content).toBe('from a secret\n');

    // Fixing the version is a new generation: it gets its data too.
    await kube.custom.patchNamespacedCustomObject(
      { ...KWC, namespace: ns, name: 'bad-version', body: { spec: { version: 'v1.30.1+k0s.0' } } },
      mergePatch()
    );
    await reasonOf('bad-version', 'Ready');
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name: 'bad-version' });
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name: 'missing-file' });
  }, 300_000);

  it('a missing or unreachable child cluster is a condition and a timed retry, with no data handed out', async () => {
    // Pause the hosted control plane so it does not rewrite the kubeconfig while the test breaks it.
    const kmc = {
      group: 'controlplane.cluster.x-k8s.io',
      version: 'v1beta1',
      plural: 'k0smotroncontrolplanes',
    };
    const paused = (value: string | null): Promise<unknown> =>
      kube.custom.patchNamespacedCustomObject(
        {
          ...kmc,
          namespace: ns,
          name: 'remote-test',
          body: { metadata: { annotations: { 'cluster.x-k8s.io/paused': value } } },
        },
        mergePatch()
      );
    await paused('true');
    const original = await secretText(kube, ns, 'remote-test-kubeconfig', 'value');
    const unreachable = original.replace(/server: https:\/\/[^\s]+/, 'server: https://127.0.0.1:1');
    expect(unreachable).not.toBe(original);
    await kube.core.patchNamespacedSecret(
      {
        namespace: ns,
        name: 'remote-test-kubeconfig',
        body: { data: { value: Buffer.from(unreachable).toString('base64') } },
      },
      mergePatch()
    );
    await createAll(kube, ns, [
      {
        apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
        kind: 'K0sWorkerConfig',
        metadata: { name: 'late' },
        spec: {},
      },
      {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Machine',
        metadata: { name: 'late' },
        spec: {
          clusterName: 'remote-test',
          bootstrap: {
            configRef: { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: 'K0sWorkerConfig', name: 'late' },
          },
          infrastructureRef: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
            kind: 'RemoteMachine',
            name: 'late',
          },
        },
      },
    ] as unknown as KubernetesObject[]);
    const readyReasonOf = (reason: string): Promise<WorkerConfigObject> =>
      eventually(
        async () => {
          const c = await getConfig('late');
          const ready = configCondition(c, 'Ready');
          if (ready?.reason !== reason) throw new Error(`late: ${ready?.reason} ${ready?.message ?? ''}`);
          return c;
        },
        180_000,
        1000
      );
    const down = await readyReasonOf('ChildClusterUnreachable');
    expect(configCondition(down, 'Ready')?.message).toContain('127.0.0.1:1');
    expect(down.status?.ready).toBe(false);
    await expect(kube.core.readNamespacedSecret({ namespace: ns, name: 'late' })).rejects.toThrow();

    await kube.core.deleteNamespacedSecret({ namespace: ns, name: 'remote-test-kubeconfig' });
    const missing = await readyReasonOf('ChildKubeconfigMissing');
    expect(configCondition(missing, 'Ready')?.message).toContain('remote-test-kubeconfig not found');
    expect(missing.status?.dataSecretName).toBeUndefined();

    // The control plane writes its kubeconfig again; the config's next timed look gets its data.
    await paused(null);
    const fixed = await readyReasonOf('Ready');
    expect(fixed.status).toMatchObject({ ready: true, dataSecretName: 'late' });
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name: 'late' });
  }, 420_000);
});

async function getConfigWhen<T>(read: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
  return eventually(
    async () => {
      const t = await read();
      if (!done(t)) throw new Error('not yet');
      return t;
    },
    120_000,
    500
  );
}

/** The test's part of the seed: the API port, the host's address and key, and where k0s is downloaded. */
function adapt(
  object: KubernetesObject,
  opts: { apiPort: number; host: { address: string; port: number }; downloadURL: string }
): KubernetesObject {
  const o = structuredClone(object) as KubernetesObject & { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (o.kind === 'K0smotronControlPlane')
    o.spec.service = { ...o.spec.service, apiPort: opts.apiPort, konnectivityPort: opts.apiPort + 1 };
  if (o.kind === 'K0sWorkerConfig') o.spec.downloadURL = opts.downloadURL;
  if (o.kind === 'RemoteMachine') o.spec = { ...o.spec, address: opts.host.address, port: opts.host.port };
  return o;
}

/** A control-plane Machine of the seed's cluster with its K0sControllerConfig and RemoteMachine, all named `name`. */
function controllerObjects(
  name: string,
  host: { address: string; port: number },
  k0s: Record<string, unknown>,
  downloadURL: string,
  paused = false
): KubernetesObject[] {
  const labels = { 'cluster.x-k8s.io/cluster-name': 'remote-test', 'cluster.x-k8s.io/control-plane': 'true' };
  return [
    {
      apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
      kind: 'K0sControllerConfig',
      metadata: { name, labels },
      spec: { version: 'v1.27.1+k0s.0', downloadURL, k0s },
    },
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteMachine',
      metadata: { name, labels, ...(paused ? { annotations: { 'cluster.x-k8s.io/paused': 'true' } } : {}) },
      spec: { address: host.address, port: host.port, user: 'root', sshKeyRef: { name: `${name}-key` } },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta1',
      kind: 'Machine',
      metadata: { name, labels },
      spec: {
        clusterName: 'remote-test',
        version: 'v1.27.1',
        bootstrap: {
          configRef: { apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`, kind: 'K0sControllerConfig', name },
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
