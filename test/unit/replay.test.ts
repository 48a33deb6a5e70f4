// Replays workflow histories recorded from real runs against today's workflow code: a change that
// would make running workflows non-deterministic fails here. Mend it with patched(), not by
// re-recording.
import { Worker } from '@temporalio/worker';

import { recordedHistories } from '../harness/histories.js';

describe('recorded workflow histories replay against the current code', () => {
  const histories = recordedHistories();

  it('there is at least one recorded history', () => {
    expect(histories.length).toBeGreaterThan(0);
  });

  it.each(histories.map((h) => [h.workflowId, h] as const))(
    '%s replays without non-determinism',
    async (_id, h) => {
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.K0SFLOW_WORKFLOW_BUNDLE! } },
        h.history,
        h.workflowId
      );
    }
  );
});
