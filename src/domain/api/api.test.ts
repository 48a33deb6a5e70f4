import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import {
  API_KINDS,
  BOOTSTRAP_GROUP,
  CONTROLPLANE_GROUP,
  INFRASTRUCTURE_GROUP,
  K0sControlPlaneSchema,
  K0smotronControlPlaneSchema,
  K0sWorkerConfigSchema,
  PooledRemoteMachineSchema,
  RemoteClusterSchema,
  RemoteMachineSchema,
  RemoteMachineTemplateSchema,
  apiVersionOf,
  kindInfo,
} from './index.js';
import type { K0sControlPlane, K0smotronControlPlane, PooledRemoteMachine, RemoteMachine } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}

// The seed pages' manifests, verbatim, one file per YAML block (shared with the integration tests).
const seedDir = join(here, '../../../test/fixtures/seeds');
const seeds: Manifest[] = readdirSync(seedDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(seedDir, f), 'utf8')).map((doc) => doc.toJS() as Manifest)
  )
  .filter((o) => o !== null);

const ours = seeds.filter((o) => API_KINDS.some((k) => k.kind === o.kind));

function seed(kind: string, name: string): Manifest {
  const found = seeds.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no seed ${kind}/${name}`);
  return found;
}

/** The paths (dot-joined) zod reports for a failed parse. */
function issuePaths(result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return (result.error?.issues ?? []).map((i) => i.path.map(String).join('.'));
}

describe('seed manifests', () => {
  it('contain objects of most of our kinds', () => {
    expect(new Set(ours.map((o) => o.kind))).toEqual(
      new Set([
        'K0smotronControlPlane',
        'RemoteCluster',
        'K0sWorkerConfig',
        'RemoteMachine',
        'RemoteMachineTemplate',
        'PooledRemoteMachine',
        'K0sControlPlane',
      ])
    );
  });

  it.each(ours.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('%s parses', (_name, object) => {
    const result = kindInfo(object.kind).schema.safeParse(object);
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('RemoteMachine gets k0smotron defaults', () => {
    const rm: RemoteMachine = RemoteMachineSchema.parse(seed('RemoteMachine', 'remote-test-0'));
    expect(rm.spec).toEqual({
      address: '1.2.3.4',
      port: 22,
      user: 'root',
      commandsAsScript: false,
      workingDir: '/etc/k0smotron',
      sshKeyRef: { name: 'footloose-key' },
    });
    const bare = RemoteMachineSchema.parse({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteMachine',
      metadata: { name: 'x' },
      spec: { pool: 'default' },
    });
    expect(bare.spec).toMatchObject({
      port: 22,
      user: 'root',
      workingDir: '/etc/k0smotron',
      commandsAsScript: false,
    });
  });

  it('PooledRemoteMachine gets defaults inside spec.machine', () => {
    const prm: PooledRemoteMachine = PooledRemoteMachineSchema.parse({
      ...seed('PooledRemoteMachine', 'remote-test-1'),
      spec: { pool: 'default', machine: { address: '2.3.4.5', sshKeyRef: { name: 'k' } } },
    });
    expect(prm.spec.machine).toEqual({
      address: '2.3.4.5',
      port: 22,
      user: 'root',
      commandsAsScript: false,
      workingDir: '/etc/k0smotron',
      sshKeyRef: { name: 'k' },
    });
  });

  it('K0smotronControlPlane gets the hosted cluster defaults', () => {
    const kmc: K0smotronControlPlane = K0smotronControlPlaneSchema.parse(
      seed('K0smotronControlPlane', 'remote-test')
    );
    expect(kmc.spec).toMatchObject({
      replicas: 1,
      image: 'quay.io/k0sproject/k0s',
      version: 'v1.27.2-k0s.0',
      service: { type: 'NodePort', apiPort: 30443, konnectivityPort: 30132 },
      persistence: { type: 'emptyDir', autoDeletePVCs: false },
      etcd: { image: 'quay.io/k0sproject/etcd:v3.5.13', persistence: { size: '1Gi' }, autoDeletePVCs: false },
    });
  });

  it('K0sControlPlane keeps the k0s config verbatim and defaults replicas and strategy', () => {
    const kcp: K0sControlPlane = K0sControlPlaneSchema.parse(seed('K0sControlPlane', 'remote-test'));
    expect(kcp.spec.replicas).toBe(1);
    expect(kcp.spec.updateStrategy).toBe('InPlace');
    expect(kcp.spec.k0sConfigSpec.k0sInstallDir).toBe('/usr/local/bin');
    expect(kcp.spec.k0sConfigSpec.k0s).toEqual({
      apiVersion: 'k0s.k0sproject.io/v1beta1',
      kind: 'ClusterConfig',
      metadata: { name: 'k0s' },
      spec: { api: { extraArgs: { 'anonymous-auth': 'true' } } },
    });
    expect(kcp.spec.machineTemplate.infrastructureRef?.kind).toBe('RemoteMachineTemplate');
  });

  it('K0sWorkerConfig gets k0sInstallDir and useSystemHostname defaults', () => {
    const wc = K0sWorkerConfigSchema.parse(seed('K0sWorkerConfig', 'remote-test-0'));
    expect(wc.spec).toEqual({
      version: 'v1.27.2+k0s.0',
      k0sInstallDir: '/usr/local/bin',
      useSystemHostname: false,
    });
  });

  it('RemoteCluster with an empty `spec:` (null) parses to an empty spec', () => {
    const rc = RemoteClusterSchema.parse(seed('RemoteCluster', 'remote-test'));
    expect(rc.spec).toEqual({});
    expect(rc.status).toBeUndefined();
  });
});

describe('objects from the API server', () => {
  it('keep metadata fields we do not model', () => {
    const rc = RemoteClusterSchema.parse({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteCluster',
      metadata: {
        name: 'c',
        namespace: 'default',
        uid: 'u',
        generation: 3,
        managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
        ownerReferences: [
          { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', name: 'c', uid: 'v', extra: 1 },
        ],
      },
      spec: { controlPlaneEndpoint: { host: '1.2.3.4', port: 6443 } },
      status: { ready: true, initialization: { provisioned: true }, observedGeneration: 3 },
    });
    expect(rc.metadata.managedFields).toEqual([{ manager: 'kubectl', operation: 'Apply' }]);
    expect(rc.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Cluster', extra: 1 });
    expect(rc.status?.initialization?.provisioned).toBe(true);
  });

  it('accept conditions of both contracts (metav1.Condition and v1beta1 with severity)', () => {
    const base = seed('K0sWorkerConfig', 'remote-test-0');
    const parsed = K0sWorkerConfigSchema.parse({
      ...base,
      status: {
        ready: true,
        dataSecretName: 'remote-test-0',
        initialization: { dataSecretCreated: true },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Ready',
            message: '',
            lastTransitionTime: '2026-01-01T00:00:00Z',
            observedGeneration: 1,
          },
          {
            type: 'DataSecretAvailable',
            status: 'False',
            severity: 'Info',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    });
    expect(parsed.status?.conditions?.map((c) => c.type)).toEqual(['Ready', 'DataSecretAvailable']);
  });
});

describe('invalid objects', () => {
  const rm = (): Manifest => structuredClone(seed('RemoteMachine', 'remote-test-0'));

  it('name the path of a wrong type', () => {
    const object = rm();
    object.spec = { address: '1.2.3.4', port: '22' };
    expect(issuePaths(RemoteMachineSchema.safeParse(object))).toEqual(['spec.port']);
  });

  it('name the path of a value out of range', () => {
    const object = rm();
    object.spec = { address: '1.2.3.4', port: 70000 };
    expect(issuePaths(RemoteMachineSchema.safeParse(object))).toEqual(['spec.port']);
  });

  it('name the path of a missing required field', () => {
    const prm = structuredClone(seed('PooledRemoteMachine', 'remote-test-0'));
    prm.spec = { pool: 'default', machine: { address: '1.2.3.4' } };
    expect(issuePaths(PooledRemoteMachineSchema.safeParse(prm))).toEqual(['spec.machine.sshKeyRef']);

    const rmt = structuredClone(seed('RemoteMachineTemplate', 'remote-test-template'));
    rmt.spec = { template: { spec: {} } };
    expect(issuePaths(RemoteMachineTemplateSchema.safeParse(rmt))).toEqual(['spec.template.spec.pool']);

    const kcp = structuredClone(seed('K0sControlPlane', 'remote-test'));
    delete (kcp.spec as Record<string, unknown>).machineTemplate;
    expect(issuePaths(K0sControlPlaneSchema.safeParse(kcp))).toEqual(['spec.machineTemplate']);
  });

  it('reject another kind or version', () => {
    const object = rm();
    object.apiVersion = 'infrastructure.cluster.x-k8s.io/v1beta2';
    expect(issuePaths(RemoteMachineSchema.safeParse(object))).toEqual(['apiVersion']);
    expect(issuePaths(RemoteClusterSchema.safeParse(rm()))).toEqual(['kind']);
  });

  it('reject an unknown enum value', () => {
    const kmc = structuredClone(seed('K0smotronControlPlane', 'remote-test'));
    kmc.spec = { service: { type: 'ExternalName' } };
    expect(issuePaths(K0smotronControlPlaneSchema.safeParse(kmc))).toEqual(['spec.service.type']);
  });
});

describe('registry', () => {
  it('has the twelve kinds with k0smotron names', () => {
    expect(API_KINDS.map((k) => `${k.group}/${k.plural}`).sort()).toEqual([
      `${BOOTSTRAP_GROUP}/k0scontrollerconfigs`,
      `${BOOTSTRAP_GROUP}/k0sworkerconfigs`,
      `${BOOTSTRAP_GROUP}/k0sworkerconfigtemplates`,
      `${CONTROLPLANE_GROUP}/k0scontrolplanes`,
      `${CONTROLPLANE_GROUP}/k0scontrolplanetemplates`,
      `${CONTROLPLANE_GROUP}/k0smotroncontrolplanes`,
      `${CONTROLPLANE_GROUP}/k0smotroncontrolplanetemplates`,
      `${INFRASTRUCTURE_GROUP}/pooledremotemachines`,
      `${INFRASTRUCTURE_GROUP}/remoteclusters`,
      `${INFRASTRUCTURE_GROUP}/remoteclustertemplates`,
      `${INFRASTRUCTURE_GROUP}/remotemachines`,
      `${INFRASTRUCTURE_GROUP}/remotemachinetemplates`,
    ]);
  });

  it('looks kinds up and names their apiVersion', () => {
    const info = kindInfo('PooledRemoteMachine');
    expect(info).toMatchObject({
      role: 'infrastructure',
      listKind: 'PooledRemoteMachineList',
      singular: 'pooledremotemachine',
    });
    expect(info.printerColumns.map((c) => c.name)).toEqual(['Address', 'Reserved', 'Remote Machine']);
    expect(apiVersionOf(kindInfo('K0sWorkerConfig'))).toBe('bootstrap.cluster.x-k8s.io/v1beta1');
    expect(() => kindInfo('Machine')).toThrow(/unknown kind Machine/);
  });

  it('pairs each schema with its own apiVersion and kind', () => {
    for (const info of API_KINDS) {
      const shape = info.schema.shape as Record<string, z.ZodType>;
      expect(shape.kind?.safeParse(info.kind).success).toBe(true);
      expect(shape.apiVersion?.safeParse(apiVersionOf(info)).success).toBe(true);
      expect(Object.keys(shape)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    }
  });
});
