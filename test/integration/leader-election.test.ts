import { CoordinationV1Api } from '@kubernetes/client-node';

import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  parseManifests,
  readLog,
  startK0sflow,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { RC } from '../harness/resources.js';
import { seedManifest } from '../harness/seeds.js';

describe('two replicas', () => {
  let kube: Kube;
  let ns: string;
  let replicas: K0sflowProcess[] = [];

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'leader');
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  const leadersIn = (procs: K0sflowProcess[]): K0sflowProcess[] =>
    procs.filter((p) => readLog(p).includes('"msg":"bridge running"'));

  it('never drive together: one holds the Lease, the other takes over when it goes', async () => {
    replicas = [
      startK0sflow({ namespace: ns, name: `${ns}-a` }),
      startK0sflow({ namespace: ns, name: `${ns}-b` }),
    ];
    const coordination = kube.config.makeApiClient(CoordinationV1Api);

    const leader = await eventually(() => {
      const leaders = leadersIn(replicas);
      expect(leaders).toHaveLength(1);
      return leaders[0]!;
    });
    const lease = await coordination.readNamespacedLease({ namespace: ns, name: 'k0sflow' });
    expect(lease.spec?.holderIdentity).toMatch(new RegExp(`-${leader.process.pid}$`));
    // A few renewals later, still exactly one bridge.
    await new Promise((r) => setTimeout(r, 6000));
    expect(leadersIn(replicas)).toEqual([leader]);

    // A graceful stop releases the Lease; the other replica takes over and drives new objects.
    expect(await leader.stop()).toBe(0); // a graceful shutdown, lease released
    const follower = replicas.find((r) => r !== leader)!;
    await eventually(() => expect(leadersIn([follower])).toHaveLength(1), 30_000);
    await createAll(kube, ns, parseManifests(seedManifest('remote-machine-provider', ['RemoteCluster'], 0)));
    await eventually(async () => {
      const rc = (await kube.custom.getNamespacedCustomObject({
        ...RC,
        namespace: ns,
        name: 'remote-test',
      })) as {
        status?: { ready?: boolean };
      };
      expect(rc.status?.ready).toBe(true);
    });
  });
});
