/**
 * controlplane.cluster.x-k8s.io/v1beta1: K0smotronControlPlane(+Template) and K0sControlPlane(+Template) —
 * field names and defaults of k0smotron v1.10.9, plus what the Cluster API v1beta2 contract reads.
 * k0smotron's webhook checks are CEL rules here.
 */
import { z } from 'zod';
import { K0sConfigSpecSchema, MAX_VERSION } from './bootstrap.js';
import {
  APIEndpointSchema,
  ContractVersionedObjectReferenceSchema,
  DurationSchema,
  ObjectReferenceSchema,
  SecretMetadataSchema,
  TemplateMetadataSchema,
  cel,
  commonStatusFields,
  int32,
  kindObject,
} from './common.js';
import type { CelRule } from './common.js';
import { CONTROLPLANE_API_VERSION } from './groups.js';
import { hostedClusterSpecFields } from './hosted-cluster.js';

// ---------------------------------------------------------------------------------------------------------
// Version rules (k0smotron's webhooks, as CEL)
// ---------------------------------------------------------------------------------------------------------

/** Kubernetes' skew policy: one minor at a time. Versions we cannot read are left alone. */
export const minorStepRule: CelRule = {
  rule:
    "!self.matches('^v?[0-9]+[.][0-9]+([.]|$)') || !oldSelf.matches('^v?[0-9]+[.][0-9]+([.]|$)') || " +
    "int(self.split('.')[1]) - int(oldSelf.split('.')[1]) <= 1",
  message: 'upgrading more than one minor version at a time is not allowed by the Kubernetes skew policy',
};

const semverRule: CelRule = {
  rule: "self == '' || self.matches('^v?[0-9]+[.][0-9]+[.][0-9]+([-+][0-9A-Za-z.+-]*)?$')",
  message: 'version must be a semantic version such as v1.31.2 or v1.31.2+k0s.0',
};

const notV1311Rule: CelRule = {
  rule: "!self.matches('^v?1[.]31[.]1([-+].*)?$')",
  message: 'version v1.31.1 is not compatible with K0sControlPlane, use v1.31.2 or newer',
};

const version = z.string().max(MAX_VERSION);

// ---------------------------------------------------------------------------------------------------------
// Status: k0smotron's v1beta1 fields and the v1beta2 contract's
// ---------------------------------------------------------------------------------------------------------

export const StatusVersionSchema = z.object({
  version: z.string().min(1).max(256),
  replicas: int32.min(1).optional(),
});
export type StatusVersion = z.infer<typeof StatusVersionSchema>;

export const ControlPlaneStatusSchema = z.object({
  ready: z.boolean().optional().describe('The API server accepts requests.'),
  initialized: z.boolean().optional().describe('v1beta1 contract: the control plane has been initialized.'),
  initialization: z
    .object({
      controlPlaneInitialized: z
        .boolean()
        .optional()
        .describe('v1beta2 contract: the control plane has been initialized.'),
    })
    .optional(),
  externalManagedControlPlane: z
    .boolean()
    .optional()
    .describe('True when the control plane has no Node objects in the workload cluster (hosted).'),
  version: z.string().optional().describe('Lowest Kubernetes version among the control plane instances.'),
  versions: z
    .array(StatusVersionSchema)
    .min(1)
    .max(100)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['version'] })
    .optional()
    .describe('v1beta2 contract: Kubernetes versions in use, oldest first, with their replica counts.'),
  selector: z.string().optional().describe('Label selector (query-parameter syntax) of the instances.'),
  replicas: int32.optional(),
  readyReplicas: int32.optional(),
  availableReplicas: int32.optional().describe('v1beta2 contract.'),
  upToDateReplicas: int32.optional().describe('v1beta2 contract.'),
  updatedReplicas: int32.optional().describe('v1beta1 contract.'),
  unavailableReplicas: int32.optional().describe('v1beta1 contract.'),
  ...commonStatusFields,
});
export type ControlPlaneStatus = z.infer<typeof ControlPlaneStatusSchema>;

// ---------------------------------------------------------------------------------------------------------
// K0smotronControlPlane
// ---------------------------------------------------------------------------------------------------------

const hostedSpecRules: CelRule[] = [
  {
    rule: "!has(self.ingress) || !has(self.version) || !self.version.matches('^v?1[.]34[.]0([-+].*)?$')",
    message: 'ingress is not supported with k0s v1.34.0, the minimum for ingress is v1.34.1+k0s.0',
  },
];

export const K0smotronControlPlaneSpecSchema = cel(
  z.object({
    ...hostedClusterSpecFields,
    version: cel(version, minorStepRule)
      .optional()
      .describe('k0s version; chosen by the controller when empty.'),
    controlPlaneEndpoint: APIEndpointSchema.optional().describe(
      'v1beta2 contract: the endpoint of the hosted API server, set by the controller.'
    ),
  }),
  ...hostedSpecRules
);
export type K0smotronControlPlaneSpec = z.infer<typeof K0smotronControlPlaneSpecSchema>;

export const K0smotronControlPlaneSchema = kindObject(
  CONTROLPLANE_API_VERSION,
  'K0smotronControlPlane',
  K0smotronControlPlaneSpecSchema,
  ControlPlaneStatusSchema
);
export type K0smotronControlPlane = z.infer<typeof K0smotronControlPlaneSchema>;

export const K0smotronControlPlaneTemplateSpecSchema = z.object({
  template: z
    .object({
      metadata: TemplateMetadataSchema.optional(),
      spec: cel(
        z.object({ ...hostedClusterSpecFields, version: version.optional() }),
        ...hostedSpecRules
      ).prefault({}),
    })
    .prefault({}),
});
export type K0smotronControlPlaneTemplateSpec = z.infer<typeof K0smotronControlPlaneTemplateSpecSchema>;

export const K0smotronControlPlaneTemplateSchema = kindObject(
  CONTROLPLANE_API_VERSION,
  'K0smotronControlPlaneTemplate',
  K0smotronControlPlaneTemplateSpecSchema
);
export type K0smotronControlPlaneTemplate = z.infer<typeof K0smotronControlPlaneTemplateSchema>;

// ---------------------------------------------------------------------------------------------------------
// K0sControlPlane
// ---------------------------------------------------------------------------------------------------------

export const UPDATE_STRATEGIES = ['InPlace', 'Recreate', 'RecreateDeleteFirst'] as const;
export const UpdateStrategySchema = z.enum(UPDATE_STRATEGIES).default('InPlace');

/** v1beta1 contract: Machine deletion timeouts as durations directly under machineTemplate. */
const v1beta1DeletionFields = {
  nodeDrainTimeout: DurationSchema.optional(),
  nodeVolumeDetachTimeout: DurationSchema.optional(),
  nodeDeletionTimeout: DurationSchema.optional(),
};

/** v1beta2 contract: the same timeouts in seconds under machineTemplate.spec.deletion. */
export const MachineDeletionSpecSchema = z
  .object({
    nodeDrainTimeoutSeconds: int32.min(0).optional(),
    nodeVolumeDetachTimeoutSeconds: int32.min(0).optional(),
    nodeDeletionTimeoutSeconds: int32.min(0).optional(),
  })
  .meta({ minProperties: 1 });
export type MachineDeletionSpec = z.infer<typeof MachineDeletionSpecSchema>;

/**
 * How control plane Machines are made. Accepts the v1beta1 contract's shape (`infrastructureRef` with
 * apiVersion, k0smotron's and the seeds') and the v1beta2 contract's (`spec.infrastructureRef` with apiGroup),
 * because Cluster API's topology controller may write either for a CRD declaring both contracts.
 */
export const K0sControlPlaneMachineTemplateSchema = cel(
  z.object({
    metadata: TemplateMetadataSchema.optional(),
    infrastructureRef: ObjectReferenceSchema.optional().describe(
      'v1beta1 contract: the infrastructure machine template to clone.'
    ),
    ...v1beta1DeletionFields,
    spec: z
      .object({
        infrastructureRef: ContractVersionedObjectReferenceSchema.describe(
          'v1beta2 contract: the infrastructure machine template to clone.'
        ),
        deletion: MachineDeletionSpecSchema.optional(),
      })
      .optional(),
  }),
  {
    rule: 'has(self.infrastructureRef) || (has(self.spec) && has(self.spec.infrastructureRef))',
    message: 'infrastructureRef is required',
  }
);
export type K0sControlPlaneMachineTemplate = z.infer<typeof K0sControlPlaneMachineTemplateSchema>;

const noRecreateOnSingleRule: CelRule = {
  rule:
    "!(has(self.updateStrategy) && self.updateStrategy == 'Recreate' && has(self.k0sConfigSpec.args) && " +
    "self.k0sConfigSpec.args.exists(a, a == '--single'))",
  message: 'UpdateStrategy Recreate is not allowed when the cluster runs in single mode (--single)',
};

export const K0sControlPlaneSpecSchema = cel(
  z.object({
    k0sConfigSpec: K0sConfigSpecSchema,
    machineTemplate: K0sControlPlaneMachineTemplateSchema,
    replicas: int32.default(1),
    updateStrategy: UpdateStrategySchema,
    version: cel(version, semverRule, notV1311Rule, minorStepRule)
      .optional()
      .describe('k0s version (v1.31.2+k0s.0) or Kubernetes version (v1.31.2).'),
    kubeconfigSecretMetadata: SecretMetadataSchema.optional(),
  }),
  noRecreateOnSingleRule
);
export type K0sControlPlaneSpec = z.infer<typeof K0sControlPlaneSpecSchema>;

export const K0sControlPlaneSchema = kindObject(
  CONTROLPLANE_API_VERSION,
  'K0sControlPlane',
  K0sControlPlaneSpecSchema,
  ControlPlaneStatusSchema
);
export type K0sControlPlane = z.infer<typeof K0sControlPlaneSchema>;

/** machineTemplate of a K0sControlPlaneTemplate: no infrastructureRef (ClusterClass sets it). */
export const K0sControlPlaneTemplateMachineTemplateSchema = z.object({
  metadata: TemplateMetadataSchema.optional(),
  ...v1beta1DeletionFields,
  spec: z.object({ deletion: MachineDeletionSpecSchema.optional() }).optional(),
});

export const K0sControlPlaneTemplateSpecSchema = z.object({
  template: z
    .object({
      metadata: TemplateMetadataSchema.optional(),
      spec: cel(
        z.object({
          k0sConfigSpec: K0sConfigSpecSchema,
          machineTemplate: K0sControlPlaneTemplateMachineTemplateSchema.optional(),
          version: cel(version, semverRule, notV1311Rule).optional(),
          updateStrategy: UpdateStrategySchema,
        }),
        noRecreateOnSingleRule
      ).optional(),
    })
    .optional(),
});
export type K0sControlPlaneTemplateSpec = z.infer<typeof K0sControlPlaneTemplateSpecSchema>;

export const K0sControlPlaneTemplateSchema = kindObject(
  CONTROLPLANE_API_VERSION,
  'K0sControlPlaneTemplate',
  K0sControlPlaneTemplateSpecSchema
);
export type K0sControlPlaneTemplate = z.infer<typeof K0sControlPlaneTemplateSchema>;
