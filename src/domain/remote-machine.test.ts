import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteMachineSpecSchema } from './api/infrastructure.js';
import { shellQuote } from './cloud-init.js';
import type { Condition } from './conditions.js';
import {
  defaultCleanupCommands,
  journaledCommand,
  journalSkipped,
  k0sRoleFromCommands,
  k0sRoleOf,
  kubeletRootDirOf,
  machineEvent,
  machineStatusUpToDate,
  ownerMachineName,
  planRemoteMachineStatus,
  providerIdFor,
  provisioningStarted,
  sshTargetOf,
  stopJournaledCommands,
  type MachineReadiness,
  type RemoteMachineFacts,
} from './remote-machine.js';

const now = new Date('2026-03-01T10:00:00Z');
const later = new Date('2026-03-01T11:00:00Z');

describe('providerIdFor', () => {
  it('is k0smotron-style remote-machine://<address>:<port> with the address verbatim', () => {
    expect(providerIdFor('10.0.0.5', 22)).toBe('remote-machine://10.0.0.5:22');
    expect(providerIdFor('node-1.example.com', 2222)).toBe('remote-machine://node-1.example.com:2222');
  });
});

describe('sshTargetOf', () => {
  it('builds a target from a complete spec, with the schema defaults applied', () => {
    const spec = RemoteMachineSpecSchema.parse({ address: ' 10.0.0.5 ', sshKeyRef: { name: 'node-key' } });
    expect(sshTargetOf(spec)).toEqual({
      ok: true,
      target: { address: '10.0.0.5', port: 22, user: 'root', useSudo: false, keySecretName: 'node-key' },
    });
  });

  it('keeps explicit port, user, sudo and pinned host keys', () => {
    const spec = RemoteMachineSpecSchema.parse({
      address: 'node-1.example.com',
      port: 2222,
      user: 'ubuntu',
      useSudo: true,
      sshKeyRef: { name: 'node-key' },
      knownHosts: 'ssh-ed25519 AAAAC3Nza',
    });
    expect(sshTargetOf(spec)).toEqual({
      ok: true,
      target: {
        address: 'node-1.example.com',
        port: 2222,
        user: 'ubuntu',
        useSudo: true,
        keySecretName: 'node-key',
        knownHosts: 'ssh-ed25519 AAAAC3Nza',
      },
    });
  });

  it('ignores blank knownHosts (trust on first use)', () => {
    const spec = RemoteMachineSpecSchema.parse({
      address: '10.0.0.5',
      sshKeyRef: { name: 'node-key' },
      knownHosts: '  \n ',
    });
    const result = sshTargetOf(spec);
    if (!result.ok) throw new Error(`expected a target, got ${result.reason}`);
    expect(result.target).not.toHaveProperty('knownHosts');
  });

  it('a complete spec wins even when it names a pool (the claim already copied the fields)', () => {
    const spec = RemoteMachineSpecSchema.parse({
      pool: 'workers',
      address: '10.0.0.5',
      sshKeyRef: { name: 'node-key' },
    });
    expect(sshTargetOf(spec).ok).toBe(true);
  });

  it('waits for a pooled machine when the spec names a pool but has no address yet', () => {
    const result = sshTargetOf(RemoteMachineSpecSchema.parse({ pool: 'workers' }));
    expect(result).toEqual({
      ok: false,
      reason: 'WaitingForPooledMachine',
      message: 'waiting for a free PooledRemoteMachine in pool "workers"',
    });
  });

  it('waits for a pooled machine when the address is there but the key is not', () => {
    const result = sshTargetOf(RemoteMachineSpecSchema.parse({ pool: 'workers', address: '10.0.0.5' }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe('WaitingForPooledMachine');
  });

  it('reports missing fields without a pool', () => {
    for (const raw of [
      {},
      { address: '10.0.0.5' },
      { sshKeyRef: { name: 'node-key' } },
      { address: '   ', sshKeyRef: { name: 'node-key' } },
      { address: '10.0.0.5', sshKeyRef: { name: '' } },
    ]) {
      const result = sshTargetOf(RemoteMachineSpecSchema.parse(raw));
      expect(result).toEqual({
        ok: false,
        reason: 'MissingFields',
        message: 'without a pool, spec.address and spec.sshKeyRef.name are required',
      });
    }
  });
});

describe('ownerMachineName', () => {
  const owner = (apiVersion: string, kind: string, name: string) => ({
    apiVersion,
    kind,
    name,
    uid: `uid-${name}`,
  });

  it('finds the cluster.x-k8s.io Machine owner', () => {
    expect(
      ownerMachineName({
        ownerReferences: [
          owner('cluster.x-k8s.io/v1beta1', 'MachineSet', 'ms-1'),
          owner('cluster.x-k8s.io/v1beta1', 'Machine', 'machine-1'),
        ],
      })
    ).toBe('machine-1');
    expect(ownerMachineName({ ownerReferences: [owner('cluster.x-k8s.io/v1beta2', 'Machine', 'm2')] })).toBe(
      'm2'
    );
  });

  it('ignores Machine kinds of other API groups and non-Machine owners', () => {
    expect(
      ownerMachineName({ ownerReferences: [owner('example.com/v1', 'Machine', 'other')] })
    ).toBeUndefined();
    expect(
      ownerMachineName({ ownerReferences: [owner('cluster.x-k8s.io.example.com/v1', 'Machine', 'fake')] })
    ).toBeUndefined();
    expect(
      ownerMachineName({ ownerReferences: [owner('cluster.x-k8s.io/v1beta1', 'Cluster', 'c1')] })
    ).toBeUndefined();
    expect(ownerMachineName({})).toBeUndefined();
    expect(ownerMachineName({ ownerReferences: [] })).toBeUndefined();
  });

  it('skips a foreign Machine owner listed before the CAPI one', () => {
    expect(
      ownerMachineName({
        ownerReferences: [
          owner('example.com/v1', 'Machine', 'other'),
          owner('cluster.x-k8s.io/v1beta1', 'Machine', 'capi'),
        ],
      })
    ).toBe('capi');
  });
});

describe('k0sRoleOf', () => {
  it('maps the bootstrap config kind to the k0s role', () => {
    expect(k0sRoleOf('K0sWorkerConfig')).toBe('worker');
    expect(k0sRoleOf('K0sControllerConfig')).toBe('controller');
    expect(k0sRoleOf('KubeadmConfig')).toBe('other');
    expect(k0sRoleOf(undefined)).toBe('other');
    expect(k0sRoleOf('k0sworkerconfig')).toBe('other');
  });
});

describe('kubeletRootDirOf', () => {
  it('reads --kubelet-root-dir=<dir> from the install command', () => {
    expect(
      kubeletRootDirOf([
        'curl -sSfL https://get.k0s.sh | sh',
        '/usr/local/bin/k0s install worker --token-file /etc/k0s.token --kubelet-root-dir=/var/lib/kl',
        '/usr/local/bin/k0s start',
      ])
    ).toBe('/var/lib/kl');
  });

  it('reads --kubelet-root-dir <dir> (space separated)', () => {
    expect(kubeletRootDirOf(['k0s install worker --kubelet-root-dir   /data/kubelet --debug'])).toBe(
      '/data/kubelet'
    );
  });

  it('unquotes a quoted directory, spaces included', () => {
    expect(kubeletRootDirOf(['k0s install worker --kubelet-root-dir="/data/my kubelet" --debug'])).toBe(
      '/data/my kubelet'
    );
    expect(kubeletRootDirOf(["k0s install controller --kubelet-root-dir '/srv/kl dir'"])).toBe('/srv/kl dir');
  });

  it('ignores the flag outside an install command', () => {
    expect(kubeletRootDirOf(['k0s start --kubelet-root-dir=/elsewhere', 'echo --kubelet-root-dir=/x'])).toBe(
      undefined
    );
    expect(kubeletRootDirOf(['k0s install worker --token-file /etc/k0s.token'])).toBeUndefined();
    expect(kubeletRootDirOf([])).toBeUndefined();
  });

  it('takes the install command even when another command mentions the flag first', () => {
    expect(
      kubeletRootDirOf([
        'k0s start --kubelet-root-dir=/wrong',
        'k0s install worker --kubelet-root-dir=/right',
      ])
    ).toBe('/right');
  });
});

describe('defaultCleanupCommands', () => {
  it('stops and resets a worker', () => {
    expect(defaultCleanupCommands('worker')).toEqual(['k0s stop', 'k0s reset']);
  });

  it('leaves etcd first on a controller', () => {
    expect(defaultCleanupCommands('controller')).toEqual(['k0s etcd leave', 'k0s stop', 'k0s reset']);
  });

  it('has nothing to do for other roles', () => {
    expect(defaultCleanupCommands('other')).toEqual([]);
    expect(defaultCleanupCommands('other', '/var/lib/kl')).toEqual([]);
  });

  it('resets the kubelet root dir the install used, shell-quoted', () => {
    expect(defaultCleanupCommands('worker', '/var/lib/kl')).toEqual([
      'k0s stop',
      'k0s reset --kubelet-root-dir /var/lib/kl',
    ]);
    expect(defaultCleanupCommands('controller', "/data/my kubelet's")).toEqual([
      'k0s etcd leave',
      'k0s stop',
      `k0s reset --kubelet-root-dir '/data/my kubelet'\\''s'`,
    ]);
  });
});

describe('journaledCommand (run by sh)', () => {
  let root: string;
  let journal: string;
  let counter: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'k0sflow journal '));
    // Not created up front: the script makes it.
    journal = join(root, 'bootstrap', 'uid-1');
    counter = join(root, 'count');
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function run(script: string): { status: number | null; stdout: string } {
    const result = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout };
  }

  function executions(): number {
    return existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0;
  }

  const stepId = '0-abc123';
  const count = () => `echo ran >> ${shellQuote(counter)}`;

  it('runs the command once and skips it on a later attempt', () => {
    const script = journaledCommand({ dir: journal, stepId, command: `${count()}; echo hello` });

    const first = run(script);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe('hello\n');
    expect(journalSkipped(first.stdout)).toBe(false);
    expect(executions()).toBe(1);
    expect(existsSync(join(journal, `${stepId}.done`))).toBe(true);
    expect(existsSync(join(journal, `${stepId}.pid`))).toBe(false);

    const second = run(script);
    expect(second.status).toBe(0);
    expect(journalSkipped(second.stdout)).toBe(true);
    expect(executions()).toBe(1);
  });

  it('keeps steps apart by step id', () => {
    expect(run(journaledCommand({ dir: journal, stepId: '0-a', command: count() })).status).toBe(0);
    const other = run(journaledCommand({ dir: journal, stepId: '1-b', command: count() }));
    expect(journalSkipped(other.stdout)).toBe(false);
    expect(executions()).toBe(2);
  });

  it('returns a failing exit code, writes no marker and runs again next time', () => {
    const script = journaledCommand({ dir: journal, stepId, command: `${count()}; exit 3` });

    expect(run(script).status).toBe(3);
    expect(existsSync(join(journal, `${stepId}.done`))).toBe(false);
    expect(existsSync(join(journal, `${stepId}.pid`))).toBe(false);

    const again = run(script);
    expect(again.status).toBe(3);
    expect(journalSkipped(again.stdout)).toBe(false);
    expect(executions()).toBe(2);
  });

  it('quotes commands and step ids with shell metacharacters', () => {
    const odd = "step 'one' $x";
    const script = journaledCommand({
      dir: journal,
      stepId: odd,
      command: `${count()}; echo "it's"; echo '$x'`,
    });
    const first = run(script);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe("it's\n$x\n");
    expect(existsSync(join(journal, `${odd}.done`))).toBe(true);
    expect(journalSkipped(run(script).stdout)).toBe(true);
    expect(executions()).toBe(1);
  });

  it('kills the process of an interrupted earlier attempt before running the command', async () => {
    const stale = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      stale.on('exit', (_code, signal) => resolve(signal))
    );
    try {
      const pid = stale.pid;
      if (pid === undefined) throw new Error('sleep did not start');
      expect(() => process.kill(pid, 0)).not.toThrow();
      run(`mkdir -p ${shellQuote(journal)}`);
      writeFileSync(join(journal, `${stepId}.pid`), `${identityOf(pid)}\n`);
      const seen = join(root, 'seen');
      // The command records what ps says of the stale process: gone, or a zombie jest has not reaped.
      const command = `${count()}; ps -o stat= -p ${pid} > ${shellQuote(seen)} || true`;

      const result = run(journaledCommand({ dir: journal, stepId, command }));

      expect(result.status).toBe(0);
      expect(executions()).toBe(1);
      expect(readFileSync(seen, 'utf8').trim()).toMatch(/^(Z.*)?$/);
      expect(await exited).toBe('SIGTERM');
      expect(existsSync(join(journal, `${stepId}.done`))).toBe(true);
      expect(existsSync(join(journal, `${stepId}.pid`))).toBe(false);
    } finally {
      stale.kill('SIGKILL');
    }
  });

  it('stopJournaledCommands stops a running attempt of any step, and only a matching one', async () => {
    const running = spawn('sleep', ['30'], { stdio: 'ignore' });
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      running.on('exit', (_code, signal) => resolve(signal))
    );
    try {
      run(`mkdir -p ${shellQuote(journal)}`);
      writeFileSync(join(journal, '0-a.pid'), `${identityOf(running.pid!)}\n`);
      const [, boot, start] = identityOf(bystander.pid!).split(' ');
      writeFileSync(join(journal, '1-b.pid'), `${bystander.pid} ${boot} ${Number(start) + 7}\n`);
      expect(run(stopJournaledCommands(journal)).status).toBe(0);
      expect(await exited).toBe('SIGTERM');
      expect(() => process.kill(bystander.pid!, 0)).not.toThrow();
      // Nothing recorded: nothing to stop, and no error.
      expect(run(stopJournaledCommands(join(root, 'none'))).status).toBe(0);
    } finally {
      running.kill('SIGKILL');
      bystander.kill('SIGKILL');
    }
  });

  it('leaves alone a live process whose recorded identity does not match (pid reused, rebooted)', async () => {
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = bystander.pid;
      if (pid === undefined) throw new Error('sleep did not start');
      run(`mkdir -p ${shellQuote(journal)}`);
      const [, boot, start] = identityOf(pid).split(' ');
      for (const recorded of [
        `${pid}`,
        `${pid} ${boot} ${Number(start) + 1}`,
        `${pid} other-boot ${start}`,
      ]) {
        writeFileSync(join(journal, `${stepId}.pid`), `${recorded}\n`);
        expect(run(journaledCommand({ dir: journal, stepId, command: 'true' })).status).toBe(0);
        rmSync(join(journal, `${stepId}.done`), { force: true });
        expect(() => process.kill(pid, 0)).not.toThrow();
      }
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

/** `pid boot_id start_time`, as the journal records the process of an attempt. */
function identityOf(pid: number): string {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const start = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[21];
  return `${pid} ${boot} ${start}`;
}

describe('planRemoteMachineStatus', () => {
  const waiting: MachineReadiness = {
    reason: 'WaitingForPooledMachine',
    message: 'waiting for a free PooledRemoteMachine in pool "workers"',
    provisioned: false,
  };
  const provisioned: MachineReadiness = {
    reason: 'Provisioned',
    provisioned: true,
    bootstrap: { status: 'True', reason: 'Succeeded' },
  };

  function facts(overrides: Partial<RemoteMachineFacts>): RemoteMachineFacts {
    return { generation: 2, current: undefined, paused: false, readiness: waiting, now, ...overrides };
  }

  it('reports a waiting machine as not ready, with the reason on Ready', () => {
    const status = planRemoteMachineStatus(facts({ address: '10.0.0.5' }));
    expect(status).toEqual({
      ready: false,
      initialization: { provisioned: false },
      observedGeneration: 2,
      conditions: [
        {
          type: 'Paused',
          status: 'False',
          reason: 'NotPaused',
          observedGeneration: 2,
          lastTransitionTime: '2026-03-01T10:00:00Z',
        },
        {
          type: 'Ready',
          status: 'False',
          reason: 'WaitingForPooledMachine',
          message: 'waiting for a free PooledRemoteMachine in pool "workers"',
          observedGeneration: 2,
          lastTransitionTime: '2026-03-01T10:00:00Z',
        },
      ],
    });
  });

  it('reports a provisioned machine ready per both contracts, with its ExternalIP', () => {
    const status = planRemoteMachineStatus(facts({ readiness: provisioned, address: '10.0.0.5' }));
    expect(status.ready).toBe(true);
    expect(status.initialization).toEqual({ provisioned: true });
    expect(status.addresses).toEqual([{ type: 'ExternalIP', address: '10.0.0.5' }]);
    expect(status.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Paused', 'False', 'NotPaused'],
      ['Ready', 'True', 'Provisioned'],
      ['BootstrapExecSucceeded', 'True', 'Succeeded'],
    ]);
    expect(status.conditions.find((c) => c.type === 'Ready')).not.toHaveProperty('message');
  });

  it('never takes provisioned back once the current status says so', () => {
    const current = planRemoteMachineStatus(facts({ readiness: provisioned, address: '10.0.0.5' }));
    const status = planRemoteMachineStatus(
      facts({
        current,
        readiness: { reason: 'SshUnreachable', message: 'connection refused', provisioned: false },
        now: later,
      })
    );
    expect(status.ready).toBe(true);
    expect(status.initialization.provisioned).toBe(true);
    // The address is carried from the current status when the facts have none.
    expect(status.addresses).toEqual([{ type: 'ExternalIP', address: '10.0.0.5' }]);
    expect(status.conditions.find((c) => c.type === 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'SshUnreachable',
      message: 'connection refused',
      observedGeneration: 2,
      lastTransitionTime: '2026-03-01T11:00:00Z',
    });
  });

  it('while paused leaves Ready and BootstrapExecSucceeded untouched and sets Paused True', () => {
    const current = planRemoteMachineStatus(facts({ readiness: provisioned, address: '10.0.0.5' }));
    const status = planRemoteMachineStatus(
      facts({
        current,
        generation: 3,
        paused: true,
        readiness: {
          reason: 'SshUnreachable',
          provisioned: false,
          bootstrap: { status: 'False', reason: 'X' },
        },
        now: later,
      })
    );
    const byType = (list: typeof status.conditions, type: string) => list.find((c) => c.type === type);
    expect(byType(status.conditions, 'Ready')).toEqual(byType(current.conditions, 'Ready'));
    expect(byType(status.conditions, 'BootstrapExecSucceeded')).toEqual(
      byType(current.conditions, 'BootstrapExecSucceeded')
    );
    expect(byType(status.conditions, 'Paused')).toEqual({
      type: 'Paused',
      status: 'True',
      reason: 'Paused',
      message: 'Reconciliation is paused',
      observedGeneration: 3,
      lastTransitionTime: '2026-03-01T11:00:00Z',
    });
    expect(status.ready).toBe(true);
    expect(status.observedGeneration).toBe(3);
  });

  it('while paused adds no Ready condition to a fresh machine', () => {
    const status = planRemoteMachineStatus(facts({ paused: true }));
    expect(status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual(['Paused=True']);
    expect(status.ready).toBe(false);
  });

  it('records the host key and carries it forward when the facts have none', () => {
    expect(planRemoteMachineStatus(facts({}))).not.toHaveProperty('hostKey');
    const first = planRemoteMachineStatus(facts({ hostKey: 'ssh-ed25519 AAAAfirst' }));
    expect(first.hostKey).toBe('ssh-ed25519 AAAAfirst');
    const second = planRemoteMachineStatus(facts({ current: first, hostKey: undefined, now: later }));
    expect(second.hostKey).toBe('ssh-ed25519 AAAAfirst');
    const replaced = planRemoteMachineStatus(facts({ current: second, hostKey: 'ssh-ed25519 AAAAsecond' }));
    expect(replaced.hostKey).toBe('ssh-ed25519 AAAAsecond');
  });

  it('keeps lastTransitionTime while a condition status stays the same', () => {
    const first = planRemoteMachineStatus(facts({}));
    const same = planRemoteMachineStatus(
      facts({ current: first, readiness: { reason: 'Connecting', provisioned: false }, now: later })
    );
    expect(same.conditions.map((c) => c.lastTransitionTime)).toEqual([
      '2026-03-01T10:00:00Z',
      '2026-03-01T10:00:00Z',
    ]);
    expect(same.conditions.find((c) => c.type === 'Ready')?.reason).toBe('Connecting');

    const flipped = planRemoteMachineStatus(facts({ current: first, readiness: provisioned, now: later }));
    expect(flipped.conditions.find((c) => c.type === 'Paused')?.lastTransitionTime).toBe(
      '2026-03-01T10:00:00Z'
    );
    expect(flipped.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(
      '2026-03-01T11:00:00Z'
    );
  });

  it('keeps conditions it does not own', () => {
    const foreign = { type: 'Other', status: 'True' as const, reason: 'x', lastTransitionTime: 'y' };
    const status = planRemoteMachineStatus(facts({ current: { conditions: [foreign] } }));
    expect(status.conditions[0]).toEqual(foreign);
    expect(status.conditions.map((c) => c.type)).toEqual(['Other', 'Paused', 'Ready']);
  });
});

describe('machineStatusUpToDate', () => {
  const readiness: MachineReadiness = {
    reason: 'Provisioning',
    message: 'running step 1',
    provisioned: false,
  };
  const base: RemoteMachineFacts = { generation: 1, current: undefined, paused: false, readiness, now };

  it('is true for the planned status against itself and for a replan at a later time', () => {
    const planned = planRemoteMachineStatus({ ...base, hostKey: 'ssh-ed25519 AAAA' });
    expect(machineStatusUpToDate(planned, planned)).toBe(true);
    const replanned = planRemoteMachineStatus({ ...base, current: planned, now: later });
    expect(machineStatusUpToDate(planned, replanned)).toBe(true);
  });

  it('is false with no current status', () => {
    expect(machineStatusUpToDate(undefined, planRemoteMachineStatus(base))).toBe(false);
  });

  it('is false after a reason, message, generation or host key change', () => {
    const planned = planRemoteMachineStatus(base);
    const changes: Partial<RemoteMachineFacts>[] = [
      { readiness: { ...readiness, reason: 'BootstrapFailed' } },
      { readiness: { ...readiness, message: 'running step 2' } },
      { generation: 2 },
      { hostKey: 'ssh-ed25519 AAAAnew' },
      { readiness: { ...readiness, bootstrap: { status: 'False', reason: 'Running' } } },
    ];
    for (const change of changes) {
      const next = planRemoteMachineStatus({ ...base, current: planned, now: later, ...change });
      expect(machineStatusUpToDate(planned, next)).toBe(false);
    }
  });

  it('ignores conditions k0sflow does not own', () => {
    const planned = planRemoteMachineStatus(base);
    const current = {
      ...planned,
      conditions: [
        ...planned.conditions,
        { type: 'Other', status: 'True' as const, reason: 'x', lastTransitionTime: 'y' },
      ],
    };
    expect(machineStatusUpToDate(current, planned)).toBe(true);
  });
});

describe('provisioningStarted', () => {
  it('is true once provisioned or once BootstrapExecSucceeded exists, whatever its status', () => {
    expect(provisioningStarted({ initialization: { provisioned: true } })).toBe(true);
    expect(
      provisioningStarted({
        conditions: [
          { type: 'BootstrapExecSucceeded', status: 'False', reason: 'Running', lastTransitionTime: 'x' },
        ],
      })
    ).toBe(true);
  });

  it('is false before provisioning touched the host', () => {
    expect(provisioningStarted(undefined)).toBe(false);
    expect(provisioningStarted({})).toBe(false);
    expect(
      provisioningStarted({
        initialization: { provisioned: false },
        conditions: [
          { type: 'Ready', status: 'False', reason: 'WaitingForPooledMachine', lastTransitionTime: 'x' },
        ],
      })
    ).toBe(false);
  });
});

describe('machineEvent', () => {
  const ready = (status: 'True' | 'False', reason: string): Condition[] => [
    { type: 'Ready', status, reason, message: `${reason}!`, lastTransitionTime: '2026-11-22T00:00:00Z' },
  ];

  it('is Normal when the machine becomes provisioned, Warning when a step fails', () => {
    expect(machineEvent(ready('False', 'Provisioning'), ready('True', 'Provisioned'))).toMatchObject({
      type: 'Normal',
      reason: 'Provisioned',
    });
    expect(machineEvent(ready('False', 'Provisioning'), ready('False', 'CommandFailed'))).toEqual({
      type: 'Warning',
      reason: 'CommandFailed',
      message: 'CommandFailed!',
    });
  });

  it('is silent while the machine only waits or provisions, and when nothing moved', () => {
    expect(machineEvent(undefined, ready('False', 'WaitingForMachine'))).toBeUndefined();
    expect(machineEvent(ready('False', 'WaitingForMachine'), ready('False', 'Provisioning'))).toBeUndefined();
    expect(machineEvent(ready('False', 'Provisioning'), ready('False', 'Paused'))).toBeUndefined();
    expect(
      machineEvent(ready('False', 'HostUnreachable'), ready('False', 'HostUnreachable'))
    ).toBeUndefined();
  });
});

describe('k0sRoleFromCommands', () => {
  it('reads the role the bootstrap commands installed', () => {
    expect(
      k0sRoleFromCommands([
        'curl -sSfL x -o /usr/local/bin/k0s',
        '/usr/local/bin/k0s install worker --token-file /etc/k0s.token',
      ])
    ).toBe('worker');
    expect(k0sRoleFromCommands(['k0s install controller --enable-worker --config /etc/k0s.yaml'])).toBe(
      'controller'
    );
    expect(k0sRoleFromCommands(['k0s version', 'echo k0s installer'])).toBe('other');
    expect(k0sRoleFromCommands([])).toBe('other');
  });
});
