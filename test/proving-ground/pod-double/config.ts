// What `up` tells the pod TEST DOUBLE (DIR/pod-double/config.json) and the files the double writes.
import { join } from 'node:path';
import type { PoolConfig } from './addresses.js';

export interface WatchedCluster {
  /** `management` or `second`. */
  name: string;
  kubeconfig: string;
  /** The Node's InternalIP: NodePorts listen there. */
  nodeIP: string;
}

export interface PodDoubleConfig {
  /** The proving ground's DIR. */
  dir: string;
  clusters: WatchedCluster[];
  pool: PoolConfig;
}

export const NODE_NAME = 'pod-double-node';
export const configFile = (dir: string): string => join(dir, 'pod-double', 'config.json');
/** Written once both Nodes are registered and the watches run. */
export const readyFile = (dir: string): string => join(dir, 'pod-double', 'ready.json');
/** Rewritten every 2 s: every pod's address, state, start-to-Ready time, processes and RSS. */
export const statusFile = (dir: string): string => join(dir, 'pod-double', 'status.json');
