// Replays the recorded histories in plain Node (protobufjs's JSON codec breaks inside jest's module
// sandbox) and prints one JSON line: [{ workflowId, error? }]. Run by test/unit/replay.test.ts.
import { Worker } from '@temporalio/worker';

import { recordedHistoryFiles } from './histories.js';

const bundlePath = process.argv[2];
if (!bundlePath) throw new Error('usage: replay.ts <workflow bundle path>');

const results: { workflowId: string; error?: string }[] = [];
for (const { workflowId, json: history } of recordedHistoryFiles()) {
  try {
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath } }, history, workflowId);
    results.push({ workflowId });
  } catch (err) {
    results.push({ workflowId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
