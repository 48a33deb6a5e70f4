/**
 * The hosted control plane's spec: k0smotron.io/v1beta1 ClusterSpec of k0smotron v1.10.9, which is also the spec
 * of K0smotronControlPlane. Pod-spec fragments (volumes, topology spread constraints, PVC spec) stay free-form.
 */
import { z } from 'zod';
import {
  EmbeddedObjectMetaSchema,
  PRESERVE_UNKNOWN,
  SecretMetadataSchema,
  freeForm,
  int32,
  int64,
  intOrString,
  stringMap,
} from './common.js';

export const DEFAULT_K0S_IMAGE = 'quay.io/k0sproject/k0s';
export const DEFAULT_ETCD_IMAGE = 'quay.io/k0sproject/etcd:v3.5.13';

export const KubeconfigRefSchema = z
  .object({
    name: z.string().describe('Secret holding the kubeconfig of the hosting cluster.'),
    namespace: z.string(),
    key: z.string().default('value'),
  })
  .describe('Deploy the control plane into the cluster this kubeconfig points at.');
export type KubeconfigRef = z.infer<typeof KubeconfigRefSchema>;

export const IngressSpecSchema = z.object({
  deploy: z.boolean().optional().describe('Create the Ingress (default true) or leave it to the user.'),
  port: int64.default(443),
  apiHost: z.string(),
  konnectivityHost: z.string(),
  className: z.string().optional(),
  annotations: stringMap.optional(),
});
export type IngressSpec = z.infer<typeof IngressSpecSchema>;

export const ServiceSpecSchema = z.object({
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
  apiPort: int64.default(30443),
  konnectivityPort: int64.default(30132),
  annotations: stringMap.optional(),
  labels: stringMap.optional(),
  loadBalancerClass: z.string().optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
});
export type ServiceSpec = z.infer<typeof ServiceSpecSchema>;

export const PersistentVolumeClaimSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: EmbeddedObjectMetaSchema.optional(),
  spec: freeForm('core/v1 PersistentVolumeClaimSpec.').optional(),
  status: freeForm().optional(),
});
export type PersistentVolumeClaim = z.infer<typeof PersistentVolumeClaimSchema>;

export const PersistenceSpecSchema = z.object({
  type: z.enum(['emptyDir', 'hostPath', 'pvc']).default('emptyDir'),
  persistentVolumeClaim: PersistentVolumeClaimSchema.optional(),
  autoDeletePVCs: z.boolean().default(false),
  hostPath: z.string().optional(),
});
export type PersistenceSpec = z.infer<typeof PersistenceSpecSchema>;

export const ResourceRequirementsSchema = z.object({
  limits: z.record(z.string(), intOrString()).optional(),
  requests: z.record(z.string(), intOrString()).optional(),
  claims: z.array(z.looseObject({ name: z.string() }).meta({ [PRESERVE_UNKNOWN]: true })).optional(),
});
export type ResourceRequirements = z.infer<typeof ResourceRequirementsSchema>;

/** A volume (any core/v1 VolumeSource, kept free-form) mounted into the control plane pod at `path`. */
export const MountSchema = z
  .looseObject({
    path: z.string(),
    readOnly: z.boolean().optional(),
  })
  .meta({ [PRESERVE_UNKNOWN]: true });
export type Mount = z.infer<typeof MountSchema>;

/** A core/v1 Volume, kept free-form apart from its name. */
export const VolumeSchema = z.looseObject({ name: z.string() }).meta({ [PRESERVE_UNKNOWN]: true });
export type Volume = z.infer<typeof VolumeSchema>;

export const MonitoringSpecSchema = z.object({
  enabled: z.boolean(),
  prometheusImage: z.string().default('quay.io/k0sproject/prometheus:v2.44.0'),
  proxyImage: z.string().default('nginx:1.19.10'),
});
export type MonitoringSpec = z.infer<typeof MonitoringSpecSchema>;

export const DefragJobSchema = z.object({
  enabled: z.boolean().default(false),
  schedule: z.string().default('0 12 * * *'),
  rule: z.string().default('dbQuotaUsage > 0.8 || dbSize - dbSizeInUse > 200*1024*1024'),
  image: z.string().default('ghcr.io/ahrtr/etcd-defrag:v0.16.0'),
});
export type DefragJob = z.infer<typeof DefragJobSchema>;

export const EtcdPersistenceSpecSchema = z.object({
  storageClass: z.string().optional(),
  size: intOrString().default('1Gi'),
});
export type EtcdPersistenceSpec = z.infer<typeof EtcdPersistenceSpecSchema>;

export const EtcdSpecSchema = z.object({
  image: z.string().default(DEFAULT_ETCD_IMAGE),
  args: z.array(z.string()).optional(),
  persistence: EtcdPersistenceSpecSchema.optional(),
  autoDeletePVCs: z.boolean().default(false),
  defragJob: DefragJobSchema.optional(),
  resources: ResourceRequirementsSchema.optional(),
});
export type EtcdSpec = z.infer<typeof EtcdSpecSchema>;

export const CertificateRefSchema = z.object({
  type: z.enum(['ca', 'sa', 'proxy', 'etcd', 'apiserver-etcd-client', 'etcd-peer', 'etcd-server']),
  name: z.string().optional(),
});
export type CertificateRef = z.infer<typeof CertificateRefSchema>;

/** k0smotron.io ClusterSpec fields, in k0smotron's order. */
export const hostedClusterSpecFields = {
  kubeconfigRef: KubeconfigRefSchema.optional(),
  replicas: int32.default(1).describe('Number of control plane pods; above 1 needs kineDataSourceURL.'),
  image: z.string().default(DEFAULT_K0S_IMAGE).describe('k0s image without tag.'),
  serviceAccount: z.string().optional(),
  version: z.string().optional().describe('k0s version; chosen by the controller when empty.'),
  externalAddress: z.string().optional(),
  ingress: IngressSpecSchema.optional(),
  service: ServiceSpecSchema.prefault({ type: 'ClusterIP', apiPort: 30443, konnectivityPort: 30132 }),
  persistence: PersistenceSpecSchema.prefault({ type: 'emptyDir' }),
  kineDataSourceURL: z.string().optional(),
  kineDataSourceSecretName: z.string().optional(),
  k0sConfig: freeForm('k0s ClusterConfig; some fields are overwritten by the controller.').optional(),
  certificateRefs: z.array(CertificateRefSchema).optional(),
  manifests: z
    .array(VolumeSchema)
    .optional()
    .describe('Volumes mounted under /var/lib/k0s/manifests/<name>.'),
  mounts: z.array(MountSchema).optional(),
  controllerPlaneFlags: z.array(z.string()).optional().describe('Extra `k0s controller` flags.'),
  monitoring: MonitoringSpecSchema.optional(),
  etcd: EtcdSpecSchema.prefault({ image: DEFAULT_ETCD_IMAGE, persistence: {} }),
  topologySpreadConstraints: z.array(freeForm()).optional(),
  resources: ResourceRequirementsSchema.optional(),
  kubeconfigSecretMetadata: SecretMetadataSchema.optional(),
};

export const HostedClusterSpecSchema = z.object(hostedClusterSpecFields);
export type HostedClusterSpec = z.infer<typeof HostedClusterSpecSchema>;
