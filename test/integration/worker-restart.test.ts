import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import { workflowIdFor } from '../../src/domain/workflow-id.js';
import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  parseManifests,
  startK0sflow,
  temporalClient,
  type Kube,
} from '../harness/env.js';
import { CLUSTER, RC } from '../harness/resources.js';
import { seedManifest } from '../harness/seeds.js';

interface Rc {
  metadata: { uid: string };
  status?: { ready?: boolean; conditions?: { type: string; status: string }[] };
}

describe('a worker killed mid-way', () => {
  let kube: Kube;
  let ns: string;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'restart');
    temporal = await temporalClient();
  });
  afterAll(async () => {
    await temporal?.close();
  });

  const getRc = async (): Promise<Rc> =>
    (await kube.custom.getNamespacedCustomObject({ ...RC, namespace: ns, name: 'remote-test' })) as Rc;

  it('is replaced by a new one and the same workflow converges', async () => {
    const first = startK0sflow({ namespace: ns, name: `${ns}-first` });
    const [cluster, remoteCluster] = parseManifests(
      seedManifest('remote-machine-provider', ['Cluster', 'RemoteCluster'], 0)
    );
    // A paused Cluster holds the RemoteCluster's workflow mid-way, waiting.
    (cluster as { spec: { paused?: boolean } }).spec.paused = true;
    remoteCluster!.metadata = {
      ...remoteCluster!.metadata,
      labels: { 'cluster.x-k8s.io/cluster-name': 'remote-test' },
    };
    await createAll(kube, ns, [cluster!, remoteCluster!]);

    await eventually(async () => {
      const rc = await getRc();
      expect(rc.status?.conditions).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'Paused', status: 'True' })])
      );
      expect(rc.status?.ready).not.toBe(true);
    });
    const workflowId = workflowIdFor({
      kind: 'RemoteCluster',
      namespace: ns,
      name: 'remote-test',
      uid: (await getRc()).metadata.uid,
    });
    const runBefore = (await temporal.client.workflow.getHandle(workflowId).describe()).runId;

    await first.kill(); // SIGKILL: no graceful shutdown, no lease release
    // The change happens while nothing runs: no watch sees it.
    await kube.custom.patchNamespacedCustomObject(
      { ...CLUSTER, namespace: ns, name: 'remote-test', body: { spec: { paused: false } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );

    const second = startK0sflow({ namespace: ns, name: `${ns}-second` });
    try {
      // The new replica waits out the dead one's lease, lists, and signals the existing workflow.
      await eventually(async () => {
        const rc = await getRc();
        expect(rc.status?.ready).toBe(true);
        expect(rc.status?.conditions).toEqual(
          expect.arrayContaining([expect.objectContaining({ type: 'Paused', status: 'False' })])
        );
      }, 90_000);
      const description = await temporal.client.workflow.getHandle(workflowId).describe();
      expect(description.runId).toBe(runBefore); // the same durable workflow went on, not a new one
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await second.stop();
    }
  });
});
