// The pod status the pod TEST DOUBLE writes (as a kubelet would), as a JSON merge patch body.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export type ConditionType =
  'PodScheduled' | 'PodReadyToStartContainers' | 'Initialized' | 'ContainersReady' | 'Ready';

export interface StatusInput {
  pod: V1Pod;
  nodeIP: string;
  podIP: string | null;
  startTime: string;
  /** Processes started (they may not answer yet). */
  started: boolean;
  startedAt: string | null;
  ready: boolean;
  restarts: number;
  /** Why the containers don't run (yet): e.g. a Secret that is not there. */
  waiting: { reason: string; message: string } | null;
  /** Conditions' last transition times, kept by the caller so they only move on a change. */
  transitions: Map<ConditionType, { status: string; time: string }>;
}

function condition(
  input: StatusInput,
  type: ConditionType,
  ok: boolean
): { type: string; status: string; lastTransitionTime: string; lastProbeTime: null } {
  const status = ok ? 'True' : 'False';
  const prev = input.transitions.get(type);
  const time = prev && prev.status === status ? prev.time : new Date().toISOString();
  input.transitions.set(type, { status, time });
  return { type, status, lastTransitionTime: time, lastProbeTime: null };
}

function containerStatus(input: StatusInput, c: V1Container, uid: string): Record<string, unknown> {
  const state = input.started
    ? { running: { startedAt: input.startedAt ?? input.startTime } }
    : { waiting: input.waiting ?? { reason: 'ContainerCreating', message: '' } };
  return {
    name: c.name,
    image: c.image ?? '',
    imageID: `pod-double://${c.image ?? ''}`,
    containerID: `pod-double://${uid}/${c.name}`,
    ready: input.ready,
    started: input.started,
    restartCount: input.restarts,
    state,
  };
}

function initStatus(input: StatusInput, c: V1Container, uid: string): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image ?? '',
    imageID: `pod-double://${c.image ?? ''}`,
    containerID: `pod-double://${uid}/${c.name}`,
    ready: true,
    started: false,
    restartCount: 0,
    state: {
      terminated: {
        exitCode: 0,
        reason: 'Completed',
        startedAt: input.startTime,
        finishedAt: input.startTime,
      },
    },
  };
}

/** `{status: ...}`: phase, addresses, conditions and container statuses (all containers share the pod's state). */
export function podStatusPatch(input: StatusInput): { status: Record<string, unknown> } {
  const uid = input.pod.metadata!.uid!;
  const ips = input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {};
  return {
    status: {
      phase: input.started ? 'Running' : 'Pending',
      hostIP: input.nodeIP,
      hostIPs: [{ ip: input.nodeIP }],
      ...ips,
      startTime: input.startTime,
      conditions: [
        condition(input, 'PodReadyToStartContainers', input.podIP !== null),
        condition(input, 'Initialized', input.podIP !== null),
        condition(input, 'Ready', input.ready),
        condition(input, 'ContainersReady', input.ready),
        condition(input, 'PodScheduled', true),
      ],
      containerStatuses: (input.pod.spec?.containers ?? []).map((c) => containerStatus(input, c, uid)),
      initContainerStatuses: (input.pod.spec?.initContainers ?? []).map((c) => initStatus(input, c, uid)),
    },
  };
}
