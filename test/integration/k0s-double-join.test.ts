// The k0s TEST DOUBLE (test/k0s-double/k0s — not k0s) joining a real child cluster the way a kubelet
// does: a hosted control plane served by the pod double (a real kube-apiserver and
// kube-controller-manager), a worker bootstrap token in it, the token file on a proving-ground host,
// k0smotron's install and start chain; then what the child's API server holds: the approved CSR, the
// Node, its Lease. And the failures a real worker meets: a wrong token secret, a CA that does not
// verify the server, a token file that is no k0s token.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1Node } from '@kubernetes/client-node';
import type { Client } from 'ssh2';

import type { BootstrapToken } from '../../src/activities/join-token.js';
import {
  createChildCluster,
  createJoinToken,
  deleteChildCluster,
  kubeconfigServerAndCa,
  tokenFile,
  type ChildCluster,
} from '../harness/child-cluster.js';
import {
  createNamespace,
  eventually,
  managementKube,
  provingGround,
  rejection,
  startK0sflow,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { CLEAN_HOST, K0S_PATH, connectHost, parseCalls, runOn } from '../harness/hosts.js';
import { START_CHAIN } from '../harness/machines.js';
import type { SshHost } from '../proving-ground/index.js';

const TOKEN = '/etc/k0s.token';
const CONTROLLER_TOKEN = '/etc/k0s-double-join-test-controller.token';
const KUBELET_DIR = '/var/lib/k0s-double/kubelet';

const install = (machine: string): string =>
  `${K0S_PATH} install worker --token-file ${TOKEN} --labels=k0smotron.io/machine-name=${machine} ` +
  `'--kubelet-extra-args=--hostname-override=${machine}'`;

const readyCondition = (node: V1Node): { status?: string; reason?: string } | undefined =>
  node.status?.conditions?.find((c) => c.type === 'Ready');

describe('k0s test double joins a hosted child cluster as a kubelet would', () => {
  const env = provingGround();
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess | undefined;
  let child: ChildCluster;
  const conns: Client[] = [];
  let hosts: SshHost[];

  const run = async (
    i: number,
    command: string
  ): Promise<{ code: number | null; stdout: string; stderr: string }> => runOn(conns[i]!, command);
  const notes = async (i: number): Promise<string[]> =>
    parseCalls((await run(i, 'cat /var/lib/k0s-double/calls.log')).stdout).notes;
  const joinNotes = async (i: number): Promise<string[]> =>
    (await notes(i)).filter((n) => n.startsWith('join: '));
  const nodeMissing = async (name: string): Promise<void> =>
    expect(await rejection(child.core.readNode({ name }))).toMatch(/not found/);
  const csrsOf = async (token: BootstrapToken) =>
    (await child.certificates.listCertificateSigningRequest()).items.filter(
      (c) => c.spec.username === `system:bootstrap:${token.id}`
    );
  const renewTime = async (name: string): Promise<number> => {
    const lease = await child.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name });
    return new Date(lease.spec?.renewTime ?? 0).getTime();
  };

  /** Host i as a fresh machine with the double downloaded the way cloud-init does, and `token` in TOKEN. */
  const prepare = async (i: number, token: string): Promise<void> => {
    const prepared = await run(
      i,
      `${CLEAN_HOST}; curl -sSfL --retry 5 ${env.k0sDownloadURL} -o ${K0S_PATH} && chmod +x ${K0S_PATH} && ` +
        `printf %s '${token}' > ${TOKEN} && chmod 600 ${TOKEN}`
    );
    expect(prepared.code).toBe(0);
  };

  /** k0smotron's install + start chain for `machine` on host i; both must succeed as on a real host. */
  const installAndStart = async (i: number, machine: string): Promise<number> => {
    expect(await run(i, install(machine))).toMatchObject({ code: 0, stderr: '' });
    const started = Date.now();
    const start = await run(i, START_CHAIN);
    expect(start.code).toBe(0);
    expect((await run(i, `${K0S_PATH} status`)).code).toBe(0);
    return started;
  };

  beforeAll(async () => {
    // Host 0 is other suites'; this one needs two more.
    if (env.hosts.length < 3) throw new Error('this test needs three SSH hosts (K0SFLOW_PG_HOSTS >= 3)');
    hosts = [env.hosts[1]!, env.hosts[2]!];
    for (const host of hosts) conns.push(await connectHost(host));
    for (let i = 0; i < conns.length; i++) await run(i, CLEAN_HOST);
    kube = managementKube();
    ns = await createNamespace(kube, 'k0s-join');
    k0sflow = startK0sflow({ namespace: ns });
    child = await createChildCluster(kube, ns, 'join');
  });

  afterAll(async () => {
    for (let i = 0; i < conns.length; i++) {
      await run(i, `${CLEAN_HOST}; rm -f ${CONTROLLER_TOKEN}`);
      conns[i]!.end();
    }
    try {
      if (kube && ns) await deleteChildCluster(kube, ns, 'join');
    } finally {
      await k0sflow?.stop();
    }
  });

  it('a valid worker token: TLS bootstrap (CSR approved, CN system:node:<name>), the Node Ready with its labels and address, the Lease renewed', async () => {
    const token = await createJoinToken(child, 'worker', 'm-join');
    await prepare(0, tokenFile(child, 'worker', token));
    const started = await installAndStart(0, 'm-join');

    const node = await eventually(
      async () => {
        const n = await child.core.readNode({ name: 'm-join' });
        expect(readyCondition(n)?.status).toBe('True');
        return n;
      },
      90_000,
      250
    );
    console.log(`k0s-double join: start chain → Node m-join Ready in ${Date.now() - started} ms`);

    expect(node.metadata?.labels).toMatchObject({
      'k0smotron.io/machine-name': 'm-join',
      'kubernetes.io/hostname': 'm-join',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': expect.stringMatching(/^(amd64|arm64)$/),
    });
    expect(readyCondition(node)).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    expect(node.status?.addresses).toEqual([
      { type: 'InternalIP', address: hosts[0]!.address },
      { type: 'Hostname', address: 'm-join' },
    ]);
    expect(node.status?.nodeInfo).toMatchObject({ kubeletVersion: 'v1.27.2', operatingSystem: 'linux' });

    // The CSR: sent with the token, approved by the child's controller manager, signed by the child CA.
    const csrs = await csrsOf(token);
    expect(csrs).toHaveLength(1);
    const csr = csrs[0]!;
    expect(csr.spec.signerName).toBe('kubernetes.io/kube-apiserver-client-kubelet');
    expect(csr.spec.usages).toEqual(['digital signature', 'client auth']);
    expect(csr.spec.groups).toContain('system:bootstrappers');
    expect(csr.status?.conditions?.find((c) => c.type === 'Approved')?.status).toBe('True');
    const cert = new X509Certificate(Buffer.from(csr.status!.certificate!, 'base64'));
    expect(cert.subject.split('\n').sort()).toEqual(['CN=system:node:m-join', 'O=system:nodes']);
    expect(cert.verify(new X509Certificate(child.caPem).publicKey)).toBe(true);
    // ...and it is the certificate the host keeps, next to its own key.
    const stored = await run(0, `cat ${KUBELET_DIR}/kubelet.crt`);
    expect(new X509Certificate(stored.stdout).fingerprint256).toBe(cert.fingerprint256);
    expect((await run(0, `stat -c %a ${KUBELET_DIR} ${KUBELET_DIR}/kubelet.key`)).stdout).toBe('700\n600\n');

    // The Lease, renewed like a kubelet's (every 10 s, 40 s duration).
    const lease = await child.coordination.readNamespacedLease({
      namespace: 'kube-node-lease',
      name: 'm-join',
    });
    expect(lease.spec).toMatchObject({ holderIdentity: 'm-join', leaseDurationSeconds: 40 });
    expect(lease.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Node',
      name: 'm-join',
      uid: node.metadata?.uid,
    });
    const first = new Date(lease.spec!.renewTime!).getTime();
    await eventually(async () => expect(await renewTime('m-join')).toBeGreaterThan(first), 30_000, 1000);
    const ready = readyCondition(await child.core.readNode({ name: 'm-join' })) as {
      lastHeartbeatTime?: Date;
    };
    expect(new Date(ready.lastHeartbeatTime!).getTime()).toBeGreaterThan(
      new Date((readyCondition(node) as { lastHeartbeatTime?: Date }).lastHeartbeatTime!).getTime()
    );

    // The process is the double's, and it says what it did; the token never reaches the log.
    const pid = /^Process ID: (\d+)$/m.exec((await run(0, `${K0S_PATH} status`)).stdout)?.[1];
    expect((await run(0, `ps -o comm= -p ${pid}`)).stdout.trim()).toBe('k0s-double');
    expect(await joinNotes(0)).toEqual([
      `join: csr ${csr.metadata!.name} issued for system:node:m-join`,
      'join: node m-join registered',
    ]);
    const log = (await run(0, 'cat /var/lib/k0s-double/calls.log')).stdout;
    expect(log).not.toContain(token.secret);
  });

  it('k0s stop stops the heartbeat; start again reuses the certificate and updates the same Node; reset removes the kubelet dir', async () => {
    const before = (await child.core.readNode({ name: 'm-join' })).metadata?.uid;
    expect((await run(0, `${K0S_PATH} stop`)).code).toBe(0);
    expect((await run(0, 'ps -eo comm= | grep -c -x -e k0s-double -e curl; true')).stdout.trim()).toBe('0');
    const stopped = await renewTime('m-join');
    await new Promise((r) => setTimeout(r, 15_000));
    expect(await renewTime('m-join')).toBe(stopped);

    const csrsBefore = (await child.certificates.listCertificateSigningRequest()).items.length;
    expect((await run(0, START_CHAIN)).code).toBe(0);
    await eventually(async () => expect(await renewTime('m-join')).toBeGreaterThan(stopped), 30_000, 500);
    expect((await child.core.readNode({ name: 'm-join' })).metadata?.uid).toBe(before);
    expect((await child.certificates.listCertificateSigningRequest()).items).toHaveLength(csrsBefore);
    expect(await joinNotes(0)).toContain('join: node m-join already registered; status updated');

    expect((await run(0, `${K0S_PATH} stop && ${K0S_PATH} reset`)).code).toBe(0);
    expect((await run(0, `test -e ${KUBELET_DIR}`)).code).toBe(1);
    expect(await notes(0)).toContain(`reset: removed kubelet dir ${KUBELET_DIR}`);
  });

  it('a token with a wrong secret: the API server answers 401, no CSR, no Node; start still succeeds and the failure is noted once', async () => {
    const token = await createJoinToken(child, 'worker', 'm-bad');
    await prepare(1, tokenFile(child, 'worker', { id: token.id, secret: 'wrongwrongwrong0' }));
    await installAndStart(1, 'm-bad');
    await new Promise((r) => setTimeout(r, 20_000)); // several retries (backoff 1, 2, 4, 8 s)
    await nodeMissing('m-bad');
    expect(await csrsOf(token)).toEqual([]);
    const joins = await joinNotes(1);
    // Once, not per retry; and nothing got further.
    expect(joins.filter((n) => n === 'join: POST csr: HTTP 401: Unauthorized')).toHaveLength(1);
    expect(joins.filter((n) => /issued|registered/.test(n))).toEqual([]);
    expect((await run(1, `${K0S_PATH} status`)).code).toBe(0); // k0s runs; its kubelet keeps failing
  });

  it('a token whose CA is another CA: the server is not trusted, nothing is sent, no Node', async () => {
    // The right token, but the management cluster's CA: a worker must not talk to that server.
    const token = await createJoinToken(child, 'worker', 'm-tls');
    const otherCa = kubeconfigServerAndCa(readFileSync(env.management.kubeconfig, 'utf8')).caPem;
    expect(otherCa).not.toBe(child.caPem);
    await prepare(1, tokenFile(child, 'worker', token, { caPem: otherCa }));
    await installAndStart(1, 'm-tls');
    await new Promise((r) => setTimeout(r, 12_000));
    await nodeMissing('m-tls');
    expect(await csrsOf(token)).toEqual([]);
    const joins = await joinNotes(1);
    expect(
      joins.filter((n) => n.startsWith('join: POST csr: TLS verification failed (curl: (60) '))
    ).toHaveLength(1);
    expect(joins.filter((n) => /issued|registered/.test(n))).toEqual([]);
  });

  it('a token file that is no k0s token, and a controller token: install and start succeed, a note each, nothing networked', async () => {
    await prepare(1, 'k0s-double-token');
    await installAndStart(1, 'm-text');
    const pid = /^Process ID: (\d+)$/m.exec((await run(1, `${K0S_PATH} status`)).stdout)?.[1];
    expect((await run(1, `tr '\\0' ' ' < /proc/${pid}/cmdline`)).stdout).toContain('infinity'); // the plain stand-in
    expect(await joinNotes(1)).toEqual(['join: token file is not a k0s join token']);
    expect((await run(1, `test -e ${KUBELET_DIR}`)).code).toBe(1);
    await nodeMissing('m-text');

    const controllerToken = await createJoinToken(child, 'controller', 'cp-join');
    const controller = await run(
      1,
      `${K0S_PATH} stop && ${K0S_PATH} reset; printf %s '${tokenFile(child, 'controller', controllerToken)}' > ${CONTROLLER_TOKEN} && ` +
        `${K0S_PATH} install controller --force --token-file ${CONTROLLER_TOKEN} && ${K0S_PATH} start`
    );
    expect(controller.code).toBe(0);
    expect((await joinNotes(1)).slice(1)).toEqual([`join: controller token for ${child.server}`]);
  });
});
