// The seed's single-RemoteMachine flow, end to end: real CAPI core owns the Machine, k0sflow
// provisions the RemoteMachine over SSH on an isolated host that runs the k0s TEST DOUBLE, and
// cleans it up on delete. Only the address, the port and the SSH key are the test's.
import { EventsV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';

import { workflowIdFor } from '../../src/domain/workflow-id.js';
import { BOOTSTRAP_GROUP as BOOTSTRAP } from '../../src/domain/api/groups.js';
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
import { CLEAN_HOST, K0S_PATH, hostRun, parseCalls } from '../harness/hosts.js';
import {
  createBootstrapSecret,
  createKeySecret,
  getMachine,
  getRemoteMachine,
  readyReason,
  workerCloudConfig,
} from '../harness/machines.js';
import { historyText, recordHistory } from '../harness/histories.js';
import { MACHINE } from '../harness/resources.js';
import { seedManifest, withHostedControlPlanePaused } from '../harness/seeds.js';

const SEED_KINDS = [
  'Cluster',
  'K0smotronControlPlane',
  'RemoteCluster',
  'Machine',
  'K0sWorkerConfig',
  'RemoteMachine',
];
const BOOTSTRAP_SECRET = 'remote-test-0-bootstrap';

describe("RemoteMachine over SSH: the seed's single-machine flow", () => {
  const env = provingGround();
  const host = env.hosts[0]!;
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'remote-machine');
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

  it('provisions the host: files, commands in order, providerID, and CAPI core sees the infrastructure ready', async () => {
    await createBootstrapSecret(
      kube,
      ns,
      BOOTSTRAP_SECRET,
      workerCloudConfig({
        machineName: 'remote-test-0',
        extraFiles: [
          {
            path: '/etc/k0sflow-test/sub/hello.txt',
            content: 'hello\n',
            permissions: '0640',
            owner: 'k0sflow',
          },
        ],
        extraCommands: ['echo after-start >> /etc/k0sflow-test/order'],
      })
    );
    const objects = withHostedControlPlanePaused(
      parseManifests(seedManifest('remote-machine-provider', SEED_KINDS, 0))
    ).map((o) => (o.kind === 'RemoteMachine' ? atHost(o) : o));
    await createAll(kube, ns, objects);
    // Plays the bootstrap provider (its issue is not in yet): the data is ready in BOOTSTRAP_SECRET.
    await kube.custom.patchNamespacedCustomObjectStatus(
      {
        group: BOOTSTRAP,
        version: 'v1beta1',
        plural: 'k0sworkerconfigs',
        namespace: ns,
        name: 'remote-test-0',
        body: {
          status: {
            ready: true,
            dataSecretName: BOOTSTRAP_SECRET,
            initialization: { dataSecretCreated: true },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );

    const rm = await readyReason(kube, ns, 'remote-test-0', 'Provisioned', 180_000);
    expect(rm.spec.providerID).toBe(`remote-machine://${host.address}:${host.port}`);
    expect(rm.status).toMatchObject({
      ready: true,
      initialization: { provisioned: true },
      addresses: [{ type: 'ExternalIP', address: host.address }],
      // Trusted on first use and recorded: it is the host's real key.
      hostKey: host.hostKey,
    });
    expect(rm.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'BootstrapExecSucceeded', status: 'True' }),
        expect.objectContaining({ type: 'Paused', status: 'False' }),
      ])
    );
    expect(rm.metadata.finalizers).toContain('k0sflow.dev/finalizer');

    // The host: files with their modes and owners, then the commands, in order, once each.
    const files = await hostRun(
      host,
      'stat -c "%n %a %U" /etc/k0s.token /etc/k0sflow-test/sub/hello.txt; cat /etc/k0sflow-test/sub/hello.txt /etc/k0s.token; echo; cat /etc/k0sflow-test/order'
    );
    expect(files.stdout).toBe(
      '/etc/k0s.token 600 root\n/etc/k0sflow-test/sub/hello.txt 640 k0sflow\nhello\nk0s-double-token\nafter-start\n'
    );
    const calls = parseCalls((await hostRun(host, 'cat /var/lib/k0s-double/calls.log')).stdout).calls;
    expect(calls.map((c) => `${c.via} ${c.argv}`)).toEqual([
      `cli ${K0S_PATH} install worker --token-file /etc/k0s.token --labels=k0smotron.io/machine-name=remote-test-0`,
      `service:k0sworker ${K0S_PATH} start`,
    ]);
    const journal = await hostRun(host, `ls /var/lib/k0sflow/bootstrap/${rm.metadata.uid}`);
    expect(journal.stdout.split('\n').filter((f) => f.endsWith('.done'))).toHaveLength(5);

    // CAPI core reads the infrastructure machine per its contract.
    await eventually(async () => {
      const machine = await getMachine(kube, ns, 'remote-test-0');
      expect(machine.status?.initialization?.infrastructureProvisioned).toBe(true);
      expect(machine.spec.providerID).toBe(rm.spec.providerID);
    }, 60_000);

    const events = await kube.config.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    const mine = events.items.filter((e) => e.regarding?.uid === rm.metadata.uid).map((e) => e.reason);
    expect(mine).toContain('Provisioned');
  });

  it('shows each step as its own activity in the Web UI, and no secret in history', async () => {
    const rm = await getRemoteMachine(kube, ns, 'remote-test-0');
    const id = workflowIdFor({
      kind: 'RemoteMachine',
      namespace: ns,
      name: 'remote-test-0',
      uid: rm.metadata.uid,
    });
    const history = await temporal.client.workflow.getHandle(id).fetchHistory();
    const activities = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => typeof n === 'string');
    expect(activities).toEqual([
      'checkHost',
      'uploadBootstrapFiles',
      'runBootstrapCommands',
      'checkBootstrapSentinel',
    ]);
    const text = historyText(history);
    const keyBody = readFileSync(host.privateKeyFile, 'utf8').split('\n')[2] ?? '';
    expect(keyBody.length).toBeGreaterThan(20);
    expect(text).not.toContain(keyBody);
    expect(text).not.toContain('k0s-double-token');
    expect(text).toContain(BOOTSTRAP_SECRET); // references are fine
  });

  it('deleting the Machine cleans the host (stop, reset), removes the finalizer and ends the workflow', async () => {
    const rm = await getRemoteMachine(kube, ns, 'remote-test-0');
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name: 'remote-test-0' });
    await eventually(async () => {
      await expect(getRemoteMachine(kube, ns, 'remote-test-0')).rejects.toMatchObject({ code: 404 });
    }, 120_000);
    const calls = parseCalls((await hostRun(host, 'cat /var/lib/k0s-double/calls.log')).stdout).calls;
    expect(calls.slice(-2).map((c) => c.argv)).toEqual([`${K0S_PATH} stop`, `${K0S_PATH} reset`]);
    expect((await hostRun(host, `test -e /var/lib/k0sflow/bootstrap/${rm.metadata.uid}`)).code).toBe(1);
    const id = workflowIdFor({
      kind: 'RemoteMachine',
      namespace: ns,
      name: 'remote-test-0',
      uid: rm.metadata.uid,
    });
    await eventually(async () => {
      const d = await temporal.client.workflow.getHandle(id).describe();
      expect(d.status.name).toBe('COMPLETED');
    });
    recordHistory('remote-machine-lifecycle', id);
  });
});

function atHost(rm: KubernetesObject): KubernetesObject {
  const host = provingGround().hosts[0]!;
  const spec = (rm as { spec: Record<string, unknown> }).spec;
  return { ...rm, spec: { ...spec, address: host.address, port: host.port } } as KubernetesObject;
}
