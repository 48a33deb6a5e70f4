import type { ObjectMeta } from './snapshot.js';

/**
 * A short digest of what about an object can change what k0sflow does. The bridge signals a workflow only
 * when it moves, so status writes (ours or CAPI's) that change nothing of interest do not wake workflows.
 */
export function fingerprint(parts: unknown): string {
  return hash53(stableJson(parts)).toString(36);
}

/**
 * cyrb53: a fast 53-bit string hash in plain JS, so the domain layer stays free of Node built-ins (it
 * is bundled into workflow code). Only change detection relies on it, not security.
 */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** For objects k0sflow drives: spec (through generation), deletion, labels, annotations, owners. */
export function ownObjectFingerprint(meta: ObjectMeta): string {
  return fingerprint({
    generation: meta.generation,
    deleting: meta.deletionTimestamp ?? null,
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
    owners: (meta.ownerReferences ?? []).map((o) => o.uid),
  });
}

interface ConditionLike {
  type?: unknown;
  status?: unknown;
}

/**
 * For CAPI objects k0sflow depends on (Cluster, Machine): besides spec and metadata, the readiness
 * signals in their status that dependants wait for.
 */
export function dependencyFingerprint(meta: ObjectMeta, status: unknown): string {
  const s = (status ?? {}) as { initialization?: unknown; conditions?: ConditionLike[]; phase?: unknown };
  return fingerprint({
    own: ownObjectFingerprint(meta),
    initialization: s.initialization ?? null,
    phase: s.phase ?? null,
    conditions: (s.conditions ?? []).map((c) => `${String(c.type)}=${String(c.status)}`).sort(),
  });
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))
        )
      : v
  );
}
