import { EventsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { WorkflowExecutionStatusName } from '@temporalio/client';

import { workflowIdFor } from '../../src/domain/workflow-id.js';
import { entityStateQuery } from '../../src/workflows/messages.js';
import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  parseManifests,
  startK0sflow,
  temporalClient,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { recordHistory } from '../harness/histories.js';
import { CLUSTER, RC } from '../harness/resources.js';
import { seedManifest, withHostedControlPlanePaused } from '../harness/seeds.js';

interface Obj {
  metadata: {
    uid: string;
    finalizers?: string[];
    managedFields?: { manager: string; operation: string; subresource?: string }[];
  };
  status?: {
    ready?: boolean;
    initialization?: Record<string, boolean>;
    conditions?: { type: string; status: string; reason: string }[];
    observedGeneration?: number;
  };
}

describe('RemoteCluster, the first workflow end to end', () => {
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess;
  let temporal: Awaited<ReturnType<typeof temporalClient>>;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'remote-cluster');
    k0sflow = startK0sflow({ namespace: ns });
    temporal = await temporalClient();
  });

  afterAll(async () => {
    await k0sflow?.stop();
    await temporal?.close();
  });

  const getRc = async (): Promise<Obj> =>
    (await kube.custom.getNamespacedCustomObject({ ...RC, namespace: ns, name: 'remote-test' })) as Obj;

  it("the seed's RemoteCluster becomes ready per both contracts and CAPI core sees it provisioned", async () => {
    // The seed's first flow: Cluster, K0smotronControlPlane and the placeholder RemoteCluster, verbatim.
    await createAll(
      kube,
      ns,
      withHostedControlPlanePaused(
        parseManifests(
          seedManifest('remote-machine-provider', ['Cluster', 'K0smotronControlPlane', 'RemoteCluster'], 0)
        )
      )
    );

    const rc = await eventually(async () => {
      const o = await getRc();
      expect(o.status?.ready).toBe(true);
      return o;
    });
    expect(rc.status?.initialization?.provisioned).toBe(true);
    expect(rc.status?.observedGeneration).toBeGreaterThanOrEqual(1);
    expect(rc.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'True' }),
        expect.objectContaining({ type: 'Paused', status: 'False' }),
      ])
    );
    expect(rc.metadata.finalizers).toContain('k0sflow.dev/finalizer');
    // Status is written by server-side apply on the status subresource under our own field manager.
    expect(rc.metadata.managedFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ manager: 'k0sflow', operation: 'Apply', subresource: 'status' }),
      ])
    );

    // One Event says so (events.k8s.io, reported by k0sflow), written just after the status.
    const eventsApi = kube.config.makeApiClient(EventsV1Api);
    await eventually(async () => {
      const events = await eventsApi.listNamespacedEvent({ namespace: ns });
      expect(
        events.items
          .filter((e) => e.regarding?.uid === rc.metadata.uid)
          .map((e) => [e.type, e.reason, e.reportingController])
      ).toEqual([['Normal', 'Provisioned', 'k0sflow.dev/k0sflow']]);
    });

    await eventually(async () => {
      const cluster = (await kube.custom.getNamespacedCustomObject({
        ...CLUSTER,
        namespace: ns,
        name: 'remote-test',
      })) as Obj;
      expect(cluster.status?.initialization?.infrastructureProvisioned).toBe(true);
    });
  });

  it('its workflow is found by ID and by search attribute', async () => {
    const rc = await getRc();
    const workflowId = workflowIdFor({
      kind: 'RemoteCluster',
      namespace: ns,
      name: 'remote-test',
      uid: rc.metadata.uid,
    });
    const description = await temporal.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe<WorkflowExecutionStatusName>('RUNNING');
    expect(description.type).toBe('remoteClusterWorkflow');

    const found = await eventually(async () => {
      const ids: string[] = [];
      const query = `K0sflowKind = "RemoteCluster" AND K0sflowNamespace = "${ns}" AND K0sflowName = "remote-test" AND K0sflowCluster = "remote-test"`;
      for await (const wf of temporal.client.workflow.list({ query })) ids.push(wf.workflowId);
      expect(ids).toEqual([workflowId]);
      return ids;
    });
    expect(found).toHaveLength(1);
  });

  it('does not clobber status fields it does not own, and settles (no hot loop)', async () => {
    // Another controller owns a condition of its own.
    await kube.custom.patchNamespacedCustomObjectStatus(
      {
        ...RC,
        namespace: ns,
        name: 'remote-test',
        fieldManager: 'someone-else',
        body: {
          apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
          kind: 'RemoteCluster',
          metadata: { name: 'remote-test', namespace: ns },
          status: {
            conditions: [
              {
                type: 'External',
                status: 'True',
                reason: 'Theirs',
                lastTransitionTime: '2026-01-01T00:00:00Z',
              },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
    );
    // A spec-level change (a label) makes k0sflow reconcile and apply its status again.
    await kube.custom.patchNamespacedCustomObject(
      { ...RC, namespace: ns, name: 'remote-test', body: { metadata: { labels: { touched: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );
    const rc = await getRc();
    const handle = temporal.client.workflow.getHandle(
      workflowIdFor({ kind: 'RemoteCluster', namespace: ns, name: 'remote-test', uid: rc.metadata.uid })
    );
    await eventually(async () => {
      const state = await handle.query(entityStateQuery);
      expect(state.reconciles).toBeGreaterThanOrEqual(2);
    });
    const after = await getRc();
    expect(after.status?.conditions?.map((c) => c.type)).toEqual(
      expect.arrayContaining(['External', 'Ready', 'Paused'])
    );
    expect(after.status?.ready).toBe(true);

    // Our own status writes must not wake the workflow again and again.
    const settle = async (): Promise<number> => (await handle.fetchHistory()).events?.length ?? 0;
    await eventually(async () => {
      const before = await settle();
      await new Promise((r) => setTimeout(r, 3000));
      expect(await settle()).toBe(before);
    }, 30_000);
  });

  it('an operator-terminated workflow is started again on the next change', async () => {
    const rc = await getRc();
    const handle = temporal.client.workflow.getHandle(
      workflowIdFor({ kind: 'RemoteCluster', namespace: ns, name: 'remote-test', uid: rc.metadata.uid })
    );
    const before = await handle.describe();
    await handle.terminate('operator: testing restart');
    await kube.custom.patchNamespacedCustomObject(
      { ...RC, namespace: ns, name: 'remote-test', body: { metadata: { labels: { touched: 'again' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );
    await eventually(async () => {
      const now = await temporal.client.workflow.getHandle(handle.workflowId).describe();
      expect(now.runId).not.toBe(before.runId);
      expect(now.status.name).toBe('RUNNING');
      expect(
        (await temporal.client.workflow.getHandle(handle.workflowId).query(entityStateQuery)).reconciles
      ).toBeGreaterThanOrEqual(1);
    });
    expect((await getRc()).status?.ready).toBe(true);
  });

  it('deleting the object ends its workflow and removes the finalizer', async () => {
    const rc = await getRc();
    const handle = temporal.client.workflow.getHandle(
      workflowIdFor({ kind: 'RemoteCluster', namespace: ns, name: 'remote-test', uid: rc.metadata.uid })
    );
    await kube.custom.deleteNamespacedCustomObject({ ...RC, namespace: ns, name: 'remote-test' });
    await eventually(async () => {
      await expect(getRc()).rejects.toMatchObject({ code: 404 });
    });
    await eventually(async () => {
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    });
    recordHistory('remote-cluster-lifecycle', handle.workflowId);
  });
});
