import { dependencyFingerprint, ownObjectFingerprint, stableJson } from './fingerprint.js';

const meta = {
  name: 'a',
  namespace: 'ns',
  uid: 'u',
  generation: 1,
  resourceVersion: '10',
  labels: { x: '1' },
};

describe('fingerprints', () => {
  it('ignore resourceVersion alone (status writes), follow generation, labels, annotations and deletion', () => {
    const base = ownObjectFingerprint(meta);
    expect(ownObjectFingerprint({ ...meta, resourceVersion: '11' })).toBe(base);
    expect(ownObjectFingerprint({ ...meta, generation: 2 })).not.toBe(base);
    expect(ownObjectFingerprint({ ...meta, labels: { x: '2' } })).not.toBe(base);
    expect(ownObjectFingerprint({ ...meta, annotations: { 'cluster.x-k8s.io/paused': '' } })).not.toBe(base);
    expect(ownObjectFingerprint({ ...meta, deletionTimestamp: '2026-01-01T00:00:00Z' })).not.toBe(base);
  });

  it('of dependencies follow readiness in status, not timestamps', () => {
    const status = { conditions: [{ type: 'Available', status: 'False', lastTransitionTime: 't0' }] };
    const base = dependencyFingerprint(meta, status);
    expect(
      dependencyFingerprint(meta, {
        conditions: [{ type: 'Available', status: 'False', lastTransitionTime: 't1' }],
      })
    ).toBe(base);
    expect(dependencyFingerprint(meta, { conditions: [{ type: 'Available', status: 'True' }] })).not.toBe(
      base
    );
    expect(
      dependencyFingerprint(meta, { ...status, initialization: { infrastructureProvisioned: true } })
    ).not.toBe(base);
  });

  it('stableJson sorts keys at every depth', () => {
    expect(stableJson({ b: 1, a: { d: 1, c: [2, 1] } })).toBe('{"a":{"c":[2,1],"d":1},"b":1}');
  });
});
