import { schemaProblems } from './objects.js';

describe('schemaProblems', () => {
  const base = {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'RemoteCluster',
    metadata: { name: 'rc', namespace: 'default', uid: 'u', resourceVersion: '1', managedFields: [] },
  };

  it('accepts a valid object with the metadata the API server adds', () => {
    expect(
      schemaProblems('RemoteCluster', {
        ...base,
        spec: { controlPlaneEndpoint: { host: '10.0.0.1', port: 6443 } },
      })
    ).toBeUndefined();
  });

  it('names the offending field', () => {
    const problems = schemaProblems('RemoteCluster', {
      ...base,
      spec: { controlPlaneEndpoint: { host: 'h', port: 'x' } },
    });
    expect(problems).toContain('spec.controlPlaneEndpoint.port');
  });
});
