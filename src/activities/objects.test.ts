import { eventName, schemaProblems } from './objects.js';

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

describe('eventName', () => {
  const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

  it('is a valid object name, unique per call, within 253 characters', () => {
    const a = eventName('remote-test');
    expect(a).toMatch(dnsSubdomain);
    expect(a.startsWith('remote-test.')).toBe(true);
    expect(eventName('remote-test')).not.toBe(a);
    const long = eventName('x'.repeat(253));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(dnsSubdomain);
  });
});
