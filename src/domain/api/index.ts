/**
 * The k0smotron-compatible API (v1beta1) of k0sflow: one registry entry per kind, with the names the CRDs are
 * generated from and the zod schemas objects are parsed with.
 */
import type { z } from 'zod';
import {
  BootstrapConfigStatusSchema,
  K0sControllerConfigSchema,
  K0sControllerConfigSpecSchema,
  K0sWorkerConfigSchema,
  K0sWorkerConfigSpecSchema,
  K0sWorkerConfigTemplateSchema,
  K0sWorkerConfigTemplateSpecSchema,
} from './bootstrap.js';
import {
  ControlPlaneStatusSchema,
  K0sControlPlaneSchema,
  K0sControlPlaneSpecSchema,
  K0sControlPlaneTemplateSchema,
  K0sControlPlaneTemplateSpecSchema,
  K0smotronControlPlaneSchema,
  K0smotronControlPlaneSpecSchema,
  K0smotronControlPlaneTemplateSchema,
  K0smotronControlPlaneTemplateSpecSchema,
} from './controlplane.js';
import { API_VERSION, BOOTSTRAP_GROUP, CONTROLPLANE_GROUP, INFRASTRUCTURE_GROUP } from './groups.js';
import {
  PooledRemoteMachineSchema,
  PooledRemoteMachineSpecSchema,
  PooledRemoteMachineStatusSchema,
  RemoteClusterSchema,
  RemoteClusterSpecSchema,
  RemoteClusterStatusSchema,
  RemoteClusterTemplateSchema,
  RemoteClusterTemplateSpecSchema,
  RemoteMachineSchema,
  RemoteMachineSpecSchema,
  RemoteMachineStatusSchema,
  RemoteMachineTemplateSchema,
  RemoteMachineTemplateSpecSchema,
} from './infrastructure.js';

export * from './groups.js';
export * from './common.js';
export * from './infrastructure.js';
export * from './bootstrap.js';
export * from './hosted-cluster.js';
export * from './controlplane.js';

export type ProviderRole = 'infrastructure' | 'bootstrap' | 'control-plane';

/** An additional printer column of `kubectl get`, as in the CRD. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything known about one kind of our API. */
export interface KindInfo {
  group: string;
  version: typeof API_VERSION;
  kind: string;
  plural: string;
  singular: string;
  listKind: string;
  shortNames: readonly string[];
  categories: readonly string[];
  role: ProviderRole;
  /** The whole object: `{apiVersion, kind, metadata, spec, status}`. */
  schema: z.ZodObject;
  /** The spec and status schemas the CRD is generated from (status absent for templates). */
  spec: z.ZodType;
  status?: z.ZodType;
  printerColumns: readonly PrinterColumn[];
  /** `true` for kinds with a scale subresource (.spec.replicas, .status.replicas, .status.selector). */
  scale: boolean;
}

/** The `cluster.x-k8s.io/provider` label value of each role. */
export const PROVIDER_LABEL: Readonly<Record<ProviderRole, string>> = {
  infrastructure: 'infrastructure-k0sflow',
  bootstrap: 'bootstrap-k0sflow',
  'control-plane': 'control-plane-k0sflow',
};

const CONTROL_PLANE_COLUMNS: readonly PrinterColumn[] = [
  {
    name: 'Cluster',
    type: 'string',
    jsonPath: ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
    description: 'Cluster',
  },
  {
    name: 'API Server Available',
    type: 'boolean',
    jsonPath: '.status.ready',
    description: 'The API server accepts requests',
  },
  {
    name: 'Desired',
    type: 'integer',
    jsonPath: '.spec.replicas',
    description: 'Number of control plane instances wanted',
    priority: 10,
  },
  {
    name: 'Replicas',
    type: 'integer',
    jsonPath: '.status.replicas',
    description: 'Number of control plane instances that exist',
  },
  {
    name: 'Ready',
    type: 'integer',
    jsonPath: '.status.readyReplicas',
    description: 'Number of ready control plane instances',
  },
  {
    name: 'Updated',
    type: 'integer',
    jsonPath: '.status.updatedReplicas',
    description: 'Number of control plane instances with the wanted spec',
  },
  {
    name: 'Unavailable',
    type: 'integer',
    jsonPath: '.status.unavailableReplicas',
    description: 'Number of unavailable control plane instances',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation' },
  { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Wanted k0s version' },
];

const POOLED_MACHINE_COLUMNS: readonly PrinterColumn[] = [
  {
    name: 'Address',
    type: 'string',
    jsonPath: '.spec.machine.address',
    description: 'IP address or DNS name of the machine',
  },
  { name: 'Reserved', type: 'string', jsonPath: '.status.reserved', description: 'The machine is taken' },
  {
    name: 'Remote Machine',
    type: 'string',
    jsonPath: '.status.machineRef.name',
    description: 'The RemoteMachine that took it',
  },
];

function kindInfoOf(
  group: string,
  role: ProviderRole,
  kind: string,
  schemas: { schema: z.ZodObject; spec: z.ZodType; status?: z.ZodType },
  extra: { printerColumns?: readonly PrinterColumn[]; scale?: boolean } = {}
): KindInfo {
  const singular = kind.toLowerCase();
  return {
    group,
    version: API_VERSION,
    kind,
    plural: `${singular}s`,
    singular,
    listKind: `${kind}List`,
    shortNames: [],
    categories: ['cluster-api'],
    role,
    ...schemas,
    printerColumns: extra.printerColumns ?? [],
    scale: extra.scale ?? false,
  };
}

/** Every kind we serve, grouped by API group. */
export const API_KINDS: readonly KindInfo[] = [
  kindInfoOf(
    CONTROLPLANE_GROUP,
    'control-plane',
    'K0smotronControlPlane',
    {
      schema: K0smotronControlPlaneSchema,
      spec: K0smotronControlPlaneSpecSchema,
      status: ControlPlaneStatusSchema,
    },
    { printerColumns: CONTROL_PLANE_COLUMNS, scale: true }
  ),
  kindInfoOf(CONTROLPLANE_GROUP, 'control-plane', 'K0smotronControlPlaneTemplate', {
    schema: K0smotronControlPlaneTemplateSchema,
    spec: K0smotronControlPlaneTemplateSpecSchema,
  }),
  kindInfoOf(
    CONTROLPLANE_GROUP,
    'control-plane',
    'K0sControlPlane',
    { schema: K0sControlPlaneSchema, spec: K0sControlPlaneSpecSchema, status: ControlPlaneStatusSchema },
    { printerColumns: CONTROL_PLANE_COLUMNS, scale: true }
  ),
  kindInfoOf(CONTROLPLANE_GROUP, 'control-plane', 'K0sControlPlaneTemplate', {
    schema: K0sControlPlaneTemplateSchema,
    spec: K0sControlPlaneTemplateSpecSchema,
  }),
  kindInfoOf(BOOTSTRAP_GROUP, 'bootstrap', 'K0sWorkerConfig', {
    schema: K0sWorkerConfigSchema,
    spec: K0sWorkerConfigSpecSchema,
    status: BootstrapConfigStatusSchema,
  }),
  kindInfoOf(BOOTSTRAP_GROUP, 'bootstrap', 'K0sWorkerConfigTemplate', {
    schema: K0sWorkerConfigTemplateSchema,
    spec: K0sWorkerConfigTemplateSpecSchema,
  }),
  kindInfoOf(BOOTSTRAP_GROUP, 'bootstrap', 'K0sControllerConfig', {
    schema: K0sControllerConfigSchema,
    spec: K0sControllerConfigSpecSchema,
    status: BootstrapConfigStatusSchema,
  }),
  kindInfoOf(INFRASTRUCTURE_GROUP, 'infrastructure', 'RemoteCluster', {
    schema: RemoteClusterSchema,
    spec: RemoteClusterSpecSchema,
    status: RemoteClusterStatusSchema,
  }),
  kindInfoOf(INFRASTRUCTURE_GROUP, 'infrastructure', 'RemoteClusterTemplate', {
    schema: RemoteClusterTemplateSchema,
    spec: RemoteClusterTemplateSpecSchema,
  }),
  kindInfoOf(INFRASTRUCTURE_GROUP, 'infrastructure', 'RemoteMachine', {
    schema: RemoteMachineSchema,
    spec: RemoteMachineSpecSchema,
    status: RemoteMachineStatusSchema,
  }),
  kindInfoOf(INFRASTRUCTURE_GROUP, 'infrastructure', 'RemoteMachineTemplate', {
    schema: RemoteMachineTemplateSchema,
    spec: RemoteMachineTemplateSpecSchema,
  }),
  kindInfoOf(
    INFRASTRUCTURE_GROUP,
    'infrastructure',
    'PooledRemoteMachine',
    {
      schema: PooledRemoteMachineSchema,
      spec: PooledRemoteMachineSpecSchema,
      status: PooledRemoteMachineStatusSchema,
    },
    { printerColumns: POOLED_MACHINE_COLUMNS }
  ),
];

/** The registry entry of a kind; throws for a kind we do not serve. */
export function kindInfo(kind: string): KindInfo {
  const info = API_KINDS.find((k) => k.kind === kind);
  if (info === undefined) throw new Error(`unknown kind ${kind}: not part of the k0sflow API`);
  return info;
}

/** `group/version` of a kind, e.g. `infrastructure.cluster.x-k8s.io/v1beta1`. */
export function apiVersionOf(info: KindInfo): string {
  return `${info.group}/${info.version}`;
}
