// Workflow histories recorded from integration runs, replayed by test/unit/replay.test.ts so that a
// change to workflow code that would break running workflows fails a test (use patched() instead).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { execFileSync } from 'node:child_process';

import { temporalPath } from '../proving-ground/paths.js';
import { provingGround, repoRoot } from './env.js';

export const historiesDir = join(repoRoot, 'test/fixtures/histories');

/**
 * Writes a workflow's history when K0SFLOW_RECORD_HISTORIES=1 (once, when a workflow gains a new
 * shape), exported by the temporal CLI as an operator would (`temporal workflow show -o json`).
 */
export function recordHistory(name: string, workflowId: string): void {
  if (process.env.K0SFLOW_RECORD_HISTORIES !== '1') return;
  const env = provingGround();
  const json = execFileSync(
    temporalPath(),
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--output',
      'json',
      '--address',
      env.temporal.address,
      '--namespace',
      env.temporal.namespace,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }
  );
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(join(historiesDir, `${name}.json`), json);
}

/** The recorded histories as the temporal CLI wrote them (JSON); Worker.runReplayHistory takes that form. */
export function recordedHistoryFiles(): { workflowId: string; json: unknown }[] {
  return readdirSync(historiesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      json: JSON.parse(readFileSync(join(historiesDir, f), 'utf8')) as unknown,
    }));
}

/** A history as text with every payload decoded, to search it for what must (not) be in it. */
export function historyText(history: unknown): string {
  return JSON.stringify(history).replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) =>
    JSON.stringify(Buffer.from(b64, 'base64').toString('utf8'))
  );
}
