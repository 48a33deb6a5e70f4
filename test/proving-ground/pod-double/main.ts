// Entry point of the proving ground's `pod-double` process, a TEST DOUBLE of the pods of k0sflow's
// hosted control planes (it plays kubelet, kube-scheduler, kube-proxy and a LoadBalancer controller
// for them; it is none of those). Started and recorded by `up` (../pod-double.ts), stopped by `down`.
//   node --import tsx test/proving-ground/pod-double/main.ts --config DIR/pod-double/config.json
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AddressPool } from './addresses.js';
import { ClusterDouble } from './cluster.js';
import { NODE_NAME, type PodDoubleConfig, readyFile, statusFile } from './config.js';
import { errorMessage, log } from './log.js';
import { stopAllProcesses } from './supervisor.js';

function writeJson(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

async function writeStatus(
  cfg: PodDoubleConfig,
  clusters: ClusterDouble[],
  pool: AddressPool
): Promise<void> {
  const privateEtcds = await Promise.all(clusters.map((c) => c.privateEtcds.report()));
  writeJson(statusFile(cfg.dir), {
    at: new Date().toISOString(),
    pid: process.pid,
    rssMiB: Math.round(process.memoryUsage().rss / 1048576),
    nodeName: NODE_NAME,
    addressesInUse: pool.inUse(),
    clusters: clusters.map((c, i) => ({
      name: c.name,
      nodeIP: c.nodeIP,
      loadBalancers: c.loadBalancers(),
      privateEtcds: privateEtcds[i],
    })),
    pods: clusters.flatMap((c) => c.reports()),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: true });
  if (!values.config) throw new Error('--config is required');
  const cfg = JSON.parse(readFileSync(values.config, 'utf8')) as PodDoubleConfig;
  mkdirSync(join(cfg.dir, 'pod-double'), { recursive: true });
  rmSync(readyFile(cfg.dir), { force: true });

  const pool = new AddressPool(cfg.pool, cfg.dir);
  await pool.sweep(cfg.dir);
  for (const c of cfg.clusters) await pool.ensureLocal(c.nodeIP);
  const clusters = cfg.clusters.map((c) => new ClusterDouble(c, cfg.dir, pool));

  let stopping = false;
  const stop = async (why: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping every pod's processes`);
    await Promise.all(clusters.map((c) => c.stop().catch((err: unknown) => log(errorMessage(err)))));
    await stopAllProcesses();
    await pool.releaseAll();
    rmSync(readyFile(cfg.dir), { force: true });
    log('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('unhandledRejection', (err) => log(`unhandled: ${errorMessage(err)}`));
  process.on('uncaughtException', (err) => {
    log(`uncaught: ${err.stack ?? err.message}`);
    void stop('uncaught exception', 1);
  });

  await Promise.all(clusters.map((c) => c.start()));
  setInterval(() => void writeStatus(cfg, clusters, pool), 2000);
  await writeStatus(cfg, clusters, pool);
  writeJson(readyFile(cfg.dir), { pid: process.pid, at: new Date().toISOString() });
  log(
    `ready: ${cfg.clusters.map((c) => `${c.name} (node ${c.nodeIP})`).join(', ')}; pool ${cfg.pool.first}..${cfg.pool.last}${cfg.pool.device ? ` on ${cfg.pool.device}` : ''}`
  );
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void stopAllProcesses().finally(() => process.exit(1));
});
