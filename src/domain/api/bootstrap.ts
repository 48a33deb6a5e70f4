/**
 * bootstrap.cluster.x-k8s.io/v1beta1: K0sWorkerConfig(+Template) and K0sControllerConfig — field names and
 * defaults of k0smotron v1.10.9. The rules k0smotron checks in its K0sWorkerConfig webhook are CEL rules here.
 */
import { z } from 'zod';
import {
  SecretMetadataSchema,
  TemplateMetadataSchema,
  cel,
  commonStatusFields,
  freeForm,
  int32,
  kindObject,
} from './common.js';
import { BOOTSTRAP_API_VERSION } from './groups.js';

/** Bounds that keep the CEL rules below within the API server's cost budget. */
export const MAX_FILES = 128;
export const MAX_FILE_PATH = 1024;
export const MAX_VERSION = 256;
export const MAX_ARGS = 256;
export const MAX_ARG = 4096;

export const ContentSourceRefSchema = z.object({
  name: z.string().describe('Name of the Secret or ConfigMap.'),
  key: z.string().describe('Key holding the content.'),
});
export type ContentSourceRef = z.infer<typeof ContentSourceRefSchema>;

export const ContentSourceSchema = cel(
  z.object({
    secretRef: ContentSourceRefSchema.optional(),
    configMapRef: ContentSourceRefSchema.optional(),
  }),
  {
    rule: '!(has(self.secretRef) && has(self.configMapRef))',
    message: 'only one of secretRef or configMapRef may be specified',
  }
);
export type ContentSource = z.infer<typeof ContentSourceSchema>;

export const FileSchema = cel(
  z.object({
    path: z.string().max(MAX_FILE_PATH).optional(),
    content: z.string().optional(),
    permissions: z.string().optional().describe('Octal file mode such as 0644 (the default).'),
    contentFrom: ContentSourceSchema.optional(),
  }),
  {
    rule: '!(has(self.content) && size(self.content) > 0 && has(self.contentFrom))',
    message: 'only one of content or contentFrom may be specified for a single file',
  },
  {
    rule: '(has(self.content) && size(self.content) > 0) || has(self.contentFrom)',
    message: 'either content or contentFrom must be specified for a file',
  }
);
export type File = z.infer<typeof FileSchema>;

const files = z.array(FileSchema).max(MAX_FILES).describe('Extra files written on the machine.');
const commands = z.array(z.string()).optional();
const args = z.array(z.string().max(MAX_ARG)).max(MAX_ARGS).optional();
const k0sInstallDir = z.string().default('/usr/local/bin').describe('Where the k0s binary is installed.');
const useSystemHostname = z
  .boolean()
  .default(false)
  .describe('Use the machine hostname as node name instead of the Machine name.');

export const IgnitionSpecSchema = z.object({
  variant: z.enum(['fcos', 'flatcar', 'openshift', 'r4e', 'fiot']),
  version: z.string().describe('Butane config schema version.'),
  additionalConfig: z.string().optional().describe('Butane config merged into the generated one.'),
});
export type IgnitionSpec = z.infer<typeof IgnitionSpecSchema>;

export const TunnelingSpecSchema = z.object({
  enabled: z.boolean().default(false),
  serverAddress: z.string().optional(),
  serverNodePort: int32.default(31700),
  tunnelingNodePort: int32.default(31443),
  mode: z.enum(['tunnel', 'proxy']).default('tunnel'),
});
export type TunnelingSpec = z.infer<typeof TunnelingSpecSchema>;

/** Configuration shared by K0sControllerConfig and K0sControlPlane's `k0sConfigSpec`. */
export const K0sConfigSpecSchema = z.object({
  ignition: IgnitionSpecSchema.optional(),
  k0sInstallDir,
  k0s: freeForm('k0s ClusterConfig; some fields are overwritten by the controller.').optional(),
  files: files.optional(),
  useSystemHostname,
  args: args.describe('Extra arguments for `k0s controller`.'),
  preStartCommands: commands,
  postStartCommands: commands,
  preInstalledK0s: z.boolean().optional(),
  downloadURL: z.string().optional().describe('http(s) or oci URL of the k0s binary; overrides version.'),
  tunneling: TunnelingSpecSchema.optional(),
  customUserDataRef: ContentSourceSchema.optional(),
  workingDir: z.string().optional().describe('Directory for k0s.yaml and k0s.token (default /etc).'),
});
export type K0sConfigSpec = z.infer<typeof K0sConfigSpecSchema>;

/** v1beta2 contract: `status.initialization.dataSecretCreated` replaces `status.ready`. */
export const BootstrapInitializationSchema = z
  .object({
    dataSecretCreated: z
      .boolean()
      .optional()
      .describe('v1beta2 contract: true once the bootstrap data Secret exists.'),
  })
  .describe('v1beta2 contract: observations of the initial provisioning.');

export const BootstrapConfigStatusSchema = z.object({
  ready: z.boolean().optional().describe('v1beta1 contract: the bootstrap data is ready to be consumed.'),
  dataSecretName: z.string().optional().describe('Name of the Secret holding the bootstrap data.'),
  initialization: BootstrapInitializationSchema.optional(),
  ...commonStatusFields,
});
export type BootstrapConfigStatus = z.infer<typeof BootstrapConfigStatusSchema>;

// ---------------------------------------------------------------------------------------------------------
// K0sWorkerConfig
// ---------------------------------------------------------------------------------------------------------

export const K0sWorkerConfigSpecSchema = z.object({
  ignition: IgnitionSpecSchema.optional(),
  k0sInstallDir,
  version: cel(z.string().max(MAX_VERSION), {
    rule: "!self.contains('-k0s.')",
    message: "k0s specific versions must be specified using the '+k0s' suffix (e.g. v1.31.2+k0s.0)",
  })
    .optional()
    .describe('k0s version; defaults to the Machine version.'),
  useSystemHostname,
  files: cel(files, {
    rule: 'self.all(f, !has(f.path) || self.exists_one(g, has(g.path) && g.path == f.path))',
    message: 'path property must be unique among all files',
  }).optional(),
  args: args.describe('Extra arguments for `k0s worker`.'),
  preStartCommands: commands,
  postStartCommands: commands,
  preInstalledK0s: z.boolean().optional(),
  downloadURL: z.string().optional().describe('http(s) or oci URL of the k0s binary; overrides version.'),
  customUserDataRef: ContentSourceSchema.optional(),
  secretMetadata: SecretMetadataSchema.optional(),
  workingDir: z.string().optional().describe('Directory for k0s.token (default /etc).'),
});
export type K0sWorkerConfigSpec = z.infer<typeof K0sWorkerConfigSpecSchema>;

export const K0sWorkerConfigSchema = kindObject(
  BOOTSTRAP_API_VERSION,
  'K0sWorkerConfig',
  K0sWorkerConfigSpecSchema,
  BootstrapConfigStatusSchema
);
export type K0sWorkerConfig = z.infer<typeof K0sWorkerConfigSchema>;

export const K0sWorkerConfigTemplateSpecSchema = z.object({
  template: z
    .object({
      metadata: TemplateMetadataSchema.optional(),
      spec: K0sWorkerConfigSpecSchema.prefault({}),
    })
    .prefault({}),
});
export type K0sWorkerConfigTemplateSpec = z.infer<typeof K0sWorkerConfigTemplateSpecSchema>;

export const K0sWorkerConfigTemplateSchema = kindObject(
  BOOTSTRAP_API_VERSION,
  'K0sWorkerConfigTemplate',
  K0sWorkerConfigTemplateSpecSchema
);
export type K0sWorkerConfigTemplate = z.infer<typeof K0sWorkerConfigTemplateSchema>;

// ---------------------------------------------------------------------------------------------------------
// K0sControllerConfig
// ---------------------------------------------------------------------------------------------------------

export const K0sControllerConfigSpecSchema = z.object({
  version: z.string().max(MAX_VERSION).optional().describe('k0s version; defaults to the Machine version.'),
  ...K0sConfigSpecSchema.shape,
});
export type K0sControllerConfigSpec = z.infer<typeof K0sControllerConfigSpecSchema>;

export const K0sControllerConfigSchema = kindObject(
  BOOTSTRAP_API_VERSION,
  'K0sControllerConfig',
  K0sControllerConfigSpecSchema,
  BootstrapConfigStatusSchema
);
export type K0sControllerConfig = z.infer<typeof K0sControllerConfigSchema>;
