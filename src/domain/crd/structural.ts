/**
 * A checker for the rules of Kubernetes structural schemas that our generator could break (see
 * https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema).
 * The API server is the real judge; this catches regressions in unit tests without one.
 */
import type { JSONSchemaProps } from './openapi.js';

const PRESERVE_UNKNOWN = 'x-kubernetes-preserve-unknown-fields';
const INT_OR_STRING = 'x-kubernetes-int-or-string';
const FORBIDDEN = [
  '$ref',
  'oneOf',
  'allOf',
  'not',
  'const',
  'propertyNames',
  '$schema',
  'definitions',
  '$defs',
];

function isIntOrStringAnyOf(anyOf: unknown): boolean {
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return false;
  const types = anyOf.map((n: JSONSchemaProps) => n.type).sort();
  return types[0] === 'integer' && types[1] === 'string';
}

/** Keywords: forbidden ones, a single `type` (unless free-form or int-or-string), anyOf only for int-or-string. */
function typeProblems(node: JSONSchemaProps, path: string): string[] {
  const problems: string[] = [];
  const raw = node as Record<string, unknown>;
  for (const key of FORBIDDEN) if (key in raw) problems.push(`${path}: has ${key}`);
  const intOrString = node[INT_OR_STRING] === true;
  if (node.type === undefined && node[PRESERVE_UNKNOWN] !== true && !intOrString) {
    problems.push(`${path}: no type`);
  }
  if (node.type !== undefined && typeof node.type !== 'string')
    problems.push(`${path}: type is not one name`);
  if (node.anyOf !== undefined && !(intOrString && isIntOrStringAnyOf(node.anyOf))) {
    problems.push(`${path}: anyOf mixing types outside int-or-string`);
  }
  return problems;
}

/** Objects and arrays: closed objects, properties next to additionalProperties, items, required, map keys. */
function shapeProblems(node: JSONSchemaProps, path: string): string[] {
  const problems: string[] = [];
  if (node.additionalProperties === false) problems.push(`${path}: additionalProperties: false`);
  if (node.additionalProperties !== undefined && node.properties !== undefined) {
    problems.push(`${path}: both properties and additionalProperties`);
  }
  if (node.type === 'array' && node.items === undefined) problems.push(`${path}: array without items`);
  for (const name of node.required ?? []) {
    if (node.properties?.[name] === undefined) problems.push(`${path}: required ${name} is not a property`);
  }
  return problems;
}

/** List-map keys must be required (or defaulted) in the items. */
function listMapProblems(node: JSONSchemaProps, path: string): string[] {
  const mapKeys = node['x-kubernetes-list-map-keys'];
  if (!Array.isArray(mapKeys)) return [];
  const items = node.items ?? {};
  return (mapKeys as string[])
    .filter((key) => !(items.required ?? []).includes(key) && items.properties?.[key]?.default === undefined)
    .map((key) => `${path}: list map key ${key} not required`);
}

/** Every structural-schema violation in a schema tree, each naming its path; empty when structural. */
export function structuralProblems(schema: JSONSchemaProps, path = ''): string[] {
  const here = path || '.';
  const problems = [
    ...typeProblems(schema, here),
    ...shapeProblems(schema, here),
    ...listMapProblems(schema, here),
  ];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (typeof schema.additionalProperties === 'object') {
    problems.push(...structuralProblems(schema.additionalProperties, `${path}.*`));
  }
  if (schema.items !== undefined) problems.push(...structuralProblems(schema.items, `${path}[]`));
  for (const [i, branch] of (schema.anyOf ?? []).entries()) {
    if (branch.properties !== undefined || branch.items !== undefined) {
      problems.push(`${path}.anyOf[${i}]: nested structure inside anyOf`);
    }
  }
  return problems;
}
