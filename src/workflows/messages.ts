import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

import type { ObjectRef } from '../domain/resources.js';
import { tokenRotationWorkflowId } from '../domain/workflow-id.js';

/** What the bridge tells a workflow about its object. A hint only: the workflow re-reads the object. */
export interface ObjectHint {
  /** The object's generation when the bridge saw it; lower than one already handled means stale. */
  generation?: number;
  resourceVersion?: string;
  deleting?: boolean;
  /** The object is gone from the API server. */
  gone?: boolean;
  /** Set when the hint comes from a dependency (a Cluster, a Machine) rather than the object itself. */
  cause?: string;
}

export const objectChangedSignal = defineSignal<[ObjectHint]>('objectChanged');

export interface EntityState {
  phase: 'starting' | 'reconciling' | 'waiting' | 'paused' | 'failed' | 'deleting' | 'done';
  /** The step running or last run, as named in the Web UI. */
  step?: string;
  lastError?: string;
  /** What the object waits for, in words (a Machine, bootstrap data, an operator). */
  waitingFor?: string;
  handledGeneration?: number;
  reconciles: number;
}

export const entityStateQuery = defineQuery<EntityState>('state');

export interface EntityInput {
  ref: ObjectRef;
  /** Carried across continue-as-new. */
  handledGeneration?: number;
}

/** Search attributes: an object's workflow is one search away in the Web UI. Values are names, never secrets. */
export const searchAttributes = {
  kind: defineSearchAttributeKey('K0sflowKind', SearchAttributeType.KEYWORD),
  namespace: defineSearchAttributeKey('K0sflowNamespace', SearchAttributeType.KEYWORD),
  name: defineSearchAttributeKey('K0sflowName', SearchAttributeType.KEYWORD),
  cluster: defineSearchAttributeKey('K0sflowCluster', SearchAttributeType.KEYWORD),
} as const;

/** Workflow type per kind. Kinds absent here are served (CRDs) but not yet driven. */
export const WORKFLOW_TYPE_BY_KIND: Readonly<Record<string, string>> = {
  K0sControllerConfig: 'bootstrapConfigWorkflow',
  K0sWorkerConfig: 'bootstrapConfigWorkflow',
  K0smotronControlPlane: 'hostedControlPlaneWorkflow',
  RemoteCluster: 'remoteClusterWorkflow',
  RemoteMachine: 'remoteMachineWorkflow',
};

export interface RetryRequest {
  /** Trust the host key the machine presented last (trust-on-first-use machines only). */
  acceptHostKey?: boolean;
}

export interface RetryResult {
  /** What the retry will do, for the operator. */
  message: string;
}

/** An operator's "try again now": ends a backoff wait or a wait for an operator. */
export const retryUpdate = defineUpdate<RetryResult, [RetryRequest]>('retry');

export const POOL_WORKFLOW_TYPE = 'poolWorkflow';

export interface PoolInput {
  namespace: string;
  pool: string;
}

export interface PoolState {
  passes: number;
  granted: number;
  restored: number;
  waiting: string[];
  conflicts: string[];
  lastError?: string;
}

export const poolStateQuery = defineQuery<PoolState>('poolState');

export const TOKEN_ROTATION_WORKFLOW_TYPE = 'tokenRotationWorkflow';

export interface TokenRotationInput {
  namespace: string;
  clusterName: string;
}

/** What one rotation pass did; names and ids only, never token material. */
export interface RotationPassSummary {
  /** Workflow time of the pass (RFC 3339). */
  at: string;
  revoked: { id: string; why: string }[];
  /** `<kind>/<name>` of the configs given a new token and data. */
  reissued: string[];
  /** When the next pass is due at the latest (RFC 3339). */
  nextCheckAt?: string;
  /** The Cluster is paused: the pass did nothing. */
  paused?: boolean;
  error?: string;
}

export interface TokenRotationState {
  passes: number;
  revoked: number;
  reissued: number;
  last?: RotationPassSummary;
}

export const tokenRotationStateQuery = defineQuery<TokenRotationState>('state');
/** How the bridge and `k0sflow rotate-tokens` start a Cluster's rotation: one place, found alike in the Web UI. */
export interface TokenRotationStart {
  workflowId: string;
  taskQueue: string;
  args: [TokenRotationInput];
  signal: typeof objectChangedSignal;
  signalArgs: [ObjectHint];
  typedSearchAttributes: { key: (typeof searchAttributes)[keyof typeof searchAttributes]; value: string }[];
}

export function tokenRotationStart(
  input: TokenRotationInput,
  taskQueue: string,
  hint: ObjectHint
): TokenRotationStart {
  return {
    workflowId: tokenRotationWorkflowId(input.namespace, input.clusterName),
    taskQueue,
    args: [input],
    signal: objectChangedSignal,
    signalArgs: [hint],
    typedSearchAttributes: [
      { key: searchAttributes.kind, value: 'TokenRotation' },
      { key: searchAttributes.namespace, value: input.namespace },
      { key: searchAttributes.name, value: input.clusterName },
      { key: searchAttributes.cluster, value: input.clusterName },
    ],
  };
}

/** `k0sflow rotate-tokens`: run a pass now and say what it did. */
export const rotateTokensUpdate = defineUpdate<RotationPassSummary, []>('rotateTokens');
