// Pool claims at scale, objects only (no SSH: the RemoteMachines have no Machine, so they never
// provision): 100 RemoteMachines claim from a pool of 100 at once; a status reset (what a move can
// do) loses nothing; a restart of k0sflow neither.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import { POOLED_MACHINE_ANNOTATION } from '../../src/domain/remote-machine.js';
import { poolWorkflowId } from '../../src/domain/workflow-id.js';
import { poolStateQuery } from '../../src/workflows/messages.js';
import {
  createNamespace,
  eventually,
  managementKube,
  startK0sflow,
  temporalClient,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { PRM, RM } from '../harness/resources.js';

const N = 100;
const POOL = 'bulk';

interface Pooled {
  metadata: { name: string; resourceVersion: string };
  spec: { machine: { address: string } };
  status?: { reserved?: boolean; machineRef?: { name: string; namespace: string } };
}
interface Remote {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { address?: string; sshKeyRef?: { name: string } };
}

describe('pool claims: 100 at once on a pool of 100', () => {
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'pool-claims');
  });

  afterAll(async () => {
    await k0sflow?.stop();
  });

  const listPooled = async (): Promise<Pooled[]> =>
    ((await kube.custom.listNamespacedCustomObject({ ...PRM, namespace: ns })) as { items: Pooled[] }).items;
  const listRemote = async (): Promise<Remote[]> =>
    ((await kube.custom.listNamespacedCustomObject({ ...RM, namespace: ns })) as { items: Remote[] }).items;

  /** Every reservation, as `pooled → machine`, checked to agree on both sides and to be one-to-one. */
  async function reservations(): Promise<Map<string, string>> {
    const pooled = await listPooled();
    const remote = await listRemote();
    const byPooled = new Map<string, string>();
    for (const p of pooled) if (p.status?.reserved) byPooled.set(p.metadata.name, p.status.machineRef!.name);
    const address = new Map(pooled.map((p) => [p.metadata.name, p.spec.machine.address]));
    for (const r of remote) {
      const held = r.metadata.annotations?.[POOLED_MACHINE_ANNOTATION];
      if (held === undefined) continue;
      expect(byPooled.get(held)).toBe(r.metadata.name);
      expect(r.spec.address).toBe(address.get(held));
    }
    expect(new Set(byPooled.values()).size).toBe(byPooled.size);
    return byPooled;
  }

  it('ends with 100 distinct reservations, each recorded on both objects', async () => {
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        kube.custom.createNamespacedCustomObject({
          ...PRM,
          namespace: ns,
          body: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
            kind: 'PooledRemoteMachine',
            metadata: { name: `pooled-${String(i).padStart(3, '0')}` },
            spec: {
              pool: POOL,
              machine: {
                address: `10.99.${Math.floor(i / 250)}.${i % 250}`,
                sshKeyRef: { name: `key-${i}` },
              },
            },
          },
        })
      )
    );
    k0sflow = startK0sflow({ namespace: ns });
    // All claimants arrive at once.
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        kube.custom.createNamespacedCustomObject({
          ...RM,
          namespace: ns,
          body: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
            kind: 'RemoteMachine',
            metadata: { name: `claimant-${i}` },
            spec: { pool: POOL },
          },
        })
      )
    );
    const granted = await eventually(async () => {
      const r = await reservations();
      expect(r.size).toBe(N);
      return r;
    }, 180_000);
    expect(new Set(granted.values())).toEqual(new Set(Array.from({ length: N }, (_, i) => `claimant-${i}`)));
    // The connection fields came along, the key reference included.
    const remote = await listRemote();
    expect(remote.every((r) => r.spec.sshKeyRef?.name.startsWith('key-'))).toBe(true);
  });

  it('a 101st claimant waits; the pool workflow says so', async () => {
    await kube.custom.createNamespacedCustomObject({
      ...RM,
      namespace: ns,
      body: {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'RemoteMachine',
        metadata: { name: 'claimant-late' },
        spec: { pool: POOL },
      },
    });
    const temporal = await temporalClient();
    try {
      await eventually(async () => {
        const state = await temporal.client.workflow
          .getHandle(poolWorkflowId(ns, POOL))
          .query(poolStateQuery);
        expect(state.waiting).toEqual(['claimant-late']);
      }, 120_000);
    } finally {
      await temporal.close();
    }
    expect((await reservations()).size).toBe(N);
  });

  it('reservations lost from status (a move) are restored from the machines, after a restart, not handed out again', async () => {
    const before = await reservations();
    await k0sflow.stop();
    // What a move can leave behind: every PooledRemoteMachine's status reset.
    for (const p of await listPooled()) {
      await kube.custom.patchNamespacedCustomObjectStatus(
        {
          ...PRM,
          namespace: ns,
          name: p.metadata.name,
          body: { status: { reserved: false, machineRef: { name: '', namespace: '' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
      );
    }
    expect((await listPooled()).filter((p) => p.status?.reserved)).toHaveLength(0);
    k0sflow = startK0sflow({ namespace: ns, name: `${ns}-restarted` });
    const after = await eventually(async () => {
      const r = await reservations();
      expect(r.size).toBe(N);
      return r;
    }, 180_000);
    expect(after).toEqual(before);
    // The late claimant still waits: nothing was free to give it.
    const late = (await listRemote()).find((r) => r.metadata.name === 'claimant-late');
    expect(late?.metadata.annotations?.[POOLED_MACHINE_ANNOTATION]).toBeUndefined();
  });
});
