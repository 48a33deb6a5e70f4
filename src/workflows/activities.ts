import { proxyActivities } from '@temporalio/workflow';

import type { ObjectActivities } from '../activities/objects.js';

/**
 * Kubernetes API calls: short, idempotent, retried with backoff. After the attempts run out the entity
 * loop records the error and tries again later, so a long API outage never fails a workflow.
 */
export const KUBE_CALL_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
  },
} as const;

export const kube = proxyActivities<ObjectActivities>(KUBE_CALL_OPTIONS);

/** Calls into a child or hosting cluster: an unreachable one is reported by the activity, not retried long here. */
export const CLUSTER_CALL_OPTIONS = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    maximumAttempts: 5,
  },
} as const;
