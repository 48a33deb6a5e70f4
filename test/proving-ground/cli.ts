// npm run proving-ground -- up --dir DIR [--hosts N] [--second] [--no-capi] [--no-pod-double] [--ui] [--port NAME=N ...]
// npm run proving-ground -- down --dir DIR
// npm run proving-ground -- status --dir DIR
import { Command, InvalidArgumentError } from 'commander';
import { PORT_NAMES, type PortName, type Ports, down, setAborting, status, up } from './index.js';

function parsePort(value: string, previous: Partial<Ports> = {}): Partial<Ports> {
  const m = /^([A-Za-z0-9]+)=(\d+)$/.exec(value);
  if (!m || !(PORT_NAMES as readonly string[]).includes(m[1]!)) {
    throw new InvalidArgumentError(`expected NAME=PORT with NAME one of ${PORT_NAMES.join(', ')}`);
  }
  return { ...previous, [m[1] as PortName]: Number(m[2]) };
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function printStatus(dir: string): void {
  const rows = status(dir);
  if (rows.length === 0) {
    console.log('nothing recorded');
    return;
  }
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(30)} pid ${String(r.pid).padEnd(8)} ${r.running ? `${String(r.rssMiB).padStart(5)} MiB` : '  stopped'}  ${r.log}`
    );
  }
  const total = rows.reduce((s, r) => s + r.rssMiB, 0);
  console.log(`${'total RSS'.padEnd(44)}${String(total).padStart(5)} MiB`);
}

const program = new Command('proving-ground').description("k0sflow's local test environment");

program
  .command('up')
  .description('start the proving ground (stale state in DIR is torn down first) and write DIR/env.json')
  .requiredOption('--dir <dir>', 'state, logs and data directory')
  .option('--hosts <n>', 'number of SSH hosts', parseCount, 0)
  .option('--second', 'also start a second (management-like) cluster', false)
  .option('--no-capi', 'skip Cluster API core and our CRDs')
  .option('--no-pod-double', "don't start the pod test double")
  .option('--ui', 'serve the Temporal Web UI', false)
  .option('--port <name=port>', `fix a port (repeatable): ${PORT_NAMES.join(', ')}`, parsePort)
  .option('--keep-on-failure', 'leave processes running when up fails (for debugging)', false)
  .action(
    async (o: {
      dir: string;
      hosts: number;
      second: boolean;
      capi: boolean;
      podDouble: boolean;
      ui: boolean;
      port?: Partial<Ports>;
      keepOnFailure: boolean;
    }) => {
      // Ctrl-C while starting: nothing new may start, and what did start is stopped.
      const onSignal = (sig: NodeJS.Signals): void => {
        setAborting();
        process.stderr.write(`proving-ground: ${sig}: tearing down ${o.dir}\n`);
        down(o.dir).then(
          () => process.exit(130),
          (err: Error) => {
            process.stderr.write(`${err.message}\n`);
            process.exit(1);
          }
        );
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const env = await up({
        dir: o.dir,
        hosts: o.hosts,
        second: o.second,
        capi: o.capi,
        podDouble: o.podDouble,
        ui: o.ui,
        ports: o.port,
        keepOnFailure: o.keepOnFailure,
      });
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      console.log(JSON.stringify(env, null, 2));
      printStatus(o.dir);
    }
  );

program
  .command('down')
  .description('stop everything recorded in DIR (also after a failed or interrupted up)')
  .requiredOption('--dir <dir>', 'the directory given to up')
  .action(async (o: { dir: string }) => {
    await down(o.dir);
    console.log(`proving ground in ${o.dir} is down`);
  });

program
  .command('status')
  .description('recorded processes, whether they run, RSS')
  .requiredOption('--dir <dir>', 'the directory given to up')
  .action((o: { dir: string }) => printStatus(o.dir));

try {
  await program.parseAsync();
  // gRPC channels or timers must not keep the CLI alive: what runs now runs detached.
  process.exit(0);
} catch (err) {
  process.stderr.write(`proving-ground: ${(err as Error).message}\n`);
  process.exit(1);
}
