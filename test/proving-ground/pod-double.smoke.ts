// Smoke test of the pod TEST DOUBLE against fixtures shaped like k0sflow's hosted control plane
// (k0smotron v1.10.9's StatefulSets, Services, Secrets and ConfigMap), in the management cluster
// and in the second cluster:
//   npx tsx test/proving-ground/pod-double.smoke.ts [--dir /tmp/pgpod] [--hosts 1] [--keep] [--no-up]
// It runs `up --hosts N --second --no-capi` in DIR (unless --no-up: then DIR must be up already
// with --second), and `down` at the end (unless --keep or --no-up).
//
// Per cluster: a namespace with the Secrets (`c1-ca` ...), the ConfigMap `kmc-c1-config`, an etcd
// StatefulSet + headless Service and a control-plane StatefulSet + NodePort Service; then
//  1. pods Ready; `kubectl get ns` at https://<node IP>:<nodePort> with the CA we made as the only
//     trust anchor and an admin cert it signed; /readyz through the NodePort from an SSH host;
//  2. the API server process is killed: the pod goes not Ready, is restarted, Ready again;
//  3. a LoadBalancer Service gets an address that proxies to the API server;
//  4. control plane scaled to 2: each pod its own API server on its own IP, same datastore;
//     etcd scaled to 3 (members joined) and back to 1; control plane back to 1;
//  5. a kine-backed control plane (the double serves it from a private etcd) with 2 replicas
//     sharing it;
//  6. namespaces deleted: pods, processes and addresses gone.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { stringify } from 'yaml';
import { type ProvingGroundEnv, down, readEnv, readPodDoubleStatus, up } from './index.js';
import { kubectl } from './kube.js';
import { kubectlPath } from './paths.js';
import { type CertPaths, Pki } from './pki.js';

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/pgpod' },
    hosts: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    'no-up': { type: 'boolean', default: false },
  },
});
const DIR = args.dir;
const WORK = join(DIR, 'smoke');
const t0 = Date.now();
const say = (msg: string): void =>
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`FAILED: ${what}`);
  say(`ok: ${what}`);
}

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== false) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out: ${what} ${last}`);
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Pkis {
  dir: string;
  ca: Pki;
  etcd: Pki;
  admin: CertPaths;
}

const tls = (c: CertPaths): Record<string, string> => ({
  'tls.crt': readFileSync(c.cert).toString('base64'),
  'tls.key': readFileSync(c.key).toString('base64'),
});

function secret(ns: string, name: string, data: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'cluster.x-k8s.io/secret',
    data,
  };
}

/** The Secrets k0sflow makes (CAPI names `<cluster>-<purpose>`, keys tls.crt/tls.key). */
async function secrets(ns: string, c: string): Promise<{ objects: object[]; pkis: Pkis }> {
  const dir = join(WORK, ns, c);
  rmSync(dir, { recursive: true, force: true });
  const ca = await Pki.create(join(dir, 'ca'), `${c}-ca`);
  const proxy = await Pki.create(join(dir, 'proxy'), `${c}-front-proxy-ca`);
  const etcd = await Pki.create(join(dir, 'etcd'), `${c}-etcd-ca`);
  const sa = await ca.serviceAccountKey();
  const svc = `kmc-${c}-etcd`;
  const dns = [
    svc,
    `${svc}.${ns}`,
    `${svc}.${ns}.svc`,
    `${svc}.${ns}.svc.cluster.local`,
    `*.${svc}.${ns}.svc`,
    `*.${svc}.${ns}.svc.cluster.local`,
    'localhost',
  ];
  const [server, peer, client, admin] = await Promise.all([
    etcd.issue({ name: 'server', cn: 'etcd-server', usage: 'both', dns, ips: ['127.0.0.1'] }),
    etcd.issue({ name: 'peer', cn: 'etcd-peer', usage: 'both', dns, ips: ['127.0.0.1'] }),
    etcd.issue({ name: 'apiserver-etcd-client', cn: 'apiserver-etcd-client', usage: 'client' }),
    ca.issue({ name: 'admin', cn: 'smoke-admin', org: 'system:masters', usage: 'client' }),
  ]);
  const objects = [
    secret(ns, `${c}-ca`, tls(ca.ca)),
    secret(ns, `${c}-sa`, tls({ cert: sa.pub, key: sa.key })),
    secret(ns, `${c}-proxy`, tls(proxy.ca)),
    secret(ns, `${c}-etcd`, tls(etcd.ca)),
    secret(ns, `${c}-etcd-server`, tls(server)),
    secret(ns, `${c}-etcd-peer`, tls(peer)),
    secret(ns, `${c}-apiserver-etcd-client`, tls(client)),
  ];
  return { objects, pkis: { dir, ca, etcd, admin } };
}

const PKI = '/var/lib/k0s/pki';
const labels = (c: string, component: string): Record<string, string> => ({
  'app.kubernetes.io/managed-by': 'k0sflow',
  'app.kubernetes.io/component': component,
  app: 'k0smotron',
  cluster: c,
});
const cpSelector = (c: string): Record<string, string> => ({
  app: 'k0smotron',
  cluster: c,
  component: 'cluster',
});
const etcdSelector = (c: string): Record<string, string> => ({
  app: 'k0smotron',
  cluster: c,
  component: 'etcd',
});

function k0sConfig(c: string, ns: string, apiPort: number, nodeIP: string, kine: boolean): string {
  const storage = kine
    ? { type: 'kine', kine: { dataSource: 'postgres://user:pw@db.example:5432/k0s' } }
    : {
        type: 'etcd',
        etcd: {
          externalCluster: {
            endpoints: [`https://kmc-${c}-etcd:2379`],
            etcdPrefix: c,
            caFile: `${PKI}/etcd-ca.crt`,
            clientCertFile: `${PKI}/apiserver-etcd-client.crt`,
            clientKeyFile: `${PKI}/apiserver-etcd-client.key`,
          },
        },
      };
  return stringify({
    apiVersion: 'k0s.k0sproject.io/v1beta1',
    kind: 'ClusterConfig',
    metadata: { name: 'k0s' },
    spec: {
      api: { port: apiPort, sans: [nodeIP, `kmc-${c}-nodeport.${ns}.svc`], externalAddress: nodeIP },
      network: { serviceCIDR: '10.128.0.0/16', clusterDomain: 'cluster.local' },
      storage,
    },
  });
}

const projection = (name: string, items: [string, string][]): object => ({
  secret: { name, items: items.map(([key, path]) => ({ key, path })) },
});

function controlPlane(c: string, ns: string, apiPort: number, kine: boolean): object[] {
  const l = { ...labels(c, 'control-plane'), ...cpSelector(c) };
  const sources = [
    projection(`${c}-ca`, [
      ['tls.crt', 'ca.crt'],
      ['tls.key', 'ca.key'],
    ]),
    projection(`${c}-sa`, [
      ['tls.crt', 'sa.pub'],
      ['tls.key', 'sa.key'],
    ]),
    projection(`${c}-proxy`, [
      ['tls.crt', 'front-proxy-ca.crt'],
      ['tls.key', 'front-proxy-ca.key'],
    ]),
    projection(`${c}-etcd`, [
      ['tls.crt', 'etcd-ca.crt'],
      ['tls.key', 'etcd-ca.key'],
    ]),
    ...(kine
      ? []
      : [
          projection(`${c}-apiserver-etcd-client`, [
            ['tls.crt', 'apiserver-etcd-client.crt'],
            ['tls.key', 'apiserver-etcd-client.key'],
          ]),
        ]),
  ];
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: `kmc-${c}`, namespace: ns, labels: l },
    spec: {
      replicas: 1,
      serviceName: `kmc-${c}`,
      selector: { matchLabels: cpSelector(c) },
      template: {
        metadata: { labels: l },
        spec: {
          automountServiceAccountToken: false,
          initContainers: [
            {
              name: 'certs-init',
              image: 'quay.io/k0sproject/k0s:v1.27.9-k0s.0',
              command: ['sh', '-c', `mkdir -p ${PKI} && cp /certs-init/*.* ${PKI}/`],
              volumeMounts: [
                { name: 'certs', mountPath: '/certs-init' },
                { name: `kmc-${c}`, mountPath: '/var/lib/k0s' },
              ],
            },
          ],
          containers: [
            {
              name: 'controller',
              image: 'quay.io/k0sproject/k0s:v1.27.9-k0s.0',
              args: ['/bin/sh', '-c', '/k0smotron-entrypoint.sh'],
              ports: [
                { name: 'api', containerPort: apiPort, protocol: 'TCP' },
                { name: 'konnectivity', containerPort: 8132, protocol: 'TCP' },
              ],
              envFrom: [{ configMapRef: { name: `kmc-${c}-config` } }],
              volumeMounts: [{ name: `kmc-${c}`, mountPath: '/var/lib/k0s' }],
            },
          ],
          volumes: [
            { name: 'certs', projected: { sources } },
            { name: `kmc-${c}`, emptyDir: {} },
          ],
        },
      },
    },
  };
  const clusterIP = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `kmc-${c}`, namespace: ns, labels: l },
    spec: {
      type: 'ClusterIP',
      selector: cpSelector(c),
      ports: [{ name: 'api', port: apiPort, targetPort: 'api' }],
    },
  };
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `kmc-${c}-nodeport`, namespace: ns, labels: l },
    spec: {
      type: 'NodePort',
      selector: cpSelector(c),
      ports: [{ name: 'api', port: apiPort, targetPort: 'api', nodePort: apiPort, protocol: 'TCP' }],
    },
  };
  return [sts, svc, clusterIP];
}

function etcdObjects(c: string, ns: string): object[] {
  const name = `kmc-${c}-etcd`;
  const l = { ...labels(c, 'etcd'), ...etcdSelector(c) };
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: l },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: etcdSelector(c),
      ports: [
        { name: 'client', port: 2379, targetPort: 2379 },
        { name: 'peer', port: 2380, targetPort: 2380 },
      ],
    },
  };
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns, labels: l },
    spec: {
      replicas: 1,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: etcdSelector(c) },
      volumeClaimTemplates: [
        {
          metadata: { name: 'etcd-data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      template: {
        metadata: { labels: l },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'etcd',
              image: 'quay.io/k0sproject/etcd:v3.5.13',
              command: ['/bin/sh', '-c', 'exec etcd ...'],
              ports: [
                { name: 'client', containerPort: 2379 },
                { name: 'peer', containerPort: 2380 },
              ],
              volumeMounts: [
                { name: 'certs', mountPath: `${PKI}/etcd`, readOnly: true },
                { name: 'etcd-data', mountPath: '/var/lib/k0s/etcd' },
              ],
            },
          ],
          volumes: [
            {
              name: 'certs',
              projected: {
                sources: [
                  projection(`${c}-etcd`, [
                    ['tls.crt', 'ca.crt'],
                    ['tls.key', 'ca.key'],
                  ]),
                  projection(`${c}-etcd-server`, [
                    ['tls.crt', 'server.crt'],
                    ['tls.key', 'server.key'],
                  ]),
                  projection(`${c}-etcd-peer`, [
                    ['tls.crt', 'peer.crt'],
                    ['tls.key', 'peer.key'],
                  ]),
                ],
              },
            },
          ],
        },
      },
    },
  };
  return [svc, sts];
}

// ---------------------------------------------------------------------------------------------
// Checks

interface Target {
  cluster: string;
  kubeconfig: string;
  nodeIP: string;
}

async function apply(kubeconfig: string, objects: object[], file: string): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  await kubectl(kubeconfig, ['apply', '-f', file]);
}

interface PodJson {
  metadata: { name: string };
  status?: { podIP?: string; conditions?: { type: string; status: string }[] };
}

async function pods(kubeconfig: string, ns: string, selector: string): Promise<PodJson[]> {
  const out = await kubectl(kubeconfig, ['get', 'pods', '-n', ns, '-l', selector, '-o', 'json']);
  return (JSON.parse(out) as { items: PodJson[] }).items;
}

const isReady = (p: PodJson): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function readyPods(
  kubeconfig: string,
  ns: string,
  selector: string,
  count: number
): Promise<PodJson[]> {
  return until(`${count} Ready pods ${selector} in ${ns}`, async () => {
    const list = await pods(kubeconfig, ns, selector);
    return list.length === count && list.every(isReady) ? list : null;
  });
}

/** kubectl against a hosted API server with only our CA as trust anchor and our admin cert. */
async function hostedKubectl(
  server: string,
  p: Pkis,
  args: string[],
  tlsServerName?: string
): Promise<string> {
  const { stdout } = await run(kubectlPath(), [
    `--server=${server}`,
    `--certificate-authority=${p.ca.ca.cert}`,
    `--client-certificate=${p.admin.cert}`,
    `--client-key=${p.admin.key}`,
    ...(tlsServerName ? [`--tls-server-name=${tlsServerName}`] : []),
    '--request-timeout=20s',
    ...args,
  ]);
  return stdout;
}

async function sshCurl(env: ProvingGroundEnv, url: string): Promise<string> {
  const h = env.hosts[0]!;
  const { stdout } = await run('ssh', [
    '-i',
    h.privateKeyFile,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(h.port),
    `root@${h.address}`,
    `curl -sk --max-time 10 ${url}`,
  ]);
  return stdout;
}

function etcdMembers(ip: string, p: Pkis): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const client = join(p.dir, 'etcd', 'apiserver-etcd-client');
    const req = request(
      `https://${ip}:2379/v3/cluster/member/list`,
      {
        method: 'POST',
        servername: 'localhost',
        ca: readFileSync(p.etcd.ca.cert),
        cert: readFileSync(`${client}.crt`),
        key: readFileSync(`${client}.key`),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve(
            ((JSON.parse(body) as { members?: { name?: string }[] }).members ?? []).map((m) => m.name ?? '')
          )
        );
      }
    );
    req.on('error', reject);
    req.end('{}');
  });
}

async function scale(kubeconfig: string, ns: string, sts: string, replicas: number): Promise<void> {
  await kubectl(kubeconfig, ['scale', '-n', ns, `statefulset/${sts}`, `--replicas=${replicas}`]);
}

function podProcesses(cluster: string, ns: string): Promise<string[]> {
  return run('pgrep', ['-af', `/pod-double/${cluster}/pods/${ns}/`]).then(
    ({ stdout }) => stdout.trim().split('\n').filter(Boolean),
    () => []
  );
}

const figures = new Map<string, string>();
/** ClusterIPs the double served: aliases on lo until their Services go. */
const clusterIPs: string[] = [];

/** Start-to-Ready times and RSS of the Ready pods of `ns` (status.json is rewritten every 2 s). */
async function recordFigures(cluster: string, ns: string): Promise<void> {
  await sleep(2500);
  const status = readPodDoubleStatus(DIR);
  for (const p of status?.pods ?? []) {
    if (p.cluster !== cluster || p.namespace !== ns || !p.ready) continue;
    const rss = p.processes.map((x) => `${x.name.split(' ').pop()} ${x.rssMiB} MiB`).join(', ');
    figures.set(
      `${cluster}/${ns}/${p.name}`,
      `created→Ready ${p.createdToReadyMs} ms, seen→Ready ${p.seenToReadyMs} ms; ${rss}`
    );
  }
  for (const e of status?.clusters.find((c) => c.name === cluster)?.privateEtcds ?? [])
    figures.set(`${cluster} private etcd ${e.dataDir.split('/').slice(-3, -1).join('/')}`, `${e.rssMiB} MiB`);
  if (status) figures.set('pod-double process', `${status.rssMiB} MiB`);
}

/** The API server of `pod` is killed: the pod goes not Ready, the process is restarted, Ready again. */
async function crash(t: Target, ns: string, pod: string): Promise<void> {
  const report = readPodDoubleStatus(DIR)?.pods.find((p) => p.cluster === t.cluster && p.name === pod);
  const pid = report?.processes.find((p) => p.name.endsWith('kube-apiserver'))?.pid;
  if (!pid) throw new Error(`no kube-apiserver pid for ${pod}`);
  process.kill(pid, 'SIGKILL');
  const json = async (): Promise<{ ready: boolean; restarts: number }> => {
    const out = await kubectl(t.kubeconfig, ['get', 'pod', '-n', ns, pod, '-o', 'json']);
    const p = JSON.parse(out) as PodJson & { status: { containerStatuses?: { restartCount: number }[] } };
    return { ready: isReady(p), restarts: p.status.containerStatuses?.[0]?.restartCount ?? 0 };
  };
  await until('pod not Ready after its API server died', async () => !(await json()).ready, 30_000);
  check(true, `${t.cluster}: ${pod} not Ready once its kube-apiserver (pid ${pid}) was killed`);
  const back = await until('pod Ready again', async () => ((await json()).ready ? json() : null), 90_000);
  check(back.restarts >= 1, `${t.cluster}: ${pod} Ready again, restartCount ${back.restarts}`);
}

/** None of `ips` is in use by the double (status.json, rewritten every 2 s) or an alias on a device. */
async function addressesReleased(ips: string[]): Promise<boolean> {
  const inUse = readPodDoubleStatus(DIR)?.addressesInUse ?? [];
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  return !ips.some((ip) => inUse.includes(ip) || stdout.includes(` ${ip}/32`));
}

async function nodePortChecks(
  env: ProvingGroundEnv,
  t: Target,
  ns: string,
  apiPort: number,
  p: Pkis
): Promise<void> {
  const server = `https://${t.nodeIP}:${apiPort}`;
  const out = await until('kubectl get ns through the NodePort', () =>
    hostedKubectl(server, p, ['get', 'ns', '-o', 'name'])
  );
  check(
    out.includes('namespace/kube-system'),
    `${t.cluster}: kubectl get ns at ${server}, CA = ours (serving cert chains to it)`
  );
  const rbac = await hostedKubectl(server, p, [
    'get',
    'clusterrolebinding',
    'kubelet-bootstrap',
    '-o',
    'name',
  ]);
  check(rbac.includes('kubelet-bootstrap'), `${t.cluster}: kubelet TLS bootstrap RBAC applied`);
  if (env.hosts.length === 0) return;
  const fromHost = await until(
    'curl from the SSH host',
    async () => ((await sshCurl(env, `${server}/readyz`)) === 'ok' ? 'ok' : null),
    60_000
  );
  check(fromHost === 'ok', `${t.cluster}: /readyz through the NodePort from ${env.hosts[0]!.name}`);
}

/** The StatefulSet's ClusterIP Service `kmc-c1`: its ClusterIP proxies to the API server (this machine only). */
async function clusterIPCheck(t: Target, ns: string, c: string, apiPort: number, p: Pkis): Promise<string> {
  const ip = (
    await kubectl(t.kubeconfig, ['get', 'svc', '-n', ns, `kmc-${c}`, '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();
  const out = await until(
    'kubectl through the ClusterIP',
    () => hostedKubectl(`https://${ip}:${apiPort}`, p, ['get', 'ns', '-o', 'name'], 'kubernetes'),
    30_000
  );
  check(
    out.includes('namespace/default'),
    `${t.cluster}: ClusterIP ${ip}:${apiPort} proxies to the API server`
  );
  return ip;
}

async function loadBalancerCheck(t: Target, ns: string, c: string, apiPort: number, p: Pkis): Promise<void> {
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `kmc-${c}-lb`, namespace: ns },
    spec: {
      type: 'LoadBalancer',
      selector: cpSelector(c),
      ports: [{ name: 'api', port: apiPort, targetPort: 'api' }],
    },
  };
  await apply(t.kubeconfig, [svc], join(WORK, `${t.cluster}-${ns}-lb.yaml`));
  const ip = await until(
    'LoadBalancer ingress',
    async () => {
      const out = await kubectl(t.kubeconfig, [
        'get',
        'svc',
        '-n',
        ns,
        `kmc-${c}-lb`,
        '-o',
        'jsonpath={.status.loadBalancer.ingress[0].ip}',
      ]);
      return out.trim() || null;
    },
    30_000
  );
  const out = await until(
    'kubectl through the LoadBalancer',
    () => hostedKubectl(`https://${ip}:${apiPort}`, p, ['get', 'ns', '-o', 'name'], 'kubernetes'),
    30_000
  );
  check(
    out.includes('namespace/default'),
    `${t.cluster}: LoadBalancer ${ip}:${apiPort} proxies to the API server`
  );
  await kubectl(t.kubeconfig, ['delete', 'svc', '-n', ns, `kmc-${c}-lb`]);
  await until(
    'LoadBalancer address released',
    () => Promise.resolve(!(readPodDoubleStatus(DIR)?.addressesInUse ?? []).includes(ip)),
    30_000
  );
  check(true, `${t.cluster}: LoadBalancer address ${ip} released with its Service`);
}

async function sharedDatastore(ips: string[], apiPort: number, p: Pkis, what: string): Promise<void> {
  const name = `smoke-${Date.now()}`;
  await hostedKubectl(`https://${ips[0]}:${apiPort}`, p, ['create', 'configmap', name, '-n', 'default']);
  const out = await hostedKubectl(`https://${ips[1]}:${apiPort}`, p, [
    'get',
    'configmap',
    name,
    '-n',
    'default',
    '-o',
    'name',
  ]);
  check(out.includes(name), `${what}: two API servers (${ips.join(', ')}) share the datastore`);
}

async function scaling(t: Target, ns: string, c: string, apiPort: number, p: Pkis): Promise<void> {
  const cpSel = 'app.kubernetes.io/component=control-plane';
  await scale(t.kubeconfig, ns, `kmc-${c}`, 2);
  const two = await readyPods(t.kubeconfig, ns, cpSel, 2);
  const ips = two.map((x) => x.status!.podIP!);
  check(
    new Set(ips).size === 2,
    `${t.cluster}: 2 control-plane pods, each its own address (${ips.join(', ')})`
  );
  await sharedDatastore(ips, apiPort, p, `${t.cluster}: etcd-backed control plane`);

  await scale(t.kubeconfig, ns, `kmc-${c}-etcd`, 3);
  const etcds = await readyPods(t.kubeconfig, ns, 'app.kubernetes.io/component=etcd', 3);
  const members = await etcdMembers(etcds[0]!.status!.podIP!, p);
  check(members.length === 3, `${t.cluster}: etcd scaled to 3 members (${members.join(', ')})`);
  await recordFigures(t.cluster, ns);
  await scale(t.kubeconfig, ns, `kmc-${c}-etcd`, 1);
  const one = await readyPods(t.kubeconfig, ns, 'app.kubernetes.io/component=etcd', 1);
  check((await etcdMembers(one[0]!.status!.podIP!, p)).length === 1, `${t.cluster}: etcd back to 1 member`);
  await sharedDatastore(ips, apiPort, p, `${t.cluster}: after etcd scale-down`);

  await scale(t.kubeconfig, ns, `kmc-${c}`, 1);
  await readyPods(t.kubeconfig, ns, cpSel, 1);
  const gone = await until(
    'pod 1 stopped',
    async () => {
      const left = await podProcesses(t.cluster, ns);
      return left.some((l) => l.includes(`/kmc-${c}-1/`)) ? null : left;
    },
    30_000
  );
  check(gone.length > 0, `${t.cluster}: scaled back to 1, kmc-${c}-1's processes gone`);
  await until('address released', () => addressesReleased([ips[1]!]), 30_000);
  check(true, `${t.cluster}: kmc-${c}-1's address ${ips[1]} released (no alias left)`);
}

async function kineControlPlane(t: Target, ns: string, apiPort: number): Promise<void> {
  const c = 'k1';
  const { objects, pkis } = await secrets(ns, c);
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `kmc-${c}-config`, namespace: ns },
    data: { K0SMOTRON_K0S_YAML: k0sConfig(c, ns, apiPort, t.nodeIP, true) },
  };
  const [sts, ...services] = controlPlane(c, ns, apiPort, true) as [{ spec: { replicas: number } }, object];
  sts.spec.replicas = 2;
  await apply(t.kubeconfig, [...objects, cm, sts, ...services], join(WORK, `${t.cluster}-${ns}-kine.yaml`));
  const two = await readyPods(t.kubeconfig, ns, `cluster=${c}`, 2);
  await sharedDatastore(
    two.map((x) => x.status!.podIP!),
    apiPort,
    pkis,
    `${t.cluster}: kine control plane (private etcd)`
  );
  await recordFigures(t.cluster, ns);
}

async function scenario(env: ProvingGroundEnv, t: Target): Promise<string[]> {
  const ns = `pd-smoke-${t.cluster}`;
  const c = 'c1';
  const apiPort = 30000 + Math.floor(Math.random() * 1000) * 2;
  say(`--- ${t.cluster}: namespace ${ns}, API port/nodePort ${apiPort}, node ${t.nodeIP}`);
  await kubectl(t.kubeconfig, ['create', 'ns', ns]);
  const { objects, pkis } = await secrets(ns, c);
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `kmc-${c}-config`, namespace: ns },
    data: { K0SMOTRON_K0S_YAML: k0sConfig(c, ns, apiPort, t.nodeIP, false) },
  };
  await apply(
    t.kubeconfig,
    [...objects, cm, ...etcdObjects(c, ns), ...controlPlane(c, ns, apiPort, false)],
    join(WORK, `${t.cluster}-${ns}.yaml`)
  );
  const ready = await readyPods(t.kubeconfig, ns, `cluster=${c}`, 2);
  check(ready.length === 2, `${t.cluster}: etcd and control-plane pods Ready`);
  await recordFigures(t.cluster, ns);
  await nodePortChecks(env, t, ns, apiPort, pkis);
  await crash(t, ns, `kmc-${c}-0`);
  clusterIPs.push(await clusterIPCheck(t, ns, c, apiPort, pkis));
  await loadBalancerCheck(t, ns, c, apiPort, pkis);
  await scaling(t, ns, c, apiPort, pkis);
  const kineNs = `${ns}-kine`;
  await kubectl(t.kubeconfig, ['create', 'ns', kineNs]);
  await kineControlPlane(t, kineNs, apiPort + 1);
  return [ns, kineNs];
}

async function deletion(t: Target, namespaces: string[]): Promise<void> {
  const before =
    readPodDoubleStatus(DIR)?.pods.filter(
      (p) => p.cluster === t.cluster && namespaces.includes(p.namespace)
    ) ?? [];
  const ips = before.map((p) => p.ip).filter((x): x is string => x !== null);
  await kubectl(t.kubeconfig, ['delete', 'ns', ...namespaces, '--wait=true', '--timeout=180s'], 200_000);
  check(true, `${t.cluster}: namespaces ${namespaces.join(', ')} deleted`);
  for (const ns of namespaces)
    check((await podProcesses(t.cluster, ns)).length === 0, `${t.cluster}: no process of ${ns} left`);
  await until('addresses released', () => addressesReleased([...ips, ...clusterIPs]), 30_000);
  check(true, `${t.cluster}: addresses ${[...ips, ...clusterIPs].join(', ')} released (no alias left)`);
  clusterIPs.length = 0;
}

async function main(): Promise<void> {
  const hosts = Number(args.hosts);
  const env = args['no-up']
    ? readEnv(DIR)
    : await up({ dir: DIR, hosts, second: true, capi: false, install: false });
  say('proving ground up');
  if (!env.podDouble || !env.second) throw new Error('needs the pod double and the second cluster');
  const targets: Target[] = [
    {
      cluster: 'management',
      kubeconfig: env.management.kubeconfig,
      nodeIP: env.podDouble.nodeAddresses.management,
    },
    { cluster: 'second', kubeconfig: env.second.kubeconfig, nodeIP: env.podDouble.nodeAddresses.second! },
  ];
  for (const t of targets) {
    const namespaces = await scenario(env, t);
    await deletion(t, namespaces);
  }
  say('all checks passed; figures:');
  for (const [k, v] of figures) console.log(`  ${k}: ${v}`);
}

try {
  await main();
  if (!args.keep && !args['no-up']) await down(DIR);
  process.exit(0);
} catch (err) {
  console.error((err as Error).stack ?? err);
  console.error(`logs: ${DIR}/logs/pod-double.log, ${DIR}/logs/pods/`);
  process.exit(1);
}
