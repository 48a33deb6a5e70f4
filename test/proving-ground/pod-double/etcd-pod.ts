// An etcd pod as the pod TEST DOUBLE runs it: a real etcd with the pod's mounted certificates
// (client and peer certificate authentication against the mounted etcd CA), listening on the pod
// IP. Replicas of one StatefulSet form one etcd cluster: the lowest ordinal bootstraps it, the
// others join one at a time through `member add` (what k0smotron's init container does), and a
// deleted pod leaves it through `member remove` (its data goes with it). Members reach each other as
// https://<pod>.<service>.<ns>.svc:2380 (the hosts file maps the name; the certificates' wildcard
// SAN *.<service>.<ns>.svc covers it).
import type { V1Pod } from '@kubernetes/client-node';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { waitFor } from '../net.js';
import { etcdPath, requireBinary } from '../paths.js';
import type { CertPaths } from '../pki.js';
import { errorMessage, log } from './log.js';
import { PodFiles } from './pod-files.js';
import { NotReadyYet, mainContainer, podFiles } from './pod-spec.js';
import { Supervised, inPod } from './supervisor.js';
import type { ClusterContext, PodPlace, PodView, PodWorkload } from './types.js';

const DEFAULT_PKI = '/var/lib/k0s/pki/etcd';

interface Tls extends CertPaths {
  ca: string;
}

interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
}

/** POST to etcd's JSON gateway on IP:2379; its serving certificate is for names, so verify `localhost`. */
function etcdPost(ip: string, path: string, body: unknown, tls: Tls): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      `https://${ip}:2379${path}`,
      {
        method: 'POST',
        servername: 'localhost',
        ca: readFileSync(tls.ca),
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        timeout: 3000,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          (res.statusCode ?? 0) < 300
            ? resolve(JSON.parse(text || '{}'))
            : reject(new Error(`${path}: ${res.statusCode} ${text}`))
        );
      }
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: timeout`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function members(ip: string, tls: Tls): Promise<Member[]> {
  return ((await etcdPost(ip, '/v3/cluster/member/list', {}, tls)) as { members?: Member[] }).members ?? [];
}

async function health(ip: string, tls: Tls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `https://${ip}:2379/health`,
      {
        servername: 'localhost',
        ca: readFileSync(tls.ca),
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        timeout: 2000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('"true"')));
      }
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function ownerUid(pod: V1Pod): string {
  return pod.metadata?.ownerReferences?.find((o) => o.controller)?.uid ?? pod.metadata!.uid!;
}

const ordinal = (name: string): number => Number(/-(\d+)$/.exec(name)?.[1] ?? 0);

function siblings(ctx: ClusterContext, pod: V1Pod): PodView[] {
  const uid = ownerUid(pod);
  return ctx
    .pods()
    .filter(
      (p) =>
        p.component === 'etcd' && p.namespace === pod.metadata!.namespace && p.name !== pod.metadata!.name
    )
    .filter((p) => ownerUid(p.pod) === uid);
}

const locks = new Map<string, Promise<unknown>>();
/** Membership changes of one StatefulSet's etcd cluster happen one at a time. */
function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const next = (locks.get(key) ?? Promise.resolve()).then(fn, fn);
  locks.set(
    key,
    next.catch(() => undefined)
  );
  return next;
}

interface Plan {
  initialCluster: string;
  state: 'new' | 'existing';
  /** A joining member: added as a learner through `peerIP`, promoted once it runs. */
  learner?: { id: string; peerIP: string };
}

/** Retries `fn` every 500 ms while it fails (etcd refuses reconfigurations while a member catches up). */
function retrying(what: string, fn: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  return waitFor(what, () => fn().then(() => true), { timeoutMs, intervalMs: 500 });
}

async function plan(
  ctx: ClusterContext,
  pod: V1Pod,
  place: PodPlace,
  tls: Tls,
  selfPeer: string
): Promise<Plan> {
  const name = pod.metadata!.name!;
  const alone: Plan = { initialCluster: `${name}=${selfPeer}`, state: 'new' };
  if (existsSync(join(place.dataDir, 'member'))) return alone; // etcd ignores the initial cluster then
  const others = siblings(ctx, pod);
  const peer = others.find((p) => p.ready && p.ip);
  if (!peer) {
    const dataAround = readdirSync(dirname(place.dataDir)).some((d) =>
      existsSync(join(dirname(place.dataDir), d, 'member'))
    );
    if (dataAround || others.some((p) => ordinal(p.name) < ordinal(name)))
      throw new NotReadyYet('waiting for a Ready etcd member to join');
    return alone;
  }
  let added: { member?: Member; members?: Member[] };
  try {
    const stale = (await members(peer.ip!, tls)).find(
      (m) => m.name === name || m.peerURLs?.includes(selfPeer)
    );
    if (stale) await etcdPost(peer.ip!, '/v3/cluster/member/remove', { ID: stale.ID }, tls);
    // As a learner: the cluster keeps its quorum while the new member starts and catches up.
    const body = { peerURLs: [selfPeer], isLearner: true };
    added = (await etcdPost(peer.ip!, '/v3/cluster/member/add', body, tls)) as typeof added;
  } catch (err) {
    // e.g. "unhealthy cluster" while the previous member is still catching up: retried shortly.
    throw new NotReadyYet(`etcd member add through ${peer.name}: ${errorMessage(err)}`);
  }
  log(`${ctx.name}/${pod.metadata!.namespace}/${name}: etcd learner added through ${peer.name}`);
  const initial = (added.members ?? []).map((m) => `${m.name || name}=${m.peerURLs?.[0] ?? selfPeer}`);
  const learner = { id: added.member?.ID ?? '', peerIP: peer.ip! };
  return { initialCluster: initial.join(','), state: 'existing', learner };
}

function etcdArgs(
  pod: V1Pod,
  ip: string,
  peerHost: string,
  files: PodFiles,
  pki: string,
  dataDir: string,
  p: Plan
): string[] {
  const f = (n: string): string => files.need(`${pki}/${n}`);
  return [
    requireBinary(etcdPath()),
    `--name=${pod.metadata!.name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=https://${ip}:2379`,
    `--advertise-client-urls=https://${peerHost}:2379`,
    `--listen-peer-urls=https://${ip}:2380`,
    `--initial-advertise-peer-urls=https://${peerHost}:2380`,
    `--initial-cluster=${p.initialCluster}`,
    `--initial-cluster-state=${p.state}`,
    '--client-cert-auth=true',
    `--trusted-ca-file=${f('ca.crt')}`,
    `--cert-file=${f('server.crt')}`,
    `--key-file=${f('server.key')}`,
    '--peer-client-cert-auth=true',
    `--peer-trusted-ca-file=${f('ca.crt')}`,
    `--peer-cert-file=${f('peer.crt')}`,
    `--peer-key-file=${f('peer.key')}`,
    '--tls-min-version=TLS1.2',
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=5m',
    '--snapshot-count=10000',
    '--unsafe-no-fsync', // throw-away test data
    '--log-level=warn',
  ];
}

/** Where the etcd container mounts its `certs` volume. */
function pkiDir(pod: V1Pod): string {
  const m = mainContainer(pod, 'etcd').volumeMounts?.find((v) => v.name === 'certs');
  return (m?.mountPath ?? DEFAULT_PKI).replace(/\/+$/, '');
}

/** The name members use for this pod: <hostname>.<subdomain>.<ns>.svc, or its IP without a subdomain. */
function peerHost(pod: V1Pod, ip: string): string {
  const sub = pod.spec?.subdomain;
  return sub ? `${pod.spec?.hostname ?? pod.metadata!.name}.${sub}.${pod.metadata!.namespace}.svc` : ip;
}

export async function startEtcd(
  ctx: ClusterContext,
  pod: V1Pod,
  ip: string,
  place: PodPlace,
  onChange: () => void
): Promise<PodWorkload> {
  const key = `${ctx.name}/${pod.metadata!.namespace}/${pod.metadata!.name}`;
  const pki = pkiDir(pod);
  const files = new PodFiles(place.workDir, await podFiles(ctx.api.core, pod, 'etcd'));
  files.materialize();
  const ca = await files.pki('etcd', `${pki}/ca.crt`, `${pki}/ca.key`);
  const client = await ca.issue({ name: 'pod-double-etcd-client', cn: 'pod-double', usage: 'client' });
  const tls: Tls = { ca: files.need(`${pki}/ca.crt`), ...client };
  const host = peerHost(pod, ip);
  const proc = await withLock(ownerUid(pod), async () => {
    const p = await plan(ctx, pod, place, tls, `https://${host}:2380`);
    const etcd = new Supervised(
      {
        name: `${key} etcd`,
        logFile: join(place.logDir, 'etcd.log'),
        command: inPod(ctx.namesFor(pod), etcdArgs(pod, ip, host, files, pki, place.dataDir, p)),
      },
      onChange
    );
    etcd.start();
    // A joining member is a voting member before the next one may join.
    const learner = p.learner;
    if (learner)
      await retrying(`${key}: promote the etcd learner`, () =>
        etcdPost(learner.peerIP, '/v3/cluster/member/promote', { ID: learner.id }, tls)
      ).then(
        () => log(`${key}: etcd learner promoted`),
        (err: unknown) => log(`${key}: ${errorMessage(err)}`)
      );
    return etcd;
  });
  let removed = false;
  return {
    processes: [proc],
    probe: () => health(ip, tls),
    beforeStop: () =>
      withLock(ownerUid(pod), async () => {
        removed = await leave(ctx, pod, tls).catch((err: unknown) => {
          log(`${key}: member remove failed: ${errorMessage(err)}`);
          return false;
        });
      }),
    afterStop: () => {
      // A member that left its cluster cannot come back with its data: it joins afresh.
      if (removed) rmSync(place.dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** `member remove` of this pod through a Ready sibling; false when it is the last member. */
async function leave(ctx: ClusterContext, pod: V1Pod, tls: Tls): Promise<boolean> {
  const peer = siblings(ctx, pod).find((p) => p.ready && p.ip);
  if (!peer) return false;
  const self = (await members(peer.ip!, tls)).find((m) => m.name === pod.metadata!.name);
  if (!self) return true;
  await retrying(`member remove ${pod.metadata!.name}`, () =>
    etcdPost(peer.ip!, '/v3/cluster/member/remove', { ID: self.ID }, tls)
  );
  log(
    `${ctx.name}/${pod.metadata!.namespace}/${pod.metadata!.name}: etcd member removed through ${peer.name}`
  );
  return true;
}
