// Shared shapes of the pod TEST DOUBLE: what a pod's workload (its processes) needs from the
// watched cluster, and what the pod runner needs from a workload.
import type { V1Pod } from '@kubernetes/client-node';
import type { AddressPool } from './addresses.js';
import type { Api } from './kube-api.js';
import type { Component } from './pod-spec.js';
import type { PrivateEtcds } from './private-etcd.js';
import type { PodNames, Supervised } from './supervisor.js';

/** A served pod as the double knows it. */
export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  component: Component;
  pod: V1Pod;
  ip: string | null;
  ready: boolean;
  /** Processes are started (Running phase), ready or not. */
  started: boolean;
}

export interface ClusterContext {
  /** `management` or `second`. */
  name: string;
  api: Api;
  nodeName: string;
  nodeIP: string;
  /** DIR/pod-double/<cluster>: pod working directories, data, hosts files. */
  dir: string;
  /** DIR/logs/pods/<cluster>: the pods' process logs. */
  logDir: string;
  pool: AddressPool;
  privateEtcds: PrivateEtcds;
  /** What the pod's processes see as /etc/hosts, /etc/resolv.conf and hostname (see inPod). */
  namesFor(pod: V1Pod): PodNames;
  pods(): PodView[];
  /** A pod got or lost an address or readiness: names and proxies follow. */
  endpointsChanged(): void;
}

export interface PodWorkload {
  processes: Supervised[];
  /** true once the pod's main process answers its health endpoint. */
  probe(): Promise<boolean>;
  /** Once, the first time the probe succeeds. */
  onReady?(): Promise<void>;
  /** Before the processes are stopped for a pod deletion. */
  beforeStop?(): Promise<void>;
  /** After the processes stopped. */
  afterStop?(): Promise<void>;
}

/** Where a pod's working files and data live. */
export interface PodPlace {
  /** Wiped at every start and on deletion: generated certs, kubeconfigs, mounted files. */
  workDir: string;
  /** Lives as long as the owning StatefulSet (by uid): etcd data. */
  dataDir: string;
  logDir: string;
}
