// Entry point of the proving ground's `k0s-double` process (started and recorded by `up`, stopped
// by `down`): serves the k0s TEST DOUBLE script until SIGTERM/SIGINT. See ./k0s-double.ts.
//   node --import tsx test/proving-ground/k0s-double-server.ts --dir DIR --host ADDR --port N [--version V]
import { parseArgs } from 'node:util';
import { serveK0sDouble } from './k0s-double.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    version: { type: 'string' },
  },
  strict: true,
});
if (values.dir === undefined) throw new Error('--dir is required');
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`);

const server = await serveK0sDouble({
  dir: values.dir,
  host: values.host,
  port,
  ...(values.version !== undefined ? { version: values.version } : {}),
});
console.log(`k0s double (a test double, not k0s) served at ${server.url}`);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
