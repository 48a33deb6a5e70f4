import {
  createAll,
  createNamespace,
  managementKube,
  parseManifests,
  rejection,
  type Kube,
} from '../harness/env.js';
import { seedFiles } from '../harness/seeds.js';

/**
 * The seed pages are the spec of the API: every manifest in them must pass the real API server's
 * validation unchanged — ours through our CRDs, CAPI's through its CRDs and conversion webhook.
 */
describe('seed manifests apply to the real API server', () => {
  let kube: Kube;

  beforeAll(() => {
    kube = managementKube();
  });

  it('the single-machine flow and the pool flow (seed blocks 0-3) apply verbatim', async () => {
    const ns = await createNamespace(kube, 'seeds-a');
    const files = seedFiles().filter((f) => /remote-machine-provider\.[0-3]\.yaml$/.test(f.file));
    expect(files).toHaveLength(4);
    const created = await createAll(
      kube,
      ns,
      files.flatMap((f) => parseManifests(f.text))
    );
    expect(created.map((o) => o.kind)).toEqual([
      'Cluster',
      'K0smotronControlPlane',
      'RemoteCluster',
      'Machine',
      'K0sWorkerConfig',
      'RemoteMachine',
      'RemoteMachineTemplate',
      'PooledRemoteMachine',
      'PooledRemoteMachine',
    ]);
    // Defaults from the schemas, as k0smotron's CRDs give them.
    const rm = (await kube.custom.getNamespacedCustomObject({
      group: 'infrastructure.cluster.x-k8s.io',
      version: 'v1beta1',
      plural: 'remotemachines',
      namespace: ns,
      name: 'remote-test-0',
    })) as { spec: Record<string, unknown> };
    expect(rm.spec).toMatchObject({
      address: '1.2.3.4',
      port: 22,
      user: 'root',
      sshKeyRef: { name: 'footloose-key' },
    });

    // CAPI stores v1beta2: reading the v1beta1 Cluster back as v1beta2 proves the conversion webhook ran.
    const cluster = (await kube.custom.getNamespacedCustomObject({
      group: 'cluster.x-k8s.io',
      version: 'v1beta2',
      plural: 'clusters',
      namespace: ns,
      name: 'remote-test',
    })) as { spec: { infrastructureRef: Record<string, string>; controlPlaneRef: Record<string, string> } };
    expect(cluster.spec.infrastructureRef).toEqual({
      apiGroup: 'infrastructure.cluster.x-k8s.io',
      kind: 'RemoteCluster',
      name: 'remote-test',
    });
    expect(cluster.spec.controlPlaneRef).toMatchObject({
      apiGroup: 'controlplane.cluster.x-k8s.io',
      kind: 'K0smotronControlPlane',
    });
  });

  it('the K0sControlPlane flow (seed block 4) applies verbatim', async () => {
    const ns = await createNamespace(kube, 'seeds-b');
    const [block] = seedFiles().filter((f) => f.file === 'remote-machine-provider.4.yaml');
    const created = await createAll(kube, ns, parseManifests(block!.text));
    expect(created.map((o) => o.kind)).toEqual(['K0sControlPlane', 'Cluster']);
  });
});

describe('invalid manifests are rejected with a message naming the field', () => {
  let kube: Kube;
  let ns: string;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'bad-input');
  });

  const create = (body: object): Promise<unknown> =>
    kube.objects.create({
      ...body,
      metadata: { ...(body as { metadata: object }).metadata, namespace: ns },
    } as never);

  it('a wrong type', async () => {
    const message = await rejection(
      create({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'RemoteMachine',
        metadata: { name: 'wrong-type' },
        spec: { address: '1.2.3.4', port: 'twenty-two', sshKeyRef: { name: 'k' } },
      })
    );
    expect(message).toContain('spec.port');
  });

  it('a missing required field', async () => {
    const message = await rejection(
      create({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'PooledRemoteMachine',
        metadata: { name: 'no-address' },
        spec: { pool: 'default', machine: { sshKeyRef: { name: 'k' } } },
      })
    );
    expect(message).toContain('spec.machine.address');
  });

  it('a k0s version with -k0s. instead of +k0s. (a CEL rule, no webhook)', async () => {
    const message = await rejection(
      create({
        apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1',
        kind: 'K0sWorkerConfig',
        metadata: { name: 'bad-version' },
        spec: { version: 'v1.27.2-k0s.0' },
      })
    );
    expect(message).toContain('spec.version');
    expect(message).toContain('+k0s.');
  });

  it('an unknown service type of a hosted control plane', async () => {
    const message = await rejection(
      create({
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1',
        kind: 'K0smotronControlPlane',
        metadata: { name: 'bad-service' },
        spec: { version: 'v1.27.2-k0s.0', service: { type: 'Bogus' } },
      })
    );
    expect(message).toContain('spec.service.type');
  });
});
