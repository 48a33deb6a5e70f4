// Replays workflow histories recorded from real runs against today's workflow code: a change that
// would make running workflows non-deterministic fails here. Mend it with patched(), not by
// re-recording.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { historiesDir } from '../harness/histories.js';
import { repoRoot } from '../harness/env.js';

describe('recorded workflow histories', () => {
  const recorded = readdirSync(historiesDir).filter((f) => f.endsWith('.json'));

  it('exist', () => {
    expect(recorded.length).toBeGreaterThan(0);
  });

  it('all replay against the current workflow code without non-determinism', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/harness/replay.ts'), process.env.K0SFLOW_WORKFLOW_BUNDLE!],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }
    );
    const results = JSON.parse(out.trim().split('\n').pop()!) as { workflowId: string; error?: string }[];
    expect(results.map((r) => r.workflowId).sort()).toEqual(
      recorded.map((f) => f.replace(/\.json$/, '')).sort()
    );
    expect(results.filter((r) => r.error)).toEqual([]);
  });
});
