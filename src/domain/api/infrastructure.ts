/**
 * infrastructure.cluster.x-k8s.io/v1beta1: RemoteCluster(+Template), RemoteMachine, RemoteMachineTemplate,
 * PooledRemoteMachine — field names and defaults of k0smotron v1.10.9.
 */
import { z } from 'zod';
import {
  APIEndpointSchema,
  MachineAddressSchema,
  TemplateMetadataSchema,
  commonStatusFields,
  freeForm,
  int32,
  kindObject,
} from './common.js';
import { INFRASTRUCTURE_API_VERSION } from './groups.js';

/** v1beta2 contract: `status.initialization.provisioned` replaces `status.ready`. */
export const InfraInitializationSchema = z
  .object({
    provisioned: z
      .boolean()
      .optional()
      .describe('v1beta2 contract: true once the infrastructure is fully provisioned.'),
  })
  .describe('v1beta2 contract: observations of the initial provisioning.');

// ---------------------------------------------------------------------------------------------------------
// RemoteCluster
// ---------------------------------------------------------------------------------------------------------

export const RemoteClusterSpecSchema = z.object({
  controlPlaneEndpoint: APIEndpointSchema.optional().describe(
    'The endpoint used to communicate with the control plane.'
  ),
});
export type RemoteClusterSpec = z.infer<typeof RemoteClusterSpecSchema>;

export const RemoteClusterStatusSchema = z.object({
  ready: z.boolean().default(false).describe('v1beta1 contract: the remote cluster is ready to be used.'),
  initialization: InfraInitializationSchema.optional(),
  ...commonStatusFields,
});
export type RemoteClusterStatus = z.infer<typeof RemoteClusterStatusSchema>;

export const RemoteClusterSchema = kindObject(
  INFRASTRUCTURE_API_VERSION,
  'RemoteCluster',
  RemoteClusterSpecSchema,
  RemoteClusterStatusSchema
);
export type RemoteCluster = z.infer<typeof RemoteClusterSchema>;

export const RemoteClusterTemplateSpecSchema = z.object({
  template: z.object({
    metadata: TemplateMetadataSchema.optional(),
    spec: RemoteClusterSpecSchema,
  }),
});
export type RemoteClusterTemplateSpec = z.infer<typeof RemoteClusterTemplateSpecSchema>;

export const RemoteClusterTemplateSchema = kindObject(
  INFRASTRUCTURE_API_VERSION,
  'RemoteClusterTemplate',
  RemoteClusterTemplateSpecSchema
);
export type RemoteClusterTemplate = z.infer<typeof RemoteClusterTemplateSchema>;

// ---------------------------------------------------------------------------------------------------------
// RemoteMachine
// ---------------------------------------------------------------------------------------------------------

export const SecretRefSchema = z.object({
  name: z.string().describe('Name of the Secret; the private key is under the key `value`.'),
});
export type SecretRef = z.infer<typeof SecretRefSchema>;

const sshPort = int32.min(1).max(65535).default(22).describe('SSH port of the remote machine.');
const sshUser = z.string().default('root').describe('User to log in as.');
const workingDir = z
  .string()
  .default('/etc/k0smotron')
  .describe('Directory on the machine where the install script is written when commandsAsScript is set.');
const commandsAsScript = z
  .boolean()
  .default(false)
  .describe('Run the bootstrap commands as one script instead of one by one.');
const knownHosts = z
  .string()
  .optional()
  .describe(
    'k0sflow: the host keys to accept, as OpenSSH known_hosts lines or `type base64` keys. Without it the ' +
      'first key seen is trusted and recorded in status.hostKey; a different key later stops provisioning.'
  );
const customCleanUpCommands = z
  .array(z.string())
  .optional()
  .describe('Commands run on deletion instead of the default k0s stop and reset.');

export const ProvisionJobSchema = z.object({
  sshCommand: z.string().default('ssh'),
  scpCommand: z.string().default('scp'),
  jobSpecTemplate: freeForm('A batch/v1 JobTemplateSpec used to provision the machine.').optional(),
});
export type ProvisionJob = z.infer<typeof ProvisionJobSchema>;

export const RemoteMachineSpecSchema = z.object({
  pool: z.string().optional().describe('Name of the PooledRemoteMachine pool to take the machine from.'),
  providerID: z.string().optional(),
  address: z.string().optional().describe('IP address or DNS name of the machine.'),
  port: sshPort,
  user: sshUser,
  useSudo: z.boolean().optional(),
  commandsAsScript,
  workingDir,
  sshKeyRef: SecretRefSchema.optional(),
  customCleanUpCommands,
  knownHosts,
  provisionJob: ProvisionJobSchema.optional(),
});
export type RemoteMachineSpec = z.infer<typeof RemoteMachineSpecSchema>;

export const RemoteMachineStatusSchema = z.object({
  ready: z.boolean().optional().describe('v1beta1 contract: the machine is provisioned.'),
  initialization: InfraInitializationSchema.optional(),
  addresses: z.array(MachineAddressSchema).optional(),
  hostKey: z
    .string()
    .optional()
    .describe(
      'k0sflow: the host key trusted on first use (`type base64`), enforced on every later connection.'
    ),
  ...commonStatusFields,
});
export type RemoteMachineStatus = z.infer<typeof RemoteMachineStatusSchema>;

export const RemoteMachineSchema = kindObject(
  INFRASTRUCTURE_API_VERSION,
  'RemoteMachine',
  RemoteMachineSpecSchema,
  RemoteMachineStatusSchema
);
export type RemoteMachine = z.infer<typeof RemoteMachineSchema>;

export const RemoteMachineTemplateSpecSchema = z.object({
  template: z.object({
    metadata: TemplateMetadataSchema.optional(),
    spec: z
      .object({
        pool: z.string(),
        provisionJob: ProvisionJobSchema.optional(),
      })
      .optional(),
  }),
});
export type RemoteMachineTemplateSpec = z.infer<typeof RemoteMachineTemplateSpecSchema>;

export const RemoteMachineTemplateSchema = kindObject(
  INFRASTRUCTURE_API_VERSION,
  'RemoteMachineTemplate',
  RemoteMachineTemplateSpecSchema
);
export type RemoteMachineTemplate = z.infer<typeof RemoteMachineTemplateSchema>;

// ---------------------------------------------------------------------------------------------------------
// PooledRemoteMachine
// ---------------------------------------------------------------------------------------------------------

export const PooledMachineSpecSchema = z.object({
  address: z.string().describe('IP address or DNS name of the machine.'),
  port: sshPort,
  user: sshUser,
  useSudo: z.boolean().optional(),
  commandsAsScript,
  workingDir,
  customCleanUpCommands,
  knownHosts,
  sshKeyRef: SecretRefSchema,
});
export type PooledMachineSpec = z.infer<typeof PooledMachineSpecSchema>;

export const PooledRemoteMachineSpecSchema = z.object({
  pool: z.string(),
  machine: PooledMachineSpecSchema,
});
export type PooledRemoteMachineSpec = z.infer<typeof PooledRemoteMachineSpecSchema>;

export const RemoteMachineRefSchema = z.object({
  name: z.string(),
  namespace: z.string(),
});
export type RemoteMachineRef = z.infer<typeof RemoteMachineRefSchema>;

export const PooledRemoteMachineStatusSchema = z.object({
  reserved: z.boolean().describe('The machine is taken by a RemoteMachine.'),
  machineRef: RemoteMachineRefSchema.describe('The RemoteMachine holding the reservation.'),
});
export type PooledRemoteMachineStatus = z.infer<typeof PooledRemoteMachineStatusSchema>;

export const PooledRemoteMachineSchema = kindObject(
  INFRASTRUCTURE_API_VERSION,
  'PooledRemoteMachine',
  PooledRemoteMachineSpecSchema,
  PooledRemoteMachineStatusSchema
);
export type PooledRemoteMachine = z.infer<typeof PooledRemoteMachineSchema>;
