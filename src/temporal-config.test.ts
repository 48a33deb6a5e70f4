import { resolveTemporalSettings } from './temporal-config.js';

describe('resolveTemporalSettings', () => {
  const noFile = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

  it('defaults to a local dev server and the default namespace', () => {
    const s = resolveTemporalSettings({}, { ...noFile });
    expect(s.connection.address).toBe('localhost:7233');
    expect(s.namespace).toBe('default');
  });

  it('honours the Temporal CLI environment', () => {
    const s = resolveTemporalSettings(
      {},
      { ...noFile, TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'infra' }
    );
    expect(s.connection.address).toBe('temporal.example:7233');
    expect(s.namespace).toBe('infra');
  });

  it('lets flags win over the environment', () => {
    const s = resolveTemporalSettings(
      { address: 'flag:1', namespace: 'flagged' },
      { ...noFile, TEMPORAL_ADDRESS: 'env:1', TEMPORAL_NAMESPACE: 'env' }
    );
    expect(s.connection.address).toBe('flag:1');
    expect(s.namespace).toBe('flagged');
  });
});
