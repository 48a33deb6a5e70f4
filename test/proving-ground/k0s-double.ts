// Serves the k0s TEST DOUBLE (test/k0s-double/k0s, a POSIX sh script — not k0s) to the SSH hosts
// over plain HTTP, so that they can fetch it the way k0smotron's cloud-init fetches k0s:
// `curl -sSfL --retry 5 <url> -o /usr/local/bin/k0s`. GET /k0s answers the script with the
// version baked in; everything else is 404. Requests are logged to DIR/logs/k0s-double-http.log.
//
// `up` runs this in its own recorded process (./k0s-double-server.ts, started through procs.ts)
// because the proving ground's CLI exits once everything is up; `down` stops it with the rest.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './net.js';
import { repoRoot } from './paths.js';
import { isRunning, logTail, startProcess } from './procs.js';

/** The k0s version the double reports unless told otherwise (`k0s version`, `k0s status`). */
export const DEFAULT_K0S_DOUBLE_VERSION = 'v1.27.2+k0s.0';
export const k0sDoubleScriptPath = (): string => join(repoRoot, 'test', 'k0s-double', 'k0s');
const serverEntry = (): string => join(repoRoot, 'test', 'proving-ground', 'k0s-double-server.ts');

const VERSION_LINE = /^K0S_DOUBLE_VERSION=.*$/m;

/** The script with `version` baked in (it must look like a k0s version: no quoting games). */
export function k0sDoubleScript(version: string = DEFAULT_K0S_DOUBLE_VERSION): string {
  if (!/^v?\d+\.\d+\.\d+[0-9A-Za-z.+-]*$/.test(version))
    throw new Error(`not a k0s version: ${JSON.stringify(version)}`);
  const script = readFileSync(k0sDoubleScriptPath(), 'utf8');
  if (!VERSION_LINE.test(script)) throw new Error(`${k0sDoubleScriptPath()}: no K0S_DOUBLE_VERSION= line`);
  return script.replace(VERSION_LINE, `K0S_DOUBLE_VERSION='${version}'`);
}

export interface K0sDoubleServer {
  /** The download URL of the script, e.g. http://10.213.7.1:23456/k0s */
  url: string;
  stop(): Promise<void>;
}

/** An HTTP server on `host` (the hosts' gateway address; 127.0.0.1 without hosts) serving GET /k0s. */
export async function serveK0sDouble(opts: {
  dir: string;
  host: string;
  port?: number;
  version?: string;
}): Promise<K0sDoubleServer> {
  const version = opts.version ?? DEFAULT_K0S_DOUBLE_VERSION;
  k0sDoubleScript(version); // a bad version or a missing script fails here, not per request
  mkdirSync(join(opts.dir, 'logs'), { recursive: true });
  const logFile = join(opts.dir, 'logs', 'k0s-double-http.log');
  const log = (line: string): void => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    let status = 404;
    if (path === '/k0s' && (req.method === 'GET' || req.method === 'HEAD')) {
      try {
        // Read per request: an edited script is served without restarting the proving ground.
        const body = Buffer.from(k0sDoubleScript(version));
        status = 200;
        res.writeHead(status, {
          'content-type': 'application/octet-stream',
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch (err) {
        status = 500;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      }
    } else {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('not found: this server only serves GET /k0s (the k0s test double)\n');
    }
    log(`${req.socket.remoteAddress ?? '?'} ${req.method ?? '?'} ${req.url ?? ''} ${status}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostPart}:${port}/k0s`;
  log(`listening: ${url} (version ${version})`);
  return {
    url,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * For `up`: starts ./k0s-double-server.ts as a recorded background process (name `k0s-double`,
 * so `down` stops it) on `host:port` and returns the download URL once it serves the script.
 */
export async function startK0sDoubleServer(
  dir: string,
  host: string,
  port: number,
  version: string = process.env.K0S_DOUBLE_VERSION ?? DEFAULT_K0S_DOUBLE_VERSION
): Promise<string> {
  const expected = k0sDoubleScript(version); // fails here, not in the child, on a bad version
  const proc = startProcess(
    dir,
    'k0s-double',
    [
      process.execPath,
      '--import',
      'tsx',
      serverEntry(),
      '--dir',
      dir,
      '--host',
      host,
      '--port',
      String(port),
      '--version',
      version,
    ],
    // `--import tsx` resolves from the working directory; NODE_OPTIONS from jest is not wanted.
    { cwd: repoRoot, env: { NODE_OPTIONS: '' } }
  );
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostPart}:${port}/k0s`;
  await waitFor(
    `k0s double server at ${url}`,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      return res.status === 200 && (await res.text()) === expected;
    },
    {
      timeoutMs: 30_000,
      alive: () => (isRunning(proc) ? null : `exited; log:\n${logTail(proc.log)}`),
    }
  );
  return url;
}
