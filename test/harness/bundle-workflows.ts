// Bundles a workflow entry point in plain Node (webpack cannot run inside jest's module sandbox):
// `node --import tsx test/harness/bundle-workflows.ts <entry.ts> <out.js>`. Used by workflow-bundle.ts.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { bundleWorkflowCode } from '@temporalio/worker';

const [entry, out] = process.argv.slice(2);
if (!entry || !out) throw new Error('usage: bundle-workflows.ts <entry> <out>');
const noop = (): void => undefined;
// Webpack's errors are all a failed bundle has to say.
const logger = { trace: noop, debug: noop, info: noop, warn: noop, log: noop, error: console.error };
const { code } = await bundleWorkflowCode({ workflowsPath: resolve(entry), logger });
writeFileSync(out, code);
