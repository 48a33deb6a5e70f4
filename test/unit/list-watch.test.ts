// ResourceWatcher against failures a real API server cannot be made to produce on demand: dropped
// watch connections and 410 Gone. The server here speaks just enough of list/watch, with an event
// log, so a watch resumed from a resourceVersion gets what it missed, as from a real one.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

import { ResourceWatcher, type WatchEvent } from '../../src/bridge/list-watch.js';
import { createLogger } from '../../src/util/log.js';

interface Obj {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string };
}

class ListWatchServer {
  private rv = 100;
  private readonly objects = new Map<string, Obj>();
  private readonly log: { rv: number; type: string; object: Obj }[] = [];
  private readonly watchers = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  /** Watches from a resourceVersion below this get 410 Gone. */
  expiredBelow = 0;
  lists = 0;
  watches = 0;
  server: Server;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  mutate(type: 'ADDED' | 'MODIFIED' | 'DELETED', name: string): void {
    const rv = ++this.rv;
    const object: Obj = {
      metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: String(rv) },
    };
    if (type === 'DELETED') this.objects.delete(name);
    else this.objects.set(name, object);
    this.log.push({ rv, type, object });
    for (const w of this.watchers) w.write(JSON.stringify({ type, object }) + '\n');
  }

  /** Answers this many watch requests with HTTP 500, as an overloaded or restarting API server would. */
  failingWatches = 0;

  /** Ends every open watch, as the API server does when a watch times out. */
  closeWatches(): void {
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  get currentRv(): number {
    return this.rv;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Content-Type', 'application/json');
    if (url.searchParams.get('watch') !== 'true') {
      this.lists++;
      res.end(
        JSON.stringify({
          kind: 'List',
          metadata: { resourceVersion: String(this.rv) },
          items: [...this.objects.values()],
        })
      );
      return;
    }
    this.watches++;
    if (this.failingWatches > 0) {
      this.failingWatches--;
      res
        .writeHead(500)
        .end(JSON.stringify({ kind: 'Status', code: 500, message: 'etcdserver: leader changed' }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from < this.expiredBelow) {
      res.end(
        JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }) + '\n'
      );
      return;
    }
    res.writeHead(200);
    res.flushHeaders(); // as the API server does: the watch is established before any event
    for (const e of this.log.filter((e) => e.rv > from))
      res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    this.watchers.add(res);
    req.on('close', () => this.watchers.delete(res));
  }
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ResourceWatcher', () => {
  let api: ListWatchServer;
  let watcher: ResourceWatcher;
  let events: string[];

  beforeEach(async () => {
    api = new ListWatchServer();
    const server = await api.listen();
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    events = [];
    api.mutate('ADDED', 'a');
    api.mutate('ADDED', 'b');
    watcher = new ResourceWatcher({
      config,
      custom: config.makeApiClient(CustomObjectsApi),
      resource: {
        group: 'infrastructure.cluster.x-k8s.io',
        version: 'v1beta1',
        plural: 'remoteclusters',
        kind: 'RemoteCluster',
      },
      relistIntervalMs: 3_600_000,
      onEvent: (e: WatchEvent) => events.push(`${e.type}:${e.object.metadata.name}`),
      log: createLogger('error'),
    });
    watcher.start();
    await until(() => events.length === 2 && api.watches === 1);
  });

  afterEach(async () => {
    await watcher.stop();
    await api.close();
  });

  it('lists, then follows the watch', async () => {
    expect(events).toEqual(['upsert:a', 'upsert:b']);
    api.mutate('MODIFIED', 'a');
    api.mutate('DELETED', 'b');
    await until(() => events.length === 4);
    expect(events.slice(2)).toEqual(['upsert:a', 'delete:b']);
    expect(watcher.size).toBe(1);
  });

  it('resumes a closed watch from its resourceVersion, without relisting', async () => {
    api.closeWatches();
    api.mutate('ADDED', 'c');
    await until(() => events.includes('upsert:c'));
    expect(api.watches).toBeGreaterThanOrEqual(2);
    expect(api.lists).toBe(1);
  });

  it('retries failing watches with backoff and gets what it missed, without relisting', async () => {
    api.failingWatches = 2;
    api.closeWatches();
    api.mutate('ADDED', 'c'); // while the watch is failing
    await until(() => events.includes('upsert:c'));
    expect(api.watches).toBeGreaterThanOrEqual(4);
    expect(api.lists).toBe(1);
    api.mutate('DELETED', 'a');
    await until(() => events.includes('delete:a'));
  });

  it('relists on 410 Gone and reports what changed in the gap, deletions included', async () => {
    api.expiredBelow = Number.MAX_SAFE_INTEGER; // hold the watcher off while the gap happens
    api.closeWatches();
    api.mutate('DELETED', 'a');
    api.mutate('ADDED', 'c');
    api.expiredBelow = api.currentRv; // the watcher's resourceVersion is too old, the relist's is not
    await until(() => events.includes('delete:a') && events.includes('upsert:c'));
    expect(api.lists).toBeGreaterThanOrEqual(2);
    expect(watcher.size).toBe(2);
    // b did not change: the relist does not report it again.
    expect(events.filter((e) => e === 'upsert:b')).toHaveLength(1);
  });
});
