import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { API_KINDS, freeForm, intOrString, kindInfo } from '../api/index.js';
import {
  CONTRACT_LABELS,
  crdFileName,
  generateCrd,
  generateCrds,
  renderCrdFiles,
  staleFiles,
} from './generate.js';
import type { JSONSchemaProps } from './openapi.js';
import { toStructural } from './openapi.js';
import { structuralProblems } from './structural.js';

const CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'deploy', 'crds');

function openAPI(kind: string): JSONSchemaProps {
  const version = generateCrd(kindInfo(kind)).spec.versions[0];
  if (version === undefined) throw new Error('no version');
  return version.schema.openAPIV3Schema;
}

/** Follow a dot path through `properties` (and `[]` through `items`). */
function node(schema: JSONSchemaProps, path: string): JSONSchemaProps {
  let current: JSONSchemaProps | undefined = schema;
  for (const part of path.split('.')) {
    current = part === '[]' ? current?.items : current?.properties?.[part];
    if (current === undefined) throw new Error(`no ${path}`);
  }
  return current;
}

describe('generated CRDs', () => {
  const crds = generateCrds();

  it.each(crds.map((c) => [c.metadata.name, c] as const))('%s is structural', (_name, crd) => {
    for (const version of crd.spec.versions)
      expect(structuralProblems(version.schema.openAPIV3Schema)).toEqual([]);
  });

  it('carry the provider and both contract labels', () => {
    for (const crd of crds) {
      const info = kindInfo(crd.spec.names.kind);
      expect(crd.metadata.labels).toEqual({
        'cluster.x-k8s.io/provider': `${info.role}-k0sflow`,
        'cluster.x-k8s.io/v1beta1': 'v1beta1',
        'cluster.x-k8s.io/v1beta2': 'v1beta1',
      });
      expect(crd.metadata.name).toBe(`${info.plural}.${info.group}`);
      expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1beta1', true, true]]);
    }
    expect(Object.values(CONTRACT_LABELS)).toEqual(['v1beta1', 'v1beta1']);
  });

  it('give control planes a scale subresource and everything with a status a status subresource', () => {
    for (const crd of crds) {
      const info = kindInfo(crd.spec.names.kind);
      const sub = crd.spec.versions[0]?.subresources;
      expect(sub?.status !== undefined).toBe(info.status !== undefined);
      const scaled = info.kind === 'K0sControlPlane' || info.kind === 'K0smotronControlPlane';
      expect(sub?.scale).toEqual(
        scaled
          ? {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            }
          : undefined
      );
    }
  });

  it('turn zod defaults into OpenAPI defaults', () => {
    const rm = openAPI('RemoteMachine');
    expect(node(rm, 'spec.port')).toMatchObject({
      type: 'integer',
      format: 'int32',
      default: 22,
      minimum: 1,
      maximum: 65535,
    });
    expect(node(rm, 'spec.user').default).toBe('root');
    expect(node(rm, 'spec.workingDir').default).toBe('/etc/k0smotron');
    expect(node(rm, 'spec.provisionJob.sshCommand').default).toBe('ssh');
    const kmc = openAPI('K0smotronControlPlane');
    expect(node(kmc, 'spec.service').default).toEqual({
      type: 'ClusterIP',
      apiPort: 30443,
      konnectivityPort: 30132,
    });
    expect(node(kmc, 'spec.etcd.persistence.size')).toMatchObject({
      default: '1Gi',
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
    });
    expect(node(kmc, 'spec.k0sConfig')).toMatchObject({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('mark required fields as k0smotron does', () => {
    expect(node(openAPI('PooledRemoteMachine'), 'spec.machine').required).toEqual(['address', 'sshKeyRef']);
    expect(node(openAPI('PooledRemoteMachine'), 'status').required).toEqual(['reserved', 'machineRef']);
    expect(node(openAPI('K0sControlPlane'), 'spec').required).toEqual(['k0sConfigSpec', 'machineTemplate']);
    expect(node(openAPI('RemoteMachineTemplate'), 'spec').required).toEqual(['template']);
  });

  it('express k0smotron webhook checks as CEL rules', () => {
    const rules = (schema: JSONSchemaProps): string[] =>
      ((schema['x-kubernetes-validations'] ?? []) as { rule: string }[]).map((r) => r.rule);
    expect(rules(node(openAPI('K0sWorkerConfig'), 'spec.version'))).toEqual(["!self.contains('-k0s.')"]);
    expect(rules(node(openAPI('K0sWorkerConfig'), 'spec.files'))[0]).toContain('exists_one');
    expect(rules(node(openAPI('K0sControlPlane'), 'spec.version')).join(' ')).toContain('oldSelf');
    expect(rules(node(openAPI('K0sControlPlane'), 'spec'))[0]).toContain("'--single'");
    expect(node(openAPI('K0sWorkerConfig'), 'spec.version').maxLength).toBe(256);
  });

  it('serve the v1beta2 contract status fields next to the v1beta1 ones', () => {
    const props = (kind: string): string[] => Object.keys(node(openAPI(kind), 'status').properties ?? {});
    expect(props('RemoteMachine')).toEqual(
      expect.arrayContaining(['ready', 'initialization', 'addresses', 'conditions'])
    );
    expect(node(openAPI('RemoteCluster'), 'status.initialization.provisioned').type).toBe('boolean');
    expect(node(openAPI('K0sWorkerConfig'), 'status.initialization.dataSecretCreated').type).toBe('boolean');
    expect(props('K0sControlPlane')).toEqual(
      expect.arrayContaining([
        'initialized',
        'initialization',
        'availableReplicas',
        'upToDateReplicas',
        'versions',
        'updatedReplicas',
      ])
    );
    const condition = node(openAPI('K0sControllerConfig'), 'status.conditions.[]');
    expect(Object.keys(condition.properties ?? {}).sort()).toEqual(
      ['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'severity', 'status', 'type'].sort()
    );
    expect(condition.required).toEqual(['type', 'status']);
  });
});

describe('structural checker', () => {
  it('finds what the API server would reject', () => {
    const bad: JSONSchemaProps = {
      type: 'object',
      properties: {
        untyped: {},
        mixed: { anyOf: [{ type: 'string' }, { type: 'object', properties: { a: { type: 'string' } } }] },
        closed: { type: 'object', additionalProperties: false },
        ref: { $ref: '#/x' } as JSONSchemaProps,
      },
      required: ['missing'],
    };
    expect(structuralProblems(bad)).toEqual(
      expect.arrayContaining([
        '.untyped: no type',
        '.mixed: no type',
        '.mixed: anyOf mixing types outside int-or-string',
        '.closed: additionalProperties: false',
        '.ref: has $ref',
        '.: required missing is not a property',
      ])
    );
  });

  it('accepts free-form and int-or-string nodes', () => {
    expect(structuralProblems(toStructural(z.object({ a: freeForm(), b: intOrString() })))).toEqual([]);
  });

  it('the generator refuses schemas with no structural form', () => {
    expect(() => toStructural(z.object({ u: z.union([z.string(), z.boolean()]) }), 'X')).toThrow(
      /X\.u: unions/
    );
    expect(() => toStructural(z.object({ m: z.record(z.string(), z.unknown()) }), 'X')).toThrow(
      /X\.m: free-form/
    );
  });
});

describe('deploy/crds', () => {
  function onDisk(): Map<string, string> {
    const files = new Map<string, string>();
    for (const name of readdirSync(CRD_DIR).filter((n) => n.endsWith('.yaml'))) {
      files.set(name, readFileSync(join(CRD_DIR, name), 'utf8'));
    }
    return files;
  }

  it('is what the schemas generate (run `npm run gen:crds` if this fails)', () => {
    expect(staleFiles(renderCrdFiles(), onDisk())).toEqual([]);
  });

  it('generation is deterministic and names files <group>_<plural>.yaml', () => {
    const first = renderCrdFiles();
    expect(renderCrdFiles()).toEqual(first);
    expect([...first.keys()]).toContain('infrastructure.cluster.x-k8s.io_pooledremotemachines.yaml');
    expect(generateCrds().map(crdFileName)).toHaveLength(API_KINDS.length);
  });

  it('files start with the generated-code header and kustomization lists every CRD', () => {
    const files = renderCrdFiles();
    for (const content of files.values())
      expect(content.startsWith('# Code generated by `npm run gen:crds`')).toBe(true);
    const kustomization = parse(files.get('kustomization.yaml') ?? '') as { resources: string[] };
    expect(kustomization.resources).toEqual([...files.keys()].filter((n) => n !== 'kustomization.yaml'));
    const crd = parseAllDocuments(files.get('infrastructure.cluster.x-k8s.io_remotemachines.yaml') ?? '');
    expect(crd.map((d) => (d.toJS() as { kind: string }).kind)).toEqual(['CustomResourceDefinition']);
  });

  it('staleFiles names changed, missing and extra files', () => {
    const wanted = new Map([
      ['a.yaml', 'a'],
      ['b.yaml', 'b'],
      ['c.yaml', 'c'],
    ]);
    const actual = new Map([
      ['a.yaml', 'a'],
      ['b.yaml', 'B'],
      ['d.yaml', 'd'],
    ]);
    expect(staleFiles(wanted, actual)).toEqual(['b.yaml', 'c.yaml', 'd.yaml']);
  });
});
