/**
 * Building blocks shared by every kind of the k0smotron-compatible API.
 *
 * Conventions used throughout `src/domain/api`:
 * - Field names and defaults follow k0smotron v1.10.9 (v1beta1). A zod `.default()`/`.prefault()` is what the
 *   CRD generator turns into an OpenAPI `default:`, so parsing an object with these schemas yields what the API
 *   server would have stored.
 * - Anything Kubernetes-specific that zod cannot say (preserve-unknown-fields, int-or-string, list types, CEL
 *   rules) is attached with `.meta({...})` under its `x-kubernetes-*` name and copied into the CRD as is.
 */
import { z } from 'zod';

/** Keys of `.meta()` that the CRD generator copies verbatim into the OpenAPI schema. */
export const PRESERVE_UNKNOWN = 'x-kubernetes-preserve-unknown-fields';
export const INT_OR_STRING = 'x-kubernetes-int-or-string';
export const VALIDATIONS = 'x-kubernetes-validations';

/** One CEL rule, as the API server expects it under `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** Attach CEL rules to a schema node. */
export function cel<T extends z.ZodType>(schema: T, ...rules: CelRule[]): T {
  return schema.meta({ [VALIDATIONS]: rules });
}

export const stringMap = z.record(z.string(), z.string());

/**
 * A free-form object kept verbatim (k0s ClusterConfig, pod-spec fragments such as volumes or a Job template).
 * The API server neither prunes nor validates its content.
 */
export function freeForm(description?: string): z.ZodRecord<z.ZodString, z.ZodUnknown> {
  const schema = z.record(z.string(), z.unknown()).meta({ [PRESERVE_UNKNOWN]: true });
  return description === undefined ? schema : schema.describe(description);
}

/** Kubernetes IntOrString (used for resource.Quantity): an integer or a string. */
export function intOrString(): z.ZodUnion<readonly [z.ZodInt, z.ZodString]> {
  return z.union([z.int(), z.string()]).meta({ [INT_OR_STRING]: true });
}

/** RFC 3339 timestamp as the API server writes it; not re-validated on read. */
export const timestamp = z.string().meta({ format: 'date-time' });

/** A JSON integer that the API server stores as int32 / int64. */
export const int32 = z.int32().meta({ format: 'int32' });
export const int64 = z.int().meta({ format: 'int64' });

// ---------------------------------------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------------------------------------

export const OwnerReferenceSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReferenceSchema>;

/**
 * The parts of ObjectMeta we read. Loose: `managedFields` and anything else the API server adds passes through
 * untouched.
 */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

/** The part of ObjectMeta Kubernetes keeps in objects embedded in another one (templates, PVC templates). */
export const EmbeddedObjectMetaSchema = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  finalizers: z.array(z.string()).optional(),
});

/**
 * Metadata a template (or machineTemplate) carries into the objects made from it. Only labels and annotations
 * are used; name, namespace and finalizers are accepted because k0smotron's templates embed ObjectMeta.
 */
export const TemplateMetadataSchema = EmbeddedObjectMetaSchema.describe(
  'Labels and annotations to put on the objects created from this template.'
);
export type TemplateMetadata = z.infer<typeof TemplateMetadataSchema>;

// ---------------------------------------------------------------------------------------------------------
// References and small value types
// ---------------------------------------------------------------------------------------------------------

/** core/v1 ObjectReference (the v1beta1 contract's reference shape). */
export const ObjectReferenceSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    fieldPath: z.string().optional(),
  })
  .meta({ 'x-kubernetes-map-type': 'atomic' });
export type ObjectReference = z.infer<typeof ObjectReferenceSchema>;

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** The v1beta2 contract's reference shape: API group instead of apiVersion, no namespace. */
export const ContractVersionedObjectReferenceSchema = z.object({
  apiGroup: z.string().min(1).max(253).regex(new RegExp(DNS_SUBDOMAIN)),
  kind: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/),
  name: z.string().min(1).max(253).regex(new RegExp(DNS_SUBDOMAIN)),
});
export type ContractVersionedObjectReference = z.infer<typeof ContractVersionedObjectReferenceSchema>;

/** Host and port of a Kubernetes API endpoint. */
export const APIEndpointSchema = z
  .object({
    host: z.string().min(1).max(512).optional(),
    port: int32.min(1).max(65535).optional(),
  })
  .meta({ minProperties: 1 });
export type APIEndpoint = z.infer<typeof APIEndpointSchema>;

export const MachineAddressSchema = z.object({
  type: z.enum(['Hostname', 'ExternalIP', 'InternalIP', 'ExternalDNS', 'InternalDNS']),
  address: z.string().min(1).max(256),
});
export type MachineAddress = z.infer<typeof MachineAddressSchema>;

/** Labels and annotations to copy onto a Secret we create (bootstrap data, kubeconfig). */
export const SecretMetadataSchema = z.object({
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});
export type SecretMetadata = z.infer<typeof SecretMetadataSchema>;

/** A Kubernetes duration string such as `10m` or `1h30m` (metav1.Duration). */
export const DurationSchema = z.string().max(64);

// ---------------------------------------------------------------------------------------------------------
// Status building blocks
// ---------------------------------------------------------------------------------------------------------

/**
 * One condition. The shape is metav1.Condition (what the v1beta2 contract reads) plus the optional `severity`
 * of Cluster API v1beta1 conditions, so readers of either contract parse it. Only `type` and `status` are
 * required: v1beta1 conditions may omit `reason`.
 */
export const ConditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: int64.min(0).optional(),
  lastTransitionTime: timestamp.optional(),
  reason: z.string().max(1024).optional(),
  message: z.string().max(32768).optional(),
  severity: z.string().max(32).optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = z
  .array(ConditionSchema)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .describe('Current state of the object, one entry per condition type.');

/** Fields every status of ours carries, whatever the provider role. */
export const commonStatusFields = {
  observedGeneration: int64
    .min(0)
    .optional()
    .describe('The metadata.generation the controller last acted upon.'),
  conditions: ConditionsSchema.optional(),
  failureReason: z
    .string()
    .optional()
    .describe('v1beta1 contract: a machine-readable reason for a terminal failure.'),
  failureMessage: z
    .string()
    .optional()
    .describe('v1beta1 contract: a human-readable description of a terminal failure.'),
};

// ---------------------------------------------------------------------------------------------------------
// Whole objects
// ---------------------------------------------------------------------------------------------------------

/** The API server drops `null` for fields that are not nullable (e.g. an empty `spec:` in YAML); so do we. */
function nullAsAbsent(value: unknown): unknown {
  return value === null ? undefined : value;
}

/** A schema that first turns `null` into "absent". */
type NullTolerant<T extends z.ZodType> = z.ZodPreprocess<T>;

/** The zod schema of a whole object of one kind, as built by {@link kindObject}. */
export type KindObjectSchema<
  ApiVersion extends string,
  Kind extends string,
  Spec extends z.ZodType,
  Status extends z.ZodType,
> = z.ZodObject<{
  apiVersion: z.ZodLiteral<ApiVersion>;
  kind: z.ZodLiteral<Kind>;
  metadata: NullTolerant<z.ZodPrefault<typeof ObjectMetaSchema>>;
  spec: NullTolerant<z.ZodPrefault<Spec>>;
  status: NullTolerant<z.ZodOptional<Status>>;
}>;

/**
 * The zod schema of a whole object of one kind: `{apiVersion, kind, metadata, spec, status}`. `spec` is always
 * present after parsing (defaults applied); `status` only if the object has one. Kinds without a status
 * (templates) pass none and get `status?: never`.
 */
export function kindObject<
  const ApiVersion extends string,
  const Kind extends string,
  Spec extends z.ZodType,
  Status extends z.ZodType = z.ZodNever,
>(
  apiVersion: ApiVersion,
  kind: Kind,
  spec: Spec,
  status?: Status
): KindObjectSchema<ApiVersion, Kind, Spec, Status> {
  return z.object({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: z.preprocess(nullAsAbsent, ObjectMetaSchema.prefault({})),
    spec: z.preprocess(nullAsAbsent, spec.prefault({} as z.input<Spec>)),
    status: z.preprocess(nullAsAbsent, ((status ?? z.never()) as Status).optional()),
  });
}
