// jest globalSetup of the integration project: one proving ground per test run, in
// <repo>/.proving-ground/jest. Test files find it through process.env.K0SFLOW_PG_ENV (the env.json
// path; read it with readEnv(dirname(path)) or JSON.parse). Workers inherit the variable because
// they start after this returns.
//
// K0SFLOW_PG_HOSTS=N  number of SSH hosts (default 3)
// K0SFLOW_PG_KEEP=1   leave it running after the run (and after a failed up), for debugging
import { join } from 'node:path';
import { up } from '../proving-ground/index.js';
import { repoRoot } from '../proving-ground/paths.js';

export const PROVING_GROUND_DIR = join(repoRoot, '.proving-ground', 'jest');

export default async function globalSetup(): Promise<void> {
  const hosts = process.env.K0SFLOW_PG_HOSTS !== undefined ? Number(process.env.K0SFLOW_PG_HOSTS) : 3;
  if (!Number.isInteger(hosts) || hosts < 0)
    throw new Error(`K0SFLOW_PG_HOSTS must be a whole number, got ${process.env.K0SFLOW_PG_HOSTS}`);
  await up({ dir: PROVING_GROUND_DIR, hosts, child: true, capi: true });
  process.env.K0SFLOW_PG_ENV = join(PROVING_GROUND_DIR, 'env.json');
}
