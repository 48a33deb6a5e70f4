/**
 * Writes deploy/crds/ from the zod schemas (`npm run gen:crds`), or with `--check` compares the committed files
 * with what the schemas generate and exits 1 naming every file that differs, is missing or is stale.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles, staleFiles } from '../src/domain/crd/generate.js';

const CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'crds');

function onDisk(): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(CRD_DIR)) return files;
  for (const name of readdirSync(CRD_DIR).filter((n) => n.endsWith('.yaml'))) {
    files.set(name, readFileSync(join(CRD_DIR, name), 'utf8'));
  }
  return files;
}

function main(argv: string[]): number {
  const wanted = renderCrdFiles();
  const actual = onDisk();
  if (argv.includes('--check')) {
    const stale = staleFiles(wanted, actual);
    if (stale.length === 0) return 0;
    console.error('deploy/crds is out of date; run `npm run gen:crds`. Differing files:');
    for (const name of stale)
      console.error(`  deploy/crds/${name}${wanted.has(name) ? '' : ' (not generated any more)'}`);
    return 1;
  }
  mkdirSync(CRD_DIR, { recursive: true });
  for (const name of actual.keys()) if (!wanted.has(name)) rmSync(join(CRD_DIR, name));
  for (const [name, content] of wanted) writeFileSync(join(CRD_DIR, name), content);
  console.log(`wrote ${wanted.size} files to deploy/crds`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
