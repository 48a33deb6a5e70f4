// `k0sflow rotate-tokens <namespace>/<cluster>`: one token rotation pass now, and what it did; and the
// parsing of `run --token-ttl`.
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { InvalidArgumentError } from 'commander';

import { parseDurationSeconds } from '../domain/join-token.js';
import { tokenRotationWorkflowId } from '../domain/workflow-id.js';
import { resolveTemporalSettings, type TemporalFlags } from '../temporal-config.js';
import { errorText } from '../util/log.js';
import {
  TOKEN_ROTATION_WORKFLOW_TYPE,
  rotateTokensUpdate,
  tokenRotationStart,
  type RotationPassSummary,
  type TokenRotationInput,
} from '../workflows/messages.js';
import type { ObjectName } from './machine.js';
import { fail, out, warn } from './output.js';

/**
 * A pass lists the cluster's tokens and configs and may re-issue several configs, each with activity
 * retries; and without a worker the update would hang rather than fail.
 */
const PASS_TIMEOUT_MS = 120_000;

export interface RotateTokensOptions extends TemporalFlags {
  taskQueue: string;
}

/** Below this, a machine could not finish joining before rotation had to replace its token. */
export const MIN_TOKEN_TTL_SECONDS = 10 * 60;

/** `--token-ttl`: a Go duration (`24h`, `90m`, `1h30m`) in seconds, at least 10 minutes. */
export function parseTokenTtl(value: string): number {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) throw new InvalidArgumentError('a positive duration such as 24h, 90m or 1h30m');
  if (seconds < MIN_TOKEN_TTL_SECONDS) throw new InvalidArgumentError('at least 10m');
  return seconds;
}

/** The rotation workflow's input for `<namespace>/<cluster>`. */
export function rotationInput(cluster: ObjectName): TokenRotationInput {
  return { namespace: cluster.namespace, clusterName: cluster.name };
}

/** `key: value` lines, one key each, so a script can grep them; `-` for nothing. */
export function formatRotationSummary(workflowId: string, summary: RotationPassSummary): string {
  const fields: [string, string | undefined][] = [
    ['workflow id', workflowId],
    ['pass at', summary.at],
    ['revoked', summary.revoked.map((r) => `${r.id} (${r.why})`).join(', ')],
    ['reissued', summary.reissued.join(', ')],
    ['next check', summary.nextCheckAt],
    ['paused', summary.paused ? 'yes: the Cluster is paused, nothing was done' : undefined],
    ['error', summary.error],
  ];
  return fields.map(([key, value]) => `${key}: ${oneLine(value)}`).join('\n');
}

function oneLine(value: string | undefined): string {
  return value?.replace(/\s*\r?\n\s*/g, ' ').trim() || '-';
}

/** `k0sflow rotate-tokens <namespace>/<cluster>` */
export async function rotateTokens(cluster: ObjectName, opts: RotateTokensOptions): Promise<void> {
  try {
    const { connection: options, namespace } = resolveTemporalSettings(opts);
    const connection = await Connection.connect(options);
    try {
      const client = new Client({ connection, namespace });
      const summary = await runPass(client, connection, rotationInput(cluster), opts.taskQueue);
      if (!summary) return;
      out(formatRotationSummary(tokenRotationWorkflowId(cluster.namespace, cluster.name), summary));
      if (summary.error) process.exitCode = 1;
    } finally {
      await connection.close();
    }
  } catch (err) {
    fail(`error: ${errorChain(err)}`);
  }
}

/** Starts the workflow when it does not run (as the bridge would), then asks it for a pass. */
async function runPass(
  client: Client,
  connection: Connection,
  input: TokenRotationInput,
  taskQueue: string
): Promise<RotationPassSummary | undefined> {
  const workflowId = tokenRotationWorkflowId(input.namespace, input.clusterName);
  if (!(await isRunning(client.workflow.getHandle(workflowId)))) {
    await client.workflow.signalWithStart(
      TOKEN_ROTATION_WORKFLOW_TYPE,
      tokenRotationStart(input, taskQueue, { cause: 'rotate-tokens' })
    );
    warn(`started ${workflowId} on task queue ${taskQueue}`);
  }
  // By workflow id alone: should the run continue-as-new meanwhile, the update reaches its successor.
  const handle = client.workflow.getHandle(workflowId);
  try {
    return await connection.withDeadline(Date.now() + PASS_TIMEOUT_MS, () =>
      handle.executeUpdate(rotateTokensUpdate)
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      fail(`rotation pass failed: ${errorText(err.cause ?? err)}`);
      return undefined;
    }
    throw err;
  }
}

async function isRunning(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** The client's errors wrap the server's words ("Failed to signalWithStart Workflow" alone says little). */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    const text = errorText(e);
    if (!parts.includes(text)) parts.push(text);
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ');
}
