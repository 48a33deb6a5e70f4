// jest globalSetup of the unit project. Temporal's workflow bundler (webpack) cannot run inside jest's
// module sandbox, so the bundle is built here, in plain Node, once per run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { bundleWorkflowCode } from '@temporalio/worker';

import { workflowsEntry } from '../../src/worker.js';
import { repoRoot } from '../proving-ground/paths.js';

export default async function unitSetup(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quietLogger });
  const dir = join(repoRoot, '.proving-ground');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  process.env.K0SFLOW_WORKFLOW_BUNDLE = path;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
