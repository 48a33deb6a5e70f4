// jest globalTeardown of the integration project: stops the proving ground unless K0SFLOW_PG_KEEP=1.
// If jest itself crashes, `npm run proving-ground -- down --dir .proving-ground/jest` (or the next
// run's setup, which tears down stale state first) cleans up.
import { down } from '../proving-ground/index.js';
import { PROVING_GROUND_DIR, releaseDir } from './global-setup.js';

export default async function globalTeardown(): Promise<void> {
  if (process.env.K0SFLOW_PG_KEEP === '1') {
    process.stderr.write(`proving ground left running (K0SFLOW_PG_KEEP=1): ${PROVING_GROUND_DIR}\n`);
    releaseDir();
    return;
  }
  await down(PROVING_GROUND_DIR);
  releaseDir();
}
