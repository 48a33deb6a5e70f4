// The worker's workflows plus one the token rotation test drives directly: bootstrap data issued by the
// real activity on workflow time. (bootstrapConfigWorkflow would only report the test's paused Cluster.)
import { proxyActivities } from '@temporalio/workflow';

import type { BootstrapActivities, IssuedData } from '../../src/activities/bootstrap.js';
import type { ObjectRef } from '../../src/domain/resources.js';

export * from '../../src/workflows/index.js';

const { issueBootstrapData } = proxyActivities<BootstrapActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

export async function issueBootstrapDataWorkflow(ref: ObjectRef): Promise<IssuedData> {
  return issueBootstrapData({ ref, nowMs: Date.now() });
}
