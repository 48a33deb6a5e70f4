// A Kubernetes control plane without nodes: etcd + kube-apiserver + kube-controller-manager, with
// its own CA. Used for the management cluster and for the second (management-like) cluster.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpsGet, waitFor } from './net.js';
import {
  etcdPath,
  kubeApiserverPath,
  kubeControllerManagerPath,
  kubectlPath,
  requireBinary,
} from './paths.js';
import { type CertPaths, Pki, writeKubeconfig } from './pki.js';
import { firstServiceIP } from './pod-double/k0s-config.js';
import { type ProcessRecord, isRunning, logTail, startProcess } from './procs.js';

const run = promisify(execFile);

export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
}

export interface ClusterOptions {
  dir: string;
  /** `management` or `second`: names the processes, directories and kubeconfig. */
  name: string;
  ports: ClusterPorts;
  /** Address the API server binds to and advertises (127.0.0.1, or an address the SSH hosts reach). */
  address: string;
  /**
   * Service ClusterIP range (default 10.96.0.0/12). The clusters get distinct ones: the pod double
   * makes served ClusterIPs local addresses of this machine.
   */
  serviceCIDR?: string;
}

export interface Cluster {
  name: string;
  server: string;
  kubeconfig: string;
  pki: Pki;
  admin: CertPaths;
}

function deadCheck(rec: ProcessRecord): () => string | null {
  return () => (isRunning(rec) ? null : `${rec.name} exited; log ${rec.log}:\n${logTail(rec.log)}`);
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const { dir, name, ports, address } = opts;
  const serviceCIDR = opts.serviceCIDR ?? '10.96.0.0/12';
  const base = join(dir, name);
  mkdirSync(base, { recursive: true });

  // --- PKI ---
  const pki = await Pki.create(join(base, 'pki'), `k0sflow-proving-ground-${name}-ca`);
  // Front-proxy CA: only for the requestheader authenticator (aggregated API servers, e.g. a metrics
  // server later); without it every controller manager logs "missing content for CA bundle".
  const frontProxy = await Pki.create(
    join(base, 'pki', 'front-proxy'),
    `k0sflow-proving-ground-${name}-front-proxy-ca`
  );
  const [serving, admin, sa, proxyClient] = await Promise.all([
    pki.issue({
      name: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      ips: [...new Set(['127.0.0.1', address, firstServiceIP(serviceCIDR)])],
      dns: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
    }),
    pki.issue({ name: 'admin', cn: 'kubernetes-admin', org: 'system:masters', usage: 'client' }),
    pki.serviceAccountKey(),
    frontProxy.issue({ name: 'front-proxy-client', cn: 'front-proxy-client', usage: 'client' }),
  ]);
  const server = `https://${address}:${ports.apiserver}`;
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  writeKubeconfig(kubeconfig, { server, caPem: pki.caPem(), cert: admin.cert, key: admin.key, name });

  // --- etcd ---
  const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  const etcd = startProcess(
    dir,
    `${name}-etcd`,
    [
      requireBinary(etcdPath()),
      '--name=default',
      `--data-dir=${join(base, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync', // throw-away test data: no fsync, much faster on slow disks
      '--log-level=warn',
    ],
    { stopWave: 1 }
  );
  await waitFor(
    `${name} etcd`,
    async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(1000) });
      return res.ok;
    },
    { timeoutMs: 30_000, intervalMs: 100, alive: deadCheck(etcd) }
  );

  // --- kube-apiserver ---
  const apiserver = startProcess(dir, `${name}-apiserver`, [
    requireBinary(kubeApiserverPath()),
    `--etcd-servers=${etcdUrl}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(base, 'apiserver-certs')}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${sa.pub}`,
    `--service-account-signing-key-file=${sa.key}`,
    '--authorization-mode=RBAC,Node',
    `--requestheader-client-ca-file=${frontProxy.ca.cert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${proxyClient.cert}`,
    `--proxy-client-key-file=${proxyClient.key}`,
    `--service-cluster-ip-range=${serviceCIDR}`,
    // No nodes or kube-proxy here: don't publish the loopback address as the kubernetes Service's endpoint.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
  ]);
  const tls = { ca: pki.ca.cert, cert: admin.cert, key: admin.key };
  await waitFor(
    `${name} kube-apiserver ${server}`,
    async () => (await httpsGet(`${server}/readyz`, tls)).status === 200,
    { timeoutMs: 90_000, intervalMs: 250, alive: deadCheck(apiserver) }
  );

  // --- kube-controller-manager ---
  const kcm = startProcess(dir, `${name}-controller-manager`, [
    requireBinary(kubeControllerManagerPath()),
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.controllerManager}`,
    `--cert-dir=${join(base, 'controller-manager-certs')}`,
    '--leader-elect=false',
    '--controllers=*',
    `--service-account-private-key-file=${sa.key}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    '--use-service-account-credentials=false',
    '--profiling=false',
  ]);
  await waitFor(
    `${name} kube-controller-manager`,
    async () =>
      (await httpsGet(`https://127.0.0.1:${ports.controllerManager}/healthz`, { insecure: true })).status ===
      200,
    { timeoutMs: 60_000, intervalMs: 250, alive: deadCheck(kcm) }
  );
  return { name, server, kubeconfig, pki, admin };
}

/**
 * What kubeadm or k0s would set up so that a kubelet joining with a bootstrap token may create a
 * CSR, gets it approved, and may renew its certificate later. Written to `file`, then applied. The
 * pod double applies it to every hosted control plane it runs (as k0s does for its controllers).
 */
export async function applyBootstrapRbac(kubeconfig: string, file: string): Promise<void> {
  const binding = (
    name: string,
    role: string,
    group: string
  ): string => `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ${name}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ${role}
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: ${group}
`;
  writeFileSync(
    file,
    [
      binding('kubelet-bootstrap', 'system:node-bootstrapper', 'system:bootstrappers'),
      binding(
        'node-autoapprove-bootstrap',
        'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
        'system:bootstrappers'
      ),
      binding(
        'node-autoapprove-certificate-rotation',
        'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
        'system:nodes'
      ),
    ].join('---\n')
  );
  await kubectl(kubeconfig, ['apply', '--server-side', '--field-manager=proving-ground', '-f', file]);
}

/** Runs the proving ground's kubectl; rejects with its stderr. */
export async function kubectl(kubeconfig: string, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run(requireBinary(kubectlPath()), [`--kubeconfig=${kubeconfig}`, ...args], {
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}
