// Free ports and health checks.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Linux's ephemeral port range (outgoing connections take their local ports from it). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo !== undefined && hi !== undefined && lo > 0) return [lo, hi];
  } catch {
    // not Linux: fall through
  }
  return [32768, 60999];
}

function tryListen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, host, () => resolve(server));
  });
}

/** Fallback: a port the kernel chooses, kept listening in `servers`. */
async function kernelPort(host: string, servers: Server[]): Promise<number> {
  const server = await tryListen(0, host);
  if (!server) throw new Error(`no free port on ${host}`);
  servers.push(server);
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/**
 * Picks `count` distinct free TCP ports on `host`, held open until all are chosen. They are drawn
 * at random from below the ephemeral range when it leaves room (10000 ports or more), because a
 * port from inside it may be taken as the local port of some outgoing connection between the
 * moment we pick it and the moment our server binds it.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const [lo] = ephemeralRange();
  const min = 10000;
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempts = 0; ports.length < count && lo - min >= 10000 && attempts < count * 50; attempts++) {
      const port = min + Math.floor(Math.random() * (lo - min));
      if (ports.includes(port)) continue;
      const server = await tryListen(port, host);
      if (server) {
        servers.push(server);
        ports.push(port);
      }
    }
    while (ports.length < count) ports.push(await kernelPort(host, servers));
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
  /** Accept any server certificate (self-signed health endpoints). */
  insecure?: boolean;
}

/** One HTTPS GET; resolves with the status code and body, rejects on connection errors. */
export function httpsGet(
  url: string,
  tls: TlsClient,
  timeoutMs = 2000
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: tls.ca !== undefined ? readFileSync(tls.ca) : undefined,
        cert: tls.cert !== undefined ? readFileSync(tls.cert) : undefined,
        key: tls.key !== undefined ? readFileSync(tls.key) : undefined,
        rejectUnauthorized: !tls.insecure,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `check` until it returns true. `alive` is checked between attempts so a crashed process
 * fails fast instead of running into the timeout.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; alive?: () => string | null } = {}
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    const dead = opts.alive?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? ` (${lastError})` : ''}`);
    await sleep(opts.intervalMs ?? 200);
  }
}
