import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** Flags that override the Temporal CLI's environment (TEMPORAL_ADDRESS, TEMPORAL_TLS_*, profiles). */
export interface TemporalFlags {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
}

export interface TemporalSettings {
  connection: NativeConnectionOptions;
  namespace: string;
}

/**
 * Resolves the connection the way the `temporal` CLI does (config file profile, then TEMPORAL_*
 * variables), with command-line flags on top; defaults to a local dev server.
 */
export function resolveTemporalSettings(
  flags: TemporalFlags,
  env: NodeJS.ProcessEnv = process.env
): TemporalSettings {
  const overrides: Record<string, string> = {};
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) overrides[name] = value;
  };
  set('TEMPORAL_ADDRESS', flags.address);
  set('TEMPORAL_NAMESPACE', flags.namespace);
  set('TEMPORAL_API_KEY', flags.apiKey);
  set('TEMPORAL_TLS_CLIENT_CERT_PATH', flags.tlsCertPath);
  set('TEMPORAL_TLS_CLIENT_KEY_PATH', flags.tlsKeyPath);
  set('TEMPORAL_TLS_SERVER_CA_CERT_PATH', flags.tlsCaPath);
  set('TEMPORAL_TLS_SERVER_NAME', flags.tlsServerName);
  const merged = { ...stringEnv(env), ...overrides };
  const loaded = loadClientConnectConfig({ overrideEnvVars: merged });
  return {
    connection: {
      ...loaded.connectionOptions,
      address: loaded.connectionOptions.address ?? 'localhost:7233',
    },
    namespace: loaded.namespace ?? 'default',
  };
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
