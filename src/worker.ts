import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';

import { createActivities } from './activities/index.js';
import type { KubeClients } from './activities/kube-client.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  kube: KubeClients;
  identity?: string;
  maxConcurrentActivities?: number;
  /** Lifetime of join tokens when a Cluster's annotation does not say (default 24 h). */
  tokenTtlSeconds?: number;
}

/** The worker: every workflow and activity of k0sflow on one task queue. */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: workflowsEntry(),
    activities: createActivities(opts.kube, {
      ...(opts.tokenTtlSeconds ? { tokenTtlSeconds: opts.tokenTtlSeconds } : {}),
    }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 50,
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
}

/** The workflow bundle's entry, beside this file: `.ts` when run from source, `.js` when built. */
export function workflowsEntry(): string {
  for (const ext of ['.js', '.ts']) {
    const path = fileURLToPath(new URL(`./workflows/index${ext}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('workflow entry point not found beside worker');
}
