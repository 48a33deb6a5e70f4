// Where tests find the objects they read: the coordinates k0sflow itself uses.
import { kindInfo } from '../../src/domain/api/index.js';
import { CLUSTER_RESOURCE } from '../../src/domain/resources.js';

/** CAPI Cluster as stored (v1beta2). */
export const CLUSTER = {
  group: CLUSTER_RESOURCE.group,
  version: CLUSTER_RESOURCE.version,
  plural: CLUSTER_RESOURCE.plural,
};

const coordinates = (kind: string): { group: string; version: string; plural: string } => {
  const info = kindInfo(kind);
  return { group: info.group, version: info.version, plural: info.plural };
};

/** RemoteCluster, RemoteMachine, PooledRemoteMachine, for CustomObjectsApi calls. */
export const RC = coordinates('RemoteCluster');
export const RM = coordinates('RemoteMachine');
export const PRM = coordinates('PooledRemoteMachine');

/** CAPI Machine and MachineDeployment as stored (v1beta2). */
export const MACHINE = { group: CLUSTER_RESOURCE.group, version: 'v1beta2', plural: 'machines' };
export const MACHINE_DEPLOYMENT = {
  group: CLUSTER_RESOURCE.group,
  version: 'v1beta2',
  plural: 'machinedeployments',
};
