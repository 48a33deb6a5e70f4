// Workflow bundles for integration tests that run a Worker in the test process (the unit project's
// global setup builds one for src/workflows; the integration project's does not).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { repoRoot } from './env.js';

/** Bundles `entry` (a path from the repository root) in a child process; returns the bundle's path. */
export async function bundleWorkflows(entry: string): Promise<string> {
  const out = join(tmpdir(), `k0sflow-workflows-${process.pid}-${randomBytes(3).toString('hex')}.js`);
  await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test/harness/bundle-workflows.ts'), join(repoRoot, entry), out],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 180_000 }
  );
  return out;
}
