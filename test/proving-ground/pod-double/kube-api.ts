// The pod TEST DOUBLE's Kubernetes access: @kubernetes/client-node clients per watched cluster and a
// list+watch loop that relists periodically (client-node informers have no resync).
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, httpStatusOf, nullIfNotFound } from '../../../src/activities/kube-client.js';
import { log } from './log.js';

export interface Api {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
}

export function makeApi(kubeconfig: string): Api {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return { config, core: config.makeApiClient(CoreV1Api), apps: config.makeApiClient(AppsV1Api) };
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// The same error reading as k0sflow's own activities.

export { httpStatusOf };
export const errorText = errorMessage;
export const orNull = nullIfNotFound;

export interface Meta {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface ListWatchOptions<T extends Meta> {
  what: string;
  config: KubeConfig;
  /** API path of the collection, e.g. /api/v1/pods */
  path: string;
  labelSelector?: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Called with the complete list after every (re)list. */
  onList: (items: T[]) => void;
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;
  /** A watch ends after this long and the collection is listed again (default 30 s). */
  relistSeconds?: number;
  signal: AbortSignal;
}

/** List, then watch from the list's resourceVersion, again and again until `signal` aborts. */
export async function listWatchLoop<T extends Meta>(opts: ListWatchOptions<T>): Promise<void> {
  let failures = 0;
  while (!opts.signal.aborted) {
    try {
      const list = await opts.list();
      opts.onList(list.items);
      failures = 0;
      await watchOnce(opts, list.metadata?.resourceVersion ?? '');
    } catch (err) {
      if (opts.signal.aborted) return;
      failures++;
      log(`${opts.what}: list/watch failed (${errorText(err)}); retrying`);
      await sleep(Math.min(500 * 2 ** failures, 10_000), undefined, { signal: opts.signal }).catch(
        () => undefined
      );
    }
  }
}

function watchOnce<T extends Meta>(opts: ListWatchOptions<T>, resourceVersion: string): Promise<void> {
  const seconds = opts.relistSeconds ?? 30;
  return new Promise<void>((resolve, reject) => {
    let controller: AbortController | null = null;
    const onAbort = (): void => controller?.abort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const done = (err: unknown): void => {
      opts.signal.removeEventListener('abort', onAbort);
      if (err && !opts.signal.aborted && !isAbort(err))
        reject(err instanceof Error ? err : new Error(errorText(err)));
      else resolve();
    };
    new Watch(opts.config)
      .watch(
        opts.path,
        {
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: seconds,
          ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
        },
        (phase: string, object: T & { code?: number }) => {
          if (phase === 'ERROR') {
            controller?.abort();
            done(new Error(`watch error ${object.code ?? ''}`));
          } else if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
            opts.onEvent(phase, object);
          }
        },
        done
      )
      .then((c) => {
        controller = c;
        if (opts.signal.aborted) c.abort();
      }, done);
  });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.message.includes('aborted'));
}
