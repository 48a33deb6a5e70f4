import type { KubeClients } from './kube-client.js';
import { createObjectActivities, type ObjectActivities } from './objects.js';

export type Activities = ObjectActivities;

/** Every activity the worker registers, bound to this process's clients. */
export function createActivities(clients: KubeClients): Activities {
  return { ...createObjectActivities(clients) };
}
