// A hosted control-plane pod as the pod TEST DOUBLE runs it, in place of k0s: a real
// kube-apiserver and kube-controller-manager configured from the pod's mounted certificates and its
// k0s ClusterConfig (env K0SMOTRON_K0S_YAML), the way k0s configures its controllers.
import type { V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyBootstrapRbac } from '../kube.js';
import { httpsGet } from '../net.js';
import { kubeApiserverPath, kubeControllerManagerPath, requireBinary } from '../paths.js';
import { type CertPaths, writeKubeconfig } from '../pki.js';
import { type K0sSettings, firstServiceIP, isIPv4, parseK0sConfig } from './k0s-config.js';
import { log } from './log.js';
import { PodFiles } from './pod-files.js';
import { K0S_PKI_DIR, NotReadyYet, containerEnv, mainContainer, podFiles } from './pod-spec.js';
import { Supervised, inPod } from './supervisor.js';
import type { ClusterContext, PodPlace, PodWorkload } from './types.js';

const pki = (f: string): string => `${K0S_PKI_DIR}/${f}`;
const KCM_PORT = 10257;
/** k0s's default etcdPrefix for an external etcd cluster. */
const DEFAULT_ETCD_PREFIX = 'k0s-tenant';

interface Datastore {
  args: string[];
  release?: () => Promise<void>;
}

async function datastore(
  ctx: ClusterContext,
  k0s: K0sSettings,
  files: PodFiles,
  place: PodPlace,
  user: string
): Promise<Datastore> {
  const ext = k0s.storage.type === 'etcd' ? k0s.storage.external : null;
  if (ext) {
    const tls = [
      ...(ext.caFile ? [`--etcd-cafile=${files.need(ext.caFile)}`] : []),
      ...(ext.clientCertFile ? [`--etcd-certfile=${files.need(ext.clientCertFile)}`] : []),
      ...(ext.clientKeyFile ? [`--etcd-keyfile=${files.need(ext.clientKeyFile)}`] : []),
    ];
    const prefix = ext.prefix ?? DEFAULT_ETCD_PREFIX;
    return { args: [`--etcd-servers=${ext.endpoints.join(',')}`, `--etcd-prefix=${prefix}`, ...tls] };
  }
  // kine (a SQL DSN the double cannot serve) or k0s's own etcd: a private etcd per StatefulSet.
  const dataDir = join(dirname(place.dataDir), 'private-etcd');
  const url = await ctx.privateEtcds.acquire(dataDir, user);
  log(
    `${user}: storage ${k0s.storage.type} is served by a private etcd (${url}), not by ${k0s.storage.type}`
  );
  return {
    args: [`--etcd-servers=${url}`],
    release: () => ctx.privateEtcds.release(dataDir, user),
  };
}

/** Serving certificate SANs as k0s makes them. */
function servingSans(k0s: K0sSettings, podIP: string, nodeIP: string): { ips: string[]; dns: string[] } {
  const names = [...k0s.sans, ...(k0s.externalAddress ? [k0s.externalAddress] : [])];
  const ips = [...names.filter(isIPv4), podIP, nodeIP, '127.0.0.1', firstServiceIP(k0s.serviceCIDR)];
  const dns = [
    ...names.filter((n) => !isIPv4(n) && !n.includes(':')),
    'localhost',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${k0s.clusterDomain}`,
  ];
  return { ips: [...new Set(ips)], dns: [...new Set(dns)] };
}

interface Certs {
  ca: string;
  serving: CertPaths;
  admin: CertPaths;
  kcm: CertPaths;
  proxyClient: CertPaths;
}

async function makeCerts(files: PodFiles, k0s: K0sSettings, podIP: string, nodeIP: string): Promise<Certs> {
  const cluster = await files.pki('cluster', pki('ca.crt'), pki('ca.key'));
  const frontProxy = await files.pki('front-proxy', pki('front-proxy-ca.crt'), pki('front-proxy-ca.key'));
  const [serving, admin, kcm, proxyClient] = await Promise.all([
    cluster.issue({
      name: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      ...servingSans(k0s, podIP, nodeIP),
    }),
    cluster.issue({ name: 'admin', cn: 'pod-double-admin', org: 'system:masters', usage: 'client' }),
    cluster.issue({ name: 'kube-controller-manager', cn: 'system:kube-controller-manager', usage: 'client' }),
    frontProxy.issue({ name: 'front-proxy-client', cn: 'front-proxy-client', usage: 'client' }),
  ]);
  return { ca: files.need(pki('ca.crt')), serving, admin, kcm, proxyClient };
}

function apiserverArgs(
  k0s: K0sSettings,
  files: PodFiles,
  certs: Certs,
  podIP: string,
  store: Datastore
): string[] {
  return [
    requireBinary(kubeApiserverPath()),
    ...store.args,
    `--bind-address=${podIP}`,
    `--advertise-address=${podIP}`,
    `--secure-port=${k0s.apiPort}`,
    `--cert-dir=${join(files.workDir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.serving.cert}`,
    `--tls-private-key-file=${certs.serving.key}`,
    `--client-ca-file=${certs.ca}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${files.need(pki('sa.pub'))}`,
    `--service-account-signing-key-file=${files.need(pki('sa.key'))}`,
    '--authorization-mode=Node,RBAC',
    `--requestheader-client-ca-file=${files.need(pki('front-proxy-ca.crt'))}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${certs.proxyClient.cert}`,
    `--proxy-client-key-file=${certs.proxyClient.key}`,
    `--service-cluster-ip-range=${k0s.serviceCIDR}`,
    '--enable-bootstrap-token-auth=true',
    // No kube-proxy serves the kubernetes Service's endpoints here: don't publish pod addresses.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

function controllerManagerArgs(
  files: PodFiles,
  k0s: K0sSettings,
  kubeconfig: string,
  podIP: string
): string[] {
  return [
    requireBinary(kubeControllerManagerPath()),
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${podIP}`,
    `--secure-port=${KCM_PORT}`,
    `--cert-dir=${join(files.workDir, 'controller-manager-certs')}`,
    '--controllers=*,bootstrapsigner,tokencleaner',
    `--service-account-private-key-file=${files.need(pki('sa.key'))}`,
    `--root-ca-file=${files.need(pki('ca.crt'))}`,
    `--cluster-signing-cert-file=${files.need(pki('ca.crt'))}`,
    `--cluster-signing-key-file=${files.need(pki('ca.key'))}`,
    `--service-cluster-ip-range=${k0s.serviceCIDR}`,
    '--use-service-account-credentials=true',
    '--profiling=false',
  ];
}

async function readK0sConfig(ctx: ClusterContext, pod: V1Pod): Promise<K0sSettings> {
  const container = mainContainer(pod, 'control-plane');
  const env = await containerEnv(ctx.api.core, pod, container);
  const text = env.K0SMOTRON_K0S_YAML;
  if (!text)
    throw new NotReadyYet(`container ${container.name} has no K0SMOTRON_K0S_YAML in its environment`);
  const k0s = parseK0sConfig(text);
  const apiPort = container.ports?.find((p) => p.name === 'api')?.containerPort;
  if (apiPort !== undefined && apiPort !== k0s.apiPort)
    log(`warning: container port "api" is ${apiPort} but the k0s config's spec.api.port is ${k0s.apiPort}`);
  return k0s;
}

export async function startControlPlane(
  ctx: ClusterContext,
  pod: V1Pod,
  podIP: string,
  place: PodPlace,
  onChange: () => void
): Promise<PodWorkload> {
  const key = `${ctx.name}/${pod.metadata!.namespace}/${pod.metadata!.name}`;
  const k0s = await readK0sConfig(ctx, pod);
  const files = new PodFiles(place.workDir, await podFiles(ctx.api.core, pod, 'control-plane'));
  files.materialize();
  const certs = await makeCerts(files, k0s, podIP, ctx.nodeIP);
  const store = await datastore(ctx, k0s, files, place, key);
  const server = `https://${podIP}:${k0s.apiPort}`;
  const kubeconfig = (name: string, cert: CertPaths): string => {
    const file = join(files.workDir, `${name}.kubeconfig`);
    writeKubeconfig(file, { server, caPem: readFileSync(certs.ca, 'utf8'), ...cert, name });
    return file;
  };
  const admin = kubeconfig('admin', certs.admin);
  const names = ctx.namesFor(pod);
  const apiserver = new Supervised(
    {
      name: `${key} kube-apiserver`,
      logFile: join(place.logDir, 'kube-apiserver.log'),
      command: inPod(names, apiserverArgs(k0s, files, certs, podIP, store)),
    },
    onChange
  );
  const kcm = new Supervised(
    {
      name: `${key} kube-controller-manager`,
      logFile: join(place.logDir, 'kube-controller-manager.log'),
      command: inPod(
        names,
        controllerManagerArgs(files, k0s, kubeconfig('kube-controller-manager', certs.kcm), podIP)
      ),
    },
    onChange
  );
  apiserver.start();
  const processes = [apiserver];
  return {
    processes,
    probe: async () =>
      (
        await httpsGet(`${server}/readyz`, { ca: certs.ca, ...certs.admin }, 2000).catch(() => ({
          status: 0,
        }))
      ).status === 200,
    // The controller manager starts once the API server answers (it would only crash-loop before).
    onReady: async () => {
      if (!processes.includes(kcm)) {
        processes.push(kcm);
        kcm.start();
      }
      await applyBootstrapRbac(admin, join(files.workDir, 'bootstrap-rbac.yaml'));
    },
    afterStop: async () => {
      await store.release?.();
    },
  };
}
