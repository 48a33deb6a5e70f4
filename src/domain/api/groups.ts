/** API groups and the one served version of the k0smotron-compatible API. */
export const INFRASTRUCTURE_GROUP = 'infrastructure.cluster.x-k8s.io';
export const BOOTSTRAP_GROUP = 'bootstrap.cluster.x-k8s.io';
export const CONTROLPLANE_GROUP = 'controlplane.cluster.x-k8s.io';

/** The only version we serve (and store): the one k0smotron's v1beta1 manifests use verbatim. */
export const API_VERSION = 'v1beta1';

export const INFRASTRUCTURE_API_VERSION = `${INFRASTRUCTURE_GROUP}/${API_VERSION}` as const;
export const BOOTSTRAP_API_VERSION = `${BOOTSTRAP_GROUP}/${API_VERSION}` as const;
export const CONTROLPLANE_API_VERSION = `${CONTROLPLANE_GROUP}/${API_VERSION}` as const;
