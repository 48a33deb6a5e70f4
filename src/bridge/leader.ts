import { V1MicroTime, type CoordinationV1Api, type CoreV1Api, type V1Lease } from '@kubernetes/client-node';

import { httpStatusOf } from '../activities/kube-client.js';
import { sleep } from '../util/backoff.js';
import { errorText, type Logger } from '../util/log.js';

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  /** To create the Lease's namespace when it is missing (outside a cluster install). */
  core?: CoreV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewEverySeconds?: number;
  retryEverySeconds?: number;
  log: Logger;
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: take the lease when it is free
 * or expired, renew it while leading, and give up leading before another replica can take over.
 * Writes carry the resourceVersion, so two replicas racing for a lease cannot both win.
 */
export class LeaseElector {
  private readonly duration: number;
  private readonly renewEvery: number;
  private readonly retryEvery: number;
  private readonly stopSignal = new AbortController();

  constructor(private readonly opts: LeaderElectionOptions) {
    this.duration = opts.leaseDurationSeconds ?? 15;
    this.renewEvery = opts.renewEverySeconds ?? 5;
    this.retryEvery = opts.retryEverySeconds ?? 2;
  }

  /**
   * Runs `lead` whenever this replica holds the lease. `lead` gets a signal that aborts when the
   * lease is lost or the elector stops; it should stop driving as soon as it does.
   */
  async run(lead: (lost: AbortSignal) => Promise<void>): Promise<void> {
    await this.ensureNamespace();
    while (!this.stopSignal.signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await sleep(this.retryEvery * 1000, this.stopSignal.signal);
        continue;
      }
      this.opts.log.info('became leader', { lease: `${this.opts.namespace}/${this.opts.name}` });
      const lost = new AbortController();
      const leading = lead(lost.signal);
      await this.keepRenewing(lost);
      lost.abort();
      await leading;
      this.opts.log.info('stopped leading');
    }
    await this.release();
  }

  stop(): void {
    this.stopSignal.abort();
  }

  /** Renews until a renewal has failed for longer than is safe, or the elector stops. */
  private async keepRenewing(lost: AbortController): Promise<void> {
    let lastRenewal = Date.now();
    while (!this.stopSignal.signal.aborted && !lost.signal.aborted) {
      await sleep(this.renewEvery * 1000, this.stopSignal.signal);
      if (this.stopSignal.signal.aborted) return;
      if (await this.tryAcquireOrRenew()) lastRenewal = Date.now();
      else if (Date.now() - lastRenewal > (this.duration - this.renewEvery) * 1000) return;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { coordination, namespace, name, identity } = this.opts;
    const now = new V1MicroTime();
    try {
      const lease = await this.readLease();
      if (lease === null) {
        await coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: this.spec(now, now, 0) },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const mine = spec.holderIdentity === identity;
      if (!mine && !this.expired(lease)) return false;
      const acquired = mine ? (spec.acquireTime ?? now) : now;
      const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
      await coordination.replaceNamespacedLease({
        namespace,
        name,
        body: { ...lease, spec: this.spec(acquired, now, transitions) },
      });
      return true;
    } catch (err) {
      if (httpStatusOf(err) !== 409) this.opts.log.warn('lease update failed', { error: errorText(err) });
      return false;
    }
  }

  private spec(acquireTime: Date, renewTime: Date, leaseTransitions: number): V1Lease['spec'] {
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: this.duration,
      acquireTime: new V1MicroTime(acquireTime),
      renewTime: new V1MicroTime(renewTime),
      leaseTransitions,
    };
  }

  private expired(lease: V1Lease): boolean {
    const spec = lease.spec ?? {};
    if (!spec.holderIdentity) return true;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    return renewed + (spec.leaseDurationSeconds ?? this.duration) * 1000 < Date.now();
  }

  private async readLease(): Promise<V1Lease | null> {
    try {
      return await this.opts.coordination.readNamespacedLease({
        namespace: this.opts.namespace,
        name: this.opts.name,
      });
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    }
  }

  private async ensureNamespace(): Promise<void> {
    const { core, namespace, log } = this.opts;
    if (!core) return;
    try {
      await core.readNamespace({ name: namespace });
    } catch (err) {
      if (httpStatusOf(err) !== 404) return; // no right to read it: the Lease calls will tell
      log.info('creating the leader-election namespace', { namespace });
      await core.createNamespace({ body: { metadata: { name: namespace } } }).catch((e: unknown) => {
        if (httpStatusOf(e) !== 409) throw e;
      });
    }
  }

  /** Hands the lease over at once on a clean shutdown instead of making the next leader wait it out. */
  private async release(): Promise<void> {
    try {
      const lease = await this.readLease();
      if (lease?.spec?.holderIdentity !== this.opts.identity) return;
      await this.opts.coordination.replaceNamespacedLease({
        namespace: this.opts.namespace,
        name: this.opts.name,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 } },
      });
    } catch (err) {
      this.opts.log.warn('lease release failed', { error: errorText(err) });
    }
  }
}
