// Workflow histories recorded from integration runs, replayed by test/unit/replay.test.ts so that a
// change to workflow code that would break running workflows fails a test (use patched() instead).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { historyToJSON, historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

import { repoRoot } from './env.js';

export const historiesDir = join(repoRoot, 'test/fixtures/histories');

/** Writes the history when K0SFLOW_RECORD_HISTORIES=1 (run it once when a workflow gains a new shape). */
export function recordHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  if (process.env.K0SFLOW_RECORD_HISTORIES !== '1') return;
  mkdirSync(historiesDir, { recursive: true });
  writeFileSync(join(historiesDir, `${name}.json`), historyToJSON(history));
}

export function recordedHistories(): { workflowId: string; history: temporal.api.history.v1.IHistory }[] {
  return readdirSync(historiesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(join(historiesDir, f), 'utf8'))),
    }));
}
