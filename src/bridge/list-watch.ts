import { Watch, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

import type { ObjectMeta } from '../domain/snapshot.js';
import type { ResourceType } from '../domain/resources.js';
import { httpStatusOf } from '../activities/kube-client.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import { errorText, type Logger } from '../util/log.js';

export interface WatchedObject {
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

export interface WatchEvent {
  type: 'upsert' | 'delete';
  object: WatchedObject;
  /** `watch`: a change as it happened; `list`: seen by a (re)list, maybe long unchanged. */
  source: 'list' | 'watch';
  receivedAt: number;
}

export interface ResourceWatcherOptions {
  config: KubeConfig;
  custom: CustomObjectsApi;
  resource: ResourceType;
  /** Watch one namespace; all when absent. */
  namespace?: string;
  /** A full relist this often catches anything a watch may have missed. */
  relistIntervalMs: number;
  onEvent: (event: WatchEvent) => void;
  log: Logger;
}

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: WatchedObject[];
}

const PAGE_SIZE = 500;
const RELIST_AFTER_FAILURES = 5;

/**
 * List + watch of one resource type, reconnecting with backoff, relisting on 410 Gone and on a period.
 * It keeps only each object's uid and resourceVersion; the events carry the objects.
 */
export class ResourceWatcher {
  private readonly known = new Map<string, { uid: string; resourceVersion: string }>();
  private resourceVersion = '';
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: ResourceWatcherOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    this.abort?.abort();
    await this.loop;
  }

  get size(): number {
    return this.known.size;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let nextRelist = 0;
    while (!this.stopped) {
      try {
        if (Date.now() >= nextRelist || this.resourceVersion === '') {
          await this.relist();
          nextRelist = Date.now() + this.opts.relistIntervalMs;
        }
        const outcome = await this.watchOnce(nextRelist - Date.now());
        if (outcome === 'gone') this.resourceVersion = '';
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        const delay = backoffDelay(failures++);
        this.opts.log.warn('list/watch failed; retrying', {
          error: errorText(err),
          status: httpStatusOf(err),
          delayMs: delay,
        });
        // A watch resumes from its resourceVersion; only repeated failures fall back to a relist.
        if (failures >= RELIST_AFTER_FAILURES) this.resourceVersion = '';
        await sleep(delay, this.stopSignal.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let page: ListPage;
    do {
      page = await this.listPage(continueToken);
      for (const object of page.items ?? []) {
        seen.add(keyOf(object.metadata));
        this.observe(object, 'list');
      }
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    this.resourceVersion = page.metadata?.resourceVersion ?? '';
    for (const [key, entry] of this.known) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      const [namespace = '', name = ''] = key.split('/');
      this.emit({
        type: 'delete',
        object: { metadata: { namespace, name, uid: entry.uid } },
        source: 'list',
      });
    }
  }

  private listPage(continueToken: string | undefined): Promise<ListPage> {
    const { resource, namespace, custom } = this.opts;
    const common = {
      group: resource.group,
      version: resource.version,
      plural: resource.plural,
      limit: PAGE_SIZE,
    };
    const paging = continueToken ? { _continue: continueToken } : {};
    return (
      namespace
        ? custom.listNamespacedCustomObject({ ...common, ...paging, namespace })
        : custom.listClusterCustomObject({ ...common, ...paging })
    ) as Promise<ListPage>;
  }

  /** Watches until the server closes, an error, 410 Gone, or the next relist is due. */
  private watchOnce(maxMs: number): Promise<'closed' | 'gone'> {
    const { resource, namespace, config } = this.opts;
    const path = namespace
      ? `/apis/${resource.group}/${resource.version}/namespaces/${namespace}/${resource.plural}`
      : `/apis/${resource.group}/${resource.version}/${resource.plural}`;
    return new Promise((resolve, reject) => {
      let gone = false;
      const timer = setTimeout(() => this.abort?.abort(), Math.max(1000, maxMs));
      // stop() must not wait for a watch request still being answered: its controller is not ours yet.
      const onStop = (): void => finish(undefined);
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      const finish = (err: unknown): void => {
        clearTimeout(timer);
        this.stopSignal.signal.removeEventListener('abort', onStop);
        if (gone || this.stopped || isAbort(err)) resolve(gone ? 'gone' : 'closed');
        else if (err) reject(err instanceof Error ? err : new Error(errorText(err)));
        else resolve('closed');
      };
      new Watch(config)
        .watch(
          path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 600 },
          (phase: string, object: WatchedObject & { code?: number }) => {
            if (phase === 'ERROR') {
              gone = object.code === 410;
              this.abort?.abort();
              if (!gone) finish(new Error(`watch error ${object.code ?? ''}`));
              return;
            }
            this.onWatchEvent(phase, object);
          },
          finish
        )
        .then((controller) => {
          this.abort = controller;
        }, finish);
    });
  }

  private onWatchEvent(phase: string, object: WatchedObject): void {
    if (object.metadata.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
    if (phase === 'BOOKMARK') return;
    if (phase === 'DELETED') {
      this.known.delete(keyOf(object.metadata));
      this.emit({ type: 'delete', object, source: 'watch' });
      return;
    }
    this.observe(object, 'watch');
  }

  private observe(object: WatchedObject, source: WatchEvent['source']): void {
    const key = keyOf(object.metadata);
    const resourceVersion = object.metadata.resourceVersion ?? '';
    const previous = this.known.get(key);
    if (previous && previous.uid === object.metadata.uid && previous.resourceVersion === resourceVersion)
      return;
    if (previous && previous.uid !== object.metadata.uid) {
      this.emit({ type: 'delete', object: { metadata: { ...object.metadata, uid: previous.uid } }, source });
    }
    this.known.set(key, { uid: object.metadata.uid, resourceVersion });
    this.emit({ type: 'upsert', object, source });
  }

  private emit(event: Omit<WatchEvent, 'receivedAt'>): void {
    try {
      this.opts.onEvent({ ...event, receivedAt: performance.now() });
    } catch (err) {
      this.opts.log.error('event handler failed', { error: errorText(err) });
    }
  }
}

export function keyOf(meta: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${meta.namespace}/${meta.name}`;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.message.includes('aborted'));
}
