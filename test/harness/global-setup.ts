// jest globalSetup of the integration project: one proving ground per test run, in
// <repo>/.proving-ground/jest. Test files find it through process.env.K0SFLOW_PG_ENV (the env.json
// path; read it with readEnv(dirname(path)) or JSON.parse). Workers inherit the variable because
// they start after this returns.
//
// K0SFLOW_PG_HOSTS=N  number of SSH hosts (default 3)
// K0SFLOW_PG_KEEP=1   leave it running after the run (and after a failed up), for debugging
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { up } from '../proving-ground/index.js';
import { repoRoot } from '../proving-ground/paths.js';

export const PROVING_GROUND_DIR = join(repoRoot, '.proving-ground', 'jest');

export default async function globalSetup(): Promise<void> {
  const hosts = process.env.K0SFLOW_PG_HOSTS !== undefined ? Number(process.env.K0SFLOW_PG_HOSTS) : 3;
  if (!Number.isInteger(hosts) || hosts < 0)
    throw new Error(`K0SFLOW_PG_HOSTS must be a whole number, got ${process.env.K0SFLOW_PG_HOSTS}`);
  claimDir();
  await up({ dir: PROVING_GROUND_DIR, hosts, second: true, capi: true });
  process.env.K0SFLOW_PG_ENV = join(PROVING_GROUND_DIR, 'env.json');
}

const OWNER_FILE = join(PROVING_GROUND_DIR, 'owner.pid');

/**
 * `up` tears down what it finds in its directory, so a second test run must not start while a live one
 * uses it: that would pull the servers from under the first run's tests.
 */
function claimDir(): void {
  mkdirSync(PROVING_GROUND_DIR, { recursive: true });
  if (existsSync(OWNER_FILE)) {
    const owner = Number(readFileSync(OWNER_FILE, 'utf8'));
    if (owner !== process.pid && isAlive(owner)) {
      throw new Error(
        `another test run (pid ${owner}) is using ${PROVING_GROUND_DIR}; wait for it or stop it`
      );
    }
  }
  writeFileSync(OWNER_FILE, String(process.pid));
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function releaseDir(): void {
  try {
    if (Number(readFileSync(OWNER_FILE, 'utf8')) === process.pid) writeFileSync(OWNER_FILE, '');
  } catch {
    // nothing claimed
  }
}
