// Where tests find the objects they read: the coordinates k0sflow itself uses.
import { kindInfo } from '../../src/domain/api/index.js';
import { CLUSTER_RESOURCE } from '../../src/domain/resources.js';

const remoteCluster = kindInfo('RemoteCluster');

/** RemoteCluster, for CustomObjectsApi calls. */
export const RC = {
  group: remoteCluster.group,
  version: remoteCluster.version,
  plural: remoteCluster.plural,
};

/** CAPI Cluster as stored (v1beta2). */
export const CLUSTER = {
  group: CLUSTER_RESOURCE.group,
  version: CLUSTER_RESOURCE.version,
  plural: CLUSTER_RESOURCE.plural,
};
