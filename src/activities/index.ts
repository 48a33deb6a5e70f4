import {
  createBootstrapActivities,
  type BootstrapActivities,
  type BootstrapActivityOptions,
} from './bootstrap.js';
import {
  createHostedControlPlaneActivities,
  type HostedControlPlaneActivities,
} from './hosted-control-plane.js';
import type { KubeClients } from './kube-client.js';
import { createMachineActivities, type MachineActivities } from './machines.js';
import { createObjectActivities, type ObjectActivities } from './objects.js';
import { createPoolActivities, type PoolActivities } from './pool.js';
import { createProvisionActivities, type ProvisionActivities } from './provision.js';

export type Activities = BootstrapActivities &
  HostedControlPlaneActivities &
  ObjectActivities &
  MachineActivities &
  PoolActivities &
  ProvisionActivities;

/** Every activity the worker registers, bound to this process's clients. */
export function createActivities(clients: KubeClients, options: BootstrapActivityOptions = {}): Activities {
  return {
    ...createBootstrapActivities(clients, options),
    ...createObjectActivities(clients),
    ...createHostedControlPlaneActivities(clients),
    ...createMachineActivities(clients),
    ...createPoolActivities(clients),
    ...createProvisionActivities(clients),
  };
}
