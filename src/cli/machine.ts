import {
  Client,
  Connection,
  WorkflowUpdateFailedError,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';

import { resolveTemporalSettings, type TemporalFlags } from '../temporal-config.js';
import { errorText } from '../util/log.js';
import { entityStateQuery, retryUpdate, searchAttributes, type EntityState } from '../workflows/messages.js';
import { fail, out, warn } from './output.js';

const KIND = 'RemoteMachine';

/** Queries and updates are answered by a worker: without one they would hang rather than fail. */
const CALL_TIMEOUT_MS = 30_000;

/** The local dev server (`temporal server start-dev`) serves its Web UI on this port. */
const DEV_FRONTEND_PORT = '7233';
const DEV_UI_PORT = '8233';

export interface ObjectName {
  namespace: string;
  name: string;
}

export interface StatusOptions extends TemporalFlags {
  /** Base URL of the Temporal Web UI. */
  uiUrl?: string;
}

export interface RetryOptions extends TemporalFlags {
  acceptHostKey: boolean;
}

/** Parses `<namespace>/<name>`. */
export function parseObjectName(value: string): ObjectName {
  const parts = value.split('/');
  const [namespace, name] = parts;
  if (parts.length !== 2 || !namespace || !name) {
    throw new Error(`expected <namespace>/<name>, got '${value}'`);
  }
  assertQuotable(namespace);
  assertQuotable(name);
  return { namespace, name };
}

/** The visibility query that finds every execution driving one object, whatever its uid. */
export function visibilityQuery(kind: string, object: ObjectName): string {
  return [
    `${searchAttributes.kind.name} = ${quote(kind)}`,
    `${searchAttributes.namespace.name} = ${quote(object.namespace)}`,
    `${searchAttributes.name.name} = ${quote(object.name)}`,
  ].join(' AND ');
}

/** The running execution if any (an object has at most one), else the one started last. */
export function pickExecution<T extends { status: { name: string }; startTime: Date }>(
  found: readonly T[]
): T | undefined {
  const running = found.filter((e) => e.status.name === 'RUNNING');
  const pool = running.length > 0 ? running : found;
  return pool.reduce<T | undefined>(
    (best, e) => (best === undefined || e.startTime > best.startTime ? e : best),
    undefined
  );
}

/** The Web UI's base URL: the one given, else the dev server's when the frontend is the local dev one. */
export function webUiBase(address: string, given?: string): string | undefined {
  if (given) return given.replace(/\/+$/, '');
  const match = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]):(\d+)$/.exec(address);
  if (!match || match[2] !== DEV_FRONTEND_PORT) return undefined;
  return `http://${match[1]}:${DEV_UI_PORT}`;
}

export function webUiLink(
  base: string,
  temporalNamespace: string,
  workflowId: string,
  runId: string
): string {
  const path = [temporalNamespace, 'workflows', workflowId, runId].map(encodeURIComponent).join('/');
  return `${base}/namespaces/${path}`;
}

export interface StatusView {
  workflowId: string;
  runId: string;
  status: string;
  /** Absent when the workflow is not running (or did not answer). */
  state?: EntityState;
  webUi?: string;
}

/** `key: value` lines; multi-line values continue on indented lines so each key stays greppable. */
export function formatStatus(view: StatusView): string {
  const { state } = view;
  const fields: [string, string | undefined][] = [
    ['workflow id', view.workflowId],
    ['run id', view.runId],
    ['status', view.status],
    ['phase', state?.phase],
    ['step', state?.step],
    ['waiting for', state?.waitingFor],
    ['last error', state?.lastError],
  ];
  if (view.webUi) fields.push(['web ui', view.webUi]);
  return fields.map(([key, value]) => formatField(key, value)).join('\n');
}

function formatField(key: string, value: string | undefined): string {
  const [first, ...rest] = (value?.trimEnd() || '-').split(/\r?\n/);
  return [`${key}: ${first}`, ...rest.map((line) => `  ${line}`)].join('\n');
}

/** Keyword values go inside single quotes; a quote or backslash could end the literal early. */
function assertQuotable(value: string): void {
  if (/['\\]/.test(value)) throw new Error(`names cannot contain ' or \\: '${value}'`);
}

function quote(value: string): string {
  assertQuotable(value);
  return `'${value}'`;
}

/** `k0sflow status machine <namespace>/<name>` */
export async function statusMachine(object: ObjectName, opts: StatusOptions): Promise<void> {
  await withTemporal(opts, async ({ client, connection, namespace, address }) => {
    const found = await findExecution(client, object);
    if (!found) return fail(notFound(object, namespace));
    const running = found.status.name === 'RUNNING';
    const handle = client.workflow.getHandle(found.workflowId, found.runId);
    const state = running ? await queryState(connection, handle) : undefined;
    const base = webUiBase(address, opts.uiUrl);
    const webUi = base && webUiLink(base, namespace, found.workflowId, found.runId);
    const view = { workflowId: found.workflowId, runId: found.runId, status: found.status.name };
    out(formatStatus({ ...view, ...(state ? { state } : {}), ...(webUi ? { webUi } : {}) }));
    if (!base) warn('no Web UI link: pass --ui-url or set TEMPORAL_UI_URL');
  });
}

/** `k0sflow retry machine <namespace>/<name> [--accept-host-key]` */
export async function retryMachine(object: ObjectName, opts: RetryOptions): Promise<void> {
  await withTemporal(opts, async ({ client, connection, namespace }) => {
    const found = await findExecution(client, object);
    if (!found) return fail(notFound(object, namespace));
    if (found.status.name !== 'RUNNING') {
      return fail(`the workflow ${found.workflowId} is ${found.status.name}, not running: nothing to retry`);
    }
    // By workflow id alone: should the run continue-as-new meanwhile, the update reaches its successor.
    const handle = client.workflow.getHandle(found.workflowId);
    try {
      const result = await connection.withDeadline(deadline(), () =>
        handle.executeUpdate(retryUpdate, { args: [{ acceptHostKey: opts.acceptHostKey }] })
      );
      out(result.message);
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      // The validator's own words are in the cause; the outer message is generic.
      fail(`retry refused: ${errorText(err.cause ?? err)}`);
    }
  });
}

interface TemporalSession {
  client: Client;
  connection: Connection;
  namespace: string;
  address: string;
}

/** Connects, runs, and always closes; any error becomes a message on stderr and exit code 1. */
async function withTemporal(flags: TemporalFlags, fn: (s: TemporalSession) => Promise<void>): Promise<void> {
  try {
    const { connection: options, namespace } = resolveTemporalSettings(flags);
    const connection = await Connection.connect(options);
    try {
      const client = new Client({ connection, namespace });
      // Always set by resolveTemporalSettings; the option type only leaves it optional.
      await fn({ client, connection, namespace, address: options.address ?? '' });
    } finally {
      await connection.close();
    }
  } catch (err) {
    fail(`error: ${errorText(err)}`);
  }
}

async function findExecution(client: Client, object: ObjectName): Promise<WorkflowExecutionInfo | undefined> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: visibilityQuery(KIND, object) })) found.push(info);
  return pickExecution(found);
}

/** The state, or undefined with a warning: the rest of the status is still worth printing. */
async function queryState(connection: Connection, handle: WorkflowHandle): Promise<EntityState | undefined> {
  try {
    return await connection.withDeadline(deadline(), () => handle.query(entityStateQuery));
  } catch (err) {
    warn(`could not query the workflow's state (is a k0sflow worker running?): ${errorText(err)}`);
    return undefined;
  }
}

function notFound(object: ObjectName, temporalNamespace: string): string {
  return (
    `no workflow found for ${KIND} ${object.namespace}/${object.name} in Temporal namespace ` +
    `'${temporalNamespace}'`
  );
}

function deadline(): number {
  return Date.now() + CALL_TIMEOUT_MS;
}
