// RemoteMachine faults on a real host: each ends with the right condition, waits or retries as it
// should, and never runs a completed bootstrap command twice.
import ssh2 from 'ssh2';

import {
  createAll,
  createNamespace,
  eventually,
  managementKube,
  parseManifests,
  provingGround,
  startK0sflow,
  type K0sflowProcess,
  type Kube,
} from '../harness/env.js';
import { CLEAN_HOST, hostRun, startExtraSshd, stopExtraSshd } from '../harness/hosts.js';
import {
  condition,
  createBootstrapSecret,
  createKeySecret,
  getRemoteMachine,
  k0sflowCli,
  machineObjects,
  readyReason,
} from '../harness/machines.js';
import { recordHistory } from '../harness/histories.js';
import { MACHINE, RM } from '../harness/resources.js';
import { workflowIdFor } from '../../src/domain/workflow-id.js';
import { seedManifest, withHostedControlPlanePaused } from '../harness/seeds.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { stringify } from 'yaml';

const DIR = '/etc/k0sflow-test';

describe('RemoteMachine faults', () => {
  const env = provingGround();
  const host = env.hosts[1]!;
  let kube: Kube;
  let ns: string;
  let k0sflow: K0sflowProcess;

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'rm-faults');
    expect((await hostRun(host, CLEAN_HOST)).code).toBe(0);
    await createKeySecret(kube, ns, 'host-key', host);
    await createAll(
      kube,
      ns,
      withHostedControlPlanePaused(
        parseManifests(
          seedManifest('remote-machine-provider', ['Cluster', 'K0smotronControlPlane', 'RemoteCluster'], 0)
        )
      )
    );
    k0sflow = startK0sflow({ namespace: ns });
  });

  afterAll(async () => {
    await k0sflow?.stop();
    await hostRun(host, CLEAN_HOST);
  });

  /** A Machine (bootstrap data given directly) and its RemoteMachine on `host`, running `commands`. */
  async function machine(
    name: string,
    rmSpec: Record<string, unknown>,
    commands: string[],
    annotations: Record<string, string> = {}
  ): Promise<void> {
    const data = {
      write_files: [{ path: `${DIR}/${name}/file`, content: name, permissions: '0600' }],
      runcmd: [...commands, 'mkdir -p /run/cluster-api && touch /run/cluster-api/bootstrap-success.complete'],
    };
    await createBootstrapSecret(kube, ns, `${name}-bootstrap`, `#cloud-config\n${stringify(data)}`);
    const spec = { address: host.address, port: host.port, sshKeyRef: { name: 'host-key' }, ...rmSpec };
    const objects = machineObjects(name, { clusterName: 'remote-test', rmSpec: spec, annotations });
    await createAll(kube, ns, objects);
  }

  const count = (name: string, step: string): string => `echo x >> ${DIR}/${name}/${step}`;
  const counts = async (name: string): Promise<Record<string, number>> => {
    const out = await hostRun(
      host,
      `cd ${DIR}/${name} 2>/dev/null && for f in c*; do echo "$f $(wc -l < $f)"; done`
    );
    return Object.fromEntries(
      out.stdout
        .split('\n')
        .filter((l) => /^c\S* \d+$/.test(l))
        .map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])])
    );
  };
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    kube.custom.patchNamespacedCustomObject(
      { ...RM, namespace: ns, name, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );

  it('a refused key: AuthenticationFailed, nothing run, waits for an operator', async () => {
    const wrong = ssh2.utils.generateKeyPairSync('ed25519');
    await kube.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'wrong-key' }, stringData: { value: wrong.private } },
    });
    await machine('wrong-key', { sshKeyRef: { name: 'wrong-key' } }, [count('wrong-key', 'c0')]);
    const rm = await readyReason(kube, ns, 'wrong-key', 'AuthenticationFailed');
    expect(rm.status?.ready ?? false).toBe(false);
    expect(condition(rm)?.message).toContain(`k0sflow retry machine ${ns}/wrong-key`);
    expect((await hostRun(host, `test -e ${DIR}/wrong-key`)).code).toBe(1);
  });

  it('a pinned host key that does not match: HostKeyMismatch before anything runs; fixing knownHosts proceeds', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519').public;
    await machine('pinned', { knownHosts: `${host.address} ${other}` }, [count('pinned', 'c0')]);
    const rm = await readyReason(kube, ns, 'pinned', 'HostKeyMismatch');
    expect(condition(rm)?.message).toContain('spec.knownHosts');
    expect((await hostRun(host, `test -e ${DIR}/pinned`)).code).toBe(1);
    // The operator pins the right key (the edit is a new generation: no retry command needed).
    await patchSpec('pinned', { knownHosts: `${host.address} ${host.hostKey}` });
    const done = await readyReason(kube, ns, 'pinned', 'Provisioned');
    expect(done.status?.hostKey).toBeUndefined(); // pinned keys are not "trusted on first use"
    expect(await counts('pinned')).toEqual({ c0: 1 });
  });

  it('an unreachable host: HostUnreachable with attempts, status shows it, `k0sflow retry machine` resumes', async () => {
    const port = 2222;
    await stopExtraSshd(host, port);
    await machine('unreachable', { port }, [count('unreachable', 'c0')]);
    const rm = await readyReason(kube, ns, 'unreachable', 'HostUnreachable');
    expect(condition(rm)?.message).toMatch(/attempt \d of 6/);

    const status = await k0sflowCli(['status', 'machine', `${ns}/unreachable`]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^step: checkHost$/m);
    expect(status.stdout).toMatch(/^last error: checkHost: ssh root@.*2222/m);
    expect(status.stdout).toMatch(
      /^web ui: http:\/\/.*\/namespaces\/default\/workflows\/k0sflow%2FRemoteMachine%2F/m
    );

    await startExtraSshd(host, port);
    const retry = await k0sflowCli(['retry', 'machine', `${ns}/unreachable`]);
    expect(retry).toMatchObject({ code: 0 });
    expect(retry.stdout).toContain('retrying now');
    const done = await readyReason(kube, ns, 'unreachable', 'Provisioned', 60_000);
    expect(done.spec.providerID).toBe(`remote-machine://${host.address}:${port}`);
    expect(await counts('unreachable')).toEqual({ c0: 1 });
  });

  it('a failing runcmd under sudo: CommandFailed names the step, exit code and output; it waits for an operator; retry never reruns what completed', async () => {
    const name = 'failing';
    await machine(name, { user: 'k0sflow', useSudo: true }, [
      count(name, 'c0'),
      `${count(name, 'c1-tries')}; echo "gate closed" >&2; test -e ${DIR}/${name}/gate`,
      count(name, 'c2'),
    ]);
    const rm = await readyReason(kube, ns, name, 'CommandFailed');
    const message = condition(rm)?.message ?? '';
    expect(message).toContain('runBootstrapCommands: runcmd[1] (echo) failed with exit code 1');
    expect(message).toContain('gate closed');
    expect(await counts(name)).toEqual({ c0: 1, 'c1-tries': 1 });
    // Files went through sudo: root owns them, mode kept.
    expect((await hostRun(host, `stat -c '%U %a' ${DIR}/${name}/file`)).stdout).toBe('root 600\n');
    const status = await k0sflowCli(['status', 'machine', `${ns}/${name}`]);
    expect(status.stdout).toMatch(/^waiting for: an operator: k0sflow retry machine/m);
    expect(status.stdout).toMatch(/^last error: runBootstrapCommands: runcmd\[1\] \(echo\) failed/m);

    // Any other change wakes the workflow but does not retry: the failure waits for an operator.
    await kube.custom.patchNamespacedCustomObject(
      { ...RM, namespace: ns, name, body: { metadata: { labels: { touched: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );
    await new Promise((r) => setTimeout(r, 3000));
    expect(await counts(name)).toEqual({ c0: 1, 'c1-tries': 1 });

    // A retry with the cause unfixed fails the same way, and runs nothing that completed.
    expect((await k0sflowCli(['retry', 'machine', `${ns}/${name}`])).code).toBe(0);
    await waitFor(async () => (await counts(name))['c1-tries'] === 2, 60_000);
    await readyReason(kube, ns, name, 'CommandFailed');
    expect(await counts(name)).toEqual({ c0: 1, 'c1-tries': 2 });

    await hostRun(host, `touch ${DIR}/${name}/gate`);
    expect((await k0sflowCli(['retry', 'machine', `${ns}/${name}`])).code).toBe(0);
    const done = await readyReason(kube, ns, name, 'Provisioned');
    expect(await counts(name)).toEqual({ c0: 1, 'c1-tries': 3, c2: 1 });
    recordHistory(
      'remote-machine-waits-for-operator',
      workflowIdFor({ kind: 'RemoteMachine', namespace: ns, name, uid: done.metadata.uid })
    );
  });

  it('a worker killed mid-command: a new one resumes; completed commands are not run again', async () => {
    const name = 'killed';
    await machine(name, {}, [
      count(name, 'c0'),
      `${count(name, 'c1-start')}; sleep 8; ${count(name, 'c1-end')}`,
      count(name, 'c2'),
    ]);
    await waitFor(async () => (await counts(name))['c1-start'] === 1, 120_000);
    await k0sflow.kill();
    k0sflow = startK0sflow({ namespace: ns, name: `${ns}-after-kill` });
    await readyReason(kube, ns, name, 'Provisioned', 180_000);
    const seen = await counts(name);
    expect(seen.c0).toBe(1);
    expect(seen.c2).toBe(1);
    // The interrupted command finished at least once (left running, or stopped and run again).
    expect(seen['c1-end']).toBeGreaterThanOrEqual(1);
  });

  it('a host key changed after it was trusted on first use stops provisioning until an operator accepts it', async () => {
    const name = 'rekeyed';
    const port = 2223;
    const first = await startExtraSshd(host, port, true);
    await machine(name, { port }, [count(name, 'c0'), `test -e ${DIR}/${name}/gate`, count(name, 'c2')]);
    const failed = await readyReason(kube, ns, name, 'CommandFailed');
    expect(failed.status?.hostKey).toBe(first);

    await stopExtraSshd(host, port);
    const second = await startExtraSshd(host, port, true);
    expect(second).not.toBe(first);
    expect((await k0sflowCli(['retry', 'machine', `${ns}/${name}`])).code).toBe(0);
    const mismatch = await readyReason(kube, ns, name, 'HostKeyMismatch');
    expect(condition(mismatch)?.message).toContain('--accept-host-key');
    expect(mismatch.status?.hostKey).toBe(first);

    await hostRun(host, `touch ${DIR}/${name}/gate`);
    const accepted = await k0sflowCli(['retry', 'machine', `${ns}/${name}`, '--accept-host-key']);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(second.split(' ')[1]);
    const done = await readyReason(kube, ns, name, 'Provisioned');
    expect(done.status?.hostKey).toBe(second);
    expect(await counts(name)).toEqual({ c0: 1, c2: 1 });
    await stopExtraSshd(host, port);
  });

  it('a missing SSH key Secret: SecretNotFound, nothing run; once it exists, a retry proceeds', async () => {
    const name = 'no-secret';
    await machine(name, { sshKeyRef: { name: 'not-yet' } }, [count(name, 'c0')]);
    const rm = await readyReason(kube, ns, name, 'SecretNotFound');
    expect(condition(rm)?.message).toContain('not-yet');
    await createKeySecret(kube, ns, 'not-yet', host);
    expect((await k0sflowCli(['retry', 'machine', `${ns}/${name}`])).code).toBe(0);
    await readyReason(kube, ns, name, 'Provisioned');
    expect(await counts(name)).toEqual({ c0: 1 });
  });

  it('a paused RemoteMachine is left alone until unpaused', async () => {
    const name = 'paused';
    await machine(name, {}, [count(name, 'c0')], { 'cluster.x-k8s.io/paused': '' });
    await waitFor(async () => {
      const rm = await getRemoteMachine(kube, ns, name);
      return condition(rm, 'Paused')?.status === 'True';
    }, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const paused = await getRemoteMachine(kube, ns, name);
    expect(paused.spec.providerID).toBeUndefined();
    expect(condition(paused)).toBeUndefined();
    expect((await hostRun(host, `test -e ${DIR}/${name}`)).code).toBe(1);
    await kube.custom.patchNamespacedCustomObject(
      {
        ...RM,
        namespace: ns,
        name,
        body: { metadata: { annotations: { 'cluster.x-k8s.io/paused': null } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    );
    const done = await readyReason(kube, ns, name, 'Provisioned');
    expect(condition(done, 'Paused')?.status).toBe('False');
    expect(await counts(name)).toEqual({ c0: 1 });
  });

  it('deleting a machine mid-command cancels provisioning: the remote command is stopped, the object goes', async () => {
    const name = 'cancelled';
    await machine(name, {}, [
      count(name, 'c0'),
      `${count(name, 'c1-start')}; sleep 45; ${count(name, 'c1-end')}`,
    ]);
    await waitFor(async () => (await counts(name))['c1-start'] === 1, 120_000);
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name });
    await waitFor(async () => {
      try {
        await getRemoteMachine(kube, ns, name);
        return false;
      } catch {
        return true;
      }
    }, 40_000);
    // The command's process tree was killed on the host, and the journal went with the cleanup.
    const left = await hostRun(host, 'ps -eo args | grep -c "^sleep 45" || true');
    expect(left.stdout.trim()).toBe('0');
    expect(await counts(name)).toEqual({ c0: 1, 'c1-start': 1 });
  });

  it('a machine whose key is refused is still deleted: the failed cleanup is reported, not blocking', async () => {
    await kube.custom.deleteNamespacedCustomObject({ ...MACHINE, namespace: ns, name: 'wrong-key' });
    await waitFor(async () => {
      try {
        await getRemoteMachine(kube, ns, 'wrong-key');
        return false;
      } catch {
        return true;
      }
    }, 120_000);
  });
});

/** Polls until `check` holds (the harness's `eventually`, for a yes/no check). */
function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  return eventually(async () => {
    if (!(await check())) throw new Error('not yet');
  }, timeoutMs);
}
