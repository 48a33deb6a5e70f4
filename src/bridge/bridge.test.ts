import { kindInfo } from '../domain/api/index.js';
import { mergeHints, objectRefOf } from './bridge.js';

describe('objectRefOf', () => {
  it('keeps the coordinates of a kind and leaves its schema out of workflow input', () => {
    const ref = objectRefOf(kindInfo('K0smotronControlPlane'), { namespace: 'ns', name: 'cp', uid: 'u1' });
    expect(ref).toEqual({
      group: 'controlplane.cluster.x-k8s.io',
      version: 'v1beta1',
      plural: 'k0smotroncontrolplanes',
      kind: 'K0smotronControlPlane',
      namespace: 'ns',
      name: 'cp',
      uid: 'u1',
    });
    expect(JSON.stringify(ref).length).toBeLessThan(300);
  });
});

describe('mergeHints', () => {
  it('keeps the newest generation, and deletion and dependency causes are sticky', () => {
    expect(mergeHints({ generation: 1, deleting: true }, { generation: 2 })).toEqual({
      generation: 2,
      deleting: true,
    });
    expect(mergeHints({ cause: 'Cluster' }, { generation: 4, resourceVersion: '9' })).toEqual({
      cause: 'Cluster',
      generation: 4,
      resourceVersion: '9',
    });
  });
});
