import { KubeConfig } from '@kubernetes/client-node';

import { reuseConnections } from './kube-client.js';

function configFor(server: string, user = 'admin'): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server, caData: Buffer.from('not really a CA').toString('base64') }],
    users: [{ name: user, token: 'token' }],
    contexts: [{ name: 'x', cluster: 'c', user }],
    currentContext: 'x',
  });
  return config;
}

type Factory = (cluster: unknown, options: Record<string, unknown>) => unknown;
const factoryOf = (config: KubeConfig): Factory => {
  const f = (config as unknown as { createDispatcher: Factory }).createDispatcher;
  return (cluster, options) => f.call(config, cluster, options);
};

describe('reuseConnections', () => {
  it("finds client-node's per-request dispatcher factory (fails when a release renames it)", () => {
    expect(reuseConnections(configFor('https://127.0.0.1:6443'))).toBe(true);
  });

  it('hands out one dispatcher per TLS identity instead of one per request', () => {
    const config = configFor('https://127.0.0.1:6443');
    const unpatched = factoryOf(config);
    const cluster = config.getCurrentCluster();
    const options = { ca: Buffer.from('ca-1') };
    expect(unpatched(cluster, options)).not.toBe(unpatched(cluster, options));

    reuseConnections(config);
    const create = factoryOf(config);
    const first = create(cluster, options);
    expect(first).toBeDefined();
    expect(create(cluster, { ca: Buffer.from('ca-1') })).toBe(first);
    expect(create(cluster, { ca: Buffer.from('ca-2') })).not.toBe(first);
    expect(create({ ...cluster, server: 'https://10.0.0.1:6443' }, options)).not.toBe(first);
  });
});
