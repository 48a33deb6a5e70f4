// The seed manifests of ../shared/seeds, kept verbatim in test/fixtures/seeds (one YAML per code block).
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
