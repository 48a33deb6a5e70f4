/**
 * zod schema → structural OpenAPI v3 schema, as a CustomResourceDefinition wants it.
 *
 * zod 4's `z.toJSONSchema` (input mode, so `default:` comes out and defaulted fields are not required) does
 * most of the work; {@link toStructural} then rewrites what JSON Schema 2020-12 says differently from a
 * Kubernetes structural schema: no `$schema`/`propertyNames`/`const`, no `additionalProperties: false`,
 * int32/int64 `format` instead of numeric bounds, and `anyOf` only for int-or-string.
 */
import { z } from 'zod';
import { INT_OR_STRING, PRESERVE_UNKNOWN } from '../api/common.js';

/** A node of an OpenAPI v3 schema (apiextensions.k8s.io/v1 JSONSchemaProps), as plain JSON. */
export interface JSONSchemaProps {
  type?: string;
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  [extension: `x-kubernetes-${string}`]: unknown;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Replace JSON Schema's integer bounds that only encode the zod integer kind by an OpenAPI `format`. */
function integerFormat(node: Raw): void {
  if (node.type !== 'integer') return;
  const isInt32 = node.minimum === INT32_MIN || node.maximum === INT32_MAX;
  const isSafe = node.minimum === Number.MIN_SAFE_INTEGER || node.maximum === Number.MAX_SAFE_INTEGER;
  if (node.minimum === INT32_MIN || node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
  if (node.maximum === INT32_MAX || node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
  if (isInt32) node.format = 'int32';
  else if (isSafe) node.format = 'int64';
}

function objectKeywords(node: Raw, path: string): void {
  delete node.propertyNames;
  const preserve = node[PRESERVE_UNKNOWN] === true;
  if (node.additionalProperties === false) delete node.additionalProperties;
  if (isRecord(node.additionalProperties) && Object.keys(node.additionalProperties).length === 0) {
    if (!preserve) throw new Error(`${path}: free-form map without ${PRESERVE_UNKNOWN}`);
    delete node.additionalProperties;
  }
  if (isRecord(node.properties) && Object.keys(node.properties).length === 0 && preserve)
    delete node.properties;
}

function normalize(node: Raw, path: string): void {
  delete node.$schema;
  if ('$ref' in node) throw new Error(`${path}: $ref is not allowed in a CRD schema`);
  if ('const' in node) {
    node.enum = [node.const];
    delete node.const;
  }
  if (node[INT_OR_STRING] === true) {
    node.anyOf = [{ type: 'integer' }, { type: 'string' }];
    delete node.type;
  } else if ('anyOf' in node || 'oneOf' in node || 'allOf' in node || Array.isArray(node.type)) {
    throw new Error(`${path}: unions other than int-or-string have no structural form`);
  }
  integerFormat(node);
  objectKeywords(node, path);
  if (isRecord(node.properties)) {
    for (const [name, child] of Object.entries(node.properties)) normalize(child as Raw, `${path}.${name}`);
  }
  if (isRecord(node.additionalProperties)) normalize(node.additionalProperties, `${path}.*`);
  if (isRecord(node.items)) normalize(node.items, `${path}[]`);
}

/**
 * The structural OpenAPI schema of a zod schema. Throws (naming the path) on anything a CRD cannot express,
 * so a schema change that would produce an invalid CRD fails at generation time.
 */
export function toStructural(schema: z.ZodType, path = ''): JSONSchemaProps {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'throw',
    reused: 'inline',
    cycles: 'throw',
  });
  const node: Raw = structuredClone(json);
  normalize(node, path);
  return node;
}
