import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

import { searchAttributes } from './messages.js';

/** Tags the workflow with its object's Cluster, so the Web UI finds a cluster's workflows in one search. */
export function tagCluster(clusterName: string | undefined): void {
  if (!clusterName) return;
  const current = workflowInfo().typedSearchAttributes.get(searchAttributes.cluster);
  if (current !== clusterName)
    upsertSearchAttributes([{ key: searchAttributes.cluster, value: clusterName }]);
}
