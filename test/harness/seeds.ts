// The seed manifests of ../shared/seeds, kept verbatim in test/fixtures/seeds (one YAML per code block).
import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { parseManifests, repoRoot } from './env.js';

const dir = join(repoRoot, 'test/fixtures/seeds');

/** Every YAML code block of every seed page, by file name (`<page>.<n>.yaml`). */
export function seedFiles(): { file: string; text: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

/**
 * The documents of one seed page, in order, filtered by kind. `flow` picks the page's n-th flow
 * when a kind appears in several (the remote-machine page has two Clusters named alike).
 */
export function seedManifest(page: string, kinds: string[], flow = 0): string {
  const blocks = seedFiles().filter((f) => f.file.startsWith(`${page}.`));
  const docs = blocks.flatMap((b) =>
    b.text
      .split(/^---$/m)
      .map((t) => t.trim())
      .filter(Boolean)
  );
  const picked: string[] = [];
  const seen = new Map<string, number>();
  for (const doc of docs) {
    const kind = parseManifests(doc)[0]?.kind;
    if (!kind || !kinds.includes(kind)) continue;
    const index = seen.get(kind) ?? 0;
    seen.set(kind, index + 1);
    if (index === flow) picked.push(doc);
  }
  return picked.join('\n---\n');
}

/**
 * Pauses the seed's K0smotronControlPlane (annotation `cluster.x-k8s.io/paused`) for tests about other
 * kinds: a running hosted control plane costs an API server in the pod double and is not what they test.
 */
export function withHostedControlPlanePaused(objects: KubernetesObject[]): KubernetesObject[] {
  return objects.map((o) =>
    o.kind === 'K0smotronControlPlane'
      ? {
          ...o,
          metadata: {
            ...o.metadata,
            annotations: { ...o.metadata?.annotations, 'cluster.x-k8s.io/paused': 'true' },
          },
        }
      : o
  );
}
