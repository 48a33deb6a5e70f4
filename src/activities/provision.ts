// The steps of provisioning a RemoteMachine over SSH, one activity each so the Web UI shows which one
// runs or failed. Every step reads the secrets it needs itself (the SSH key, the bootstrap data):
// only Secret names, public host keys and outcomes pass through workflow history.
import { createHash } from 'node:crypto';

import { ApplicationFailure, activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';

import {
  installScriptFile,
  installScriptPath,
  parseBootstrapData,
  BOOTSTRAP_SENTINEL,
  type BootstrapPlan,
} from '../domain/cloud-init.js';
import type { ObjectRef } from '../domain/resources.js';
import {
  defaultCleanupCommands,
  journalDir,
  journaledCommand,
  journalSkipped,
  stopJournaledCommands,
  k0sRoleFromCommands,
  kubeletRootDirOf,
  type K0sRole,
  type SshTarget,
} from '../domain/remote-machine.js';
import { errorMessage, isNotFound, type KubeClients } from './kube-client.js';
import { SshConnectionPool, type PoolKey } from './ssh-pool.js';
import {
  commandFailure,
  connectSsh,
  plannedFileContent,
  requireFile,
  runCommand,
  uploadFile,
  type HostKeyPolicy,
  type SshConnection,
} from './ssh.js';

/** Failure types of these steps, besides those of `SshFailure`. */
export const ProvisionFailure = {
  /** Non-retryable until it appears: the SSH key or bootstrap data Secret is missing. */
  SecretNotFound: 'SecretNotFound',
  /** Non-retryable: the Secret has no usable `value`. */
  InvalidSecret: 'InvalidSecret',
  /** Non-retryable: the bootstrap data is not the cloud-config k0sflow can run. */
  InvalidBootstrapData: 'InvalidBootstrapData',
} as const;

export interface HostInput {
  /** The RemoteMachine: its namespace holds the Secrets, its uid names the host's journal. */
  machine: ObjectRef;
  target: SshTarget;
  /** The host key recorded on first use; enforced when `target.knownHosts` is absent. */
  recordedHostKey?: string;
}

export interface ProvisionInput extends HostInput {
  /** Machine.spec.bootstrap.dataSecretName. */
  bootstrapSecretName: string;
  commandsAsScript: boolean;
  workingDir: string;
}

export interface CleanupInput extends HostInput {
  /** `customCleanUpCommands`; the default k0s cleanup for `role` when absent. */
  customCommands?: string[];
  role: K0sRole;
  /** Read, when still there, for the kubelet root dir `k0s reset` must wipe. */
  bootstrapSecretName?: string;
}

export interface HostCheck {
  /** `type base64` of the key the host presented. */
  hostKey: string;
  newlyTrusted: boolean;
}

export interface CommandsOutcome {
  ran: number;
  /** Completed in an earlier attempt: not run again. */
  skipped: number;
}

export interface CleanupOutcome {
  ran: number;
  /** Commands that failed, with exit codes: reported, never blocking the delete. */
  failures: string[];
}

export interface ProvisionActivities {
  checkHost(input: HostInput): Promise<HostCheck>;
  uploadBootstrapFiles(input: ProvisionInput): Promise<{ files: number }>;
  runBootstrapCommands(input: ProvisionInput): Promise<CommandsOutcome>;
  checkBootstrapSentinel(input: HostInput): Promise<void>;
  cleanUpHost(input: CleanupInput): Promise<CleanupOutcome>;
}

export function createProvisionActivities(
  clients: KubeClients,
  connections = new SshConnectionPool()
): ProvisionActivities {
  async function secretValue(namespace: string, name: string, what: string): Promise<Buffer> {
    let data: Record<string, string> | undefined;
    try {
      data = (await clients.core.readNamespacedSecret({ namespace, name })).data;
    } catch (err) {
      if (isNotFound(err))
        throw ApplicationFailure.nonRetryable(
          `${what} Secret ${namespace}/${name} not found`,
          ProvisionFailure.SecretNotFound,
          { secret: name }
        );
      throw ApplicationFailure.retryable(`read ${what} Secret ${namespace}/${name}: ${errorMessage(err)}`);
    }
    const value = data?.value;
    if (!value)
      throw ApplicationFailure.nonRetryable(
        `${what} Secret ${namespace}/${name} has no key "value"`,
        ProvisionFailure.InvalidSecret
      );
    return Buffer.from(value, 'base64');
  }

  /**
   * A connection for this step: an idle one the machine's previous step left (same host, user and
   * key, and a host key this step's policy accepts), else a new one. The key Secret is read every
   * time, so a rotated or removed key takes effect at the next step.
   */
  async function connect(input: HostInput): Promise<{ conn: SshConnection; key: PoolKey }> {
    const { target, machine } = input;
    const privateKey = await secretValue(machine.namespace, target.keySecretName, 'SSH key');
    const hostKeyPolicy: HostKeyPolicy = target.knownHosts
      ? { kind: 'pinned', knownHosts: target.knownHosts }
      : {
          kind: 'trust-on-first-use',
          ...(input.recordedHostKey ? { recorded: input.recordedHostKey } : {}),
        };
    const key: PoolKey = {
      machineUid: machine.uid,
      address: target.address,
      port: target.port,
      user: target.user,
      privateKey,
    };
    const idle = connections.take(key, hostKeyPolicy);
    // Nothing recorded yet means the key is still to be recorded, whichever connection presented it.
    const unrecorded = hostKeyPolicy.kind === 'trust-on-first-use' && !hostKeyPolicy.recorded;
    if (idle) return { conn: { ...idle, hostKeyNewlyTrusted: unrecorded }, key };
    const conn = await connectSsh({
      address: target.address,
      port: target.port,
      user: target.user,
      privateKey,
      hostKeyPolicy,
    });
    return { conn, key };
  }

  /** Runs `use` on a connection; a step that succeeded leaves it for the next one, a failure closes it. */
  async function withHost<T>(input: HostInput, use: (conn: SshConnection) => Promise<T>): Promise<T> {
    const { conn, key } = await connect(input);
    let result: T;
    try {
      result = await use(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
    connections.put(key, conn);
    return result;
  }

  async function bootstrapPlan(namespace: string, secretName: string): Promise<BootstrapPlan> {
    const data = await secretValue(namespace, secretName, 'bootstrap data');
    const parsed = parseBootstrapData(data.toString('utf8'));
    if (!parsed.ok)
      throw ApplicationFailure.nonRetryable(
        `bootstrap data ${secretName}: ${parsed.error}`,
        ProvisionFailure.InvalidBootstrapData
      );
    return parsed.plan;
  }

  return {
    async checkHost(input) {
      return withHost(input, async (conn) => {
        if (input.target.useSudo) {
          const result = await runCommand(conn, 'true', { sudo: true, signal: cancellationSignal() });
          if (result.exitCode !== 0) throw commandFailure('sudo check', result);
        }
        return { hostKey: conn.hostKey, newlyTrusted: conn.hostKeyNewlyTrusted };
      });
    },

    async uploadBootstrapFiles(input) {
      const plan = await bootstrapPlan(input.machine.namespace, input.bootstrapSecretName);
      const files = input.commandsAsScript
        ? [...plan.files, installScriptFile(input.workingDir, plan.commands)]
        : plan.files;
      await withHost(input, async (conn) => {
        for (const file of files) {
          heartbeat();
          await uploadFile(
            conn,
            {
              path: file.path,
              content: plannedFileContent(file),
              mode: file.mode,
              ...(file.owner ? { owner: file.owner } : {}),
              sudo: input.target.useSudo,
            },
            { signal: cancellationSignal() }
          );
        }
      });
      return { files: files.length };
    },

    async runBootstrapCommands(input) {
      const plan = await bootstrapPlan(input.machine.namespace, input.bootstrapSecretName);
      const steps = bootstrapSteps(plan, input);
      const dir = journalDir(input.machine.uid);
      let ran = 0;
      let skipped = 0;
      await withHost(input, async (conn) => {
        for (const [index, step] of steps.entries()) {
          heartbeat({ step: index });
          const result = await runCommand(
            conn,
            journaledCommand({ dir, stepId: `${index}-${step.digest}`, command: step.command }),
            { heartbeat: () => heartbeat(), sudo: input.target.useSudo, signal: cancellationSignal() }
          );
          if (result.exitCode !== 0) throw commandFailure(step.name, result);
          if (journalSkipped(result.stdoutTail)) skipped++;
          else ran++;
        }
      });
      log.info('bootstrap commands done', { ran, skipped, attempt: activityInfo().attempt });
      return { ran, skipped };
    },

    async checkBootstrapSentinel(input) {
      await withHost(input, (conn) => requireFile(conn, BOOTSTRAP_SENTINEL, input.target.useSudo));
    },

    async cleanUpHost(input) {
      const commands = input.customCommands ?? (await defaultCleanup(input));
      const failures: string[] = [];
      await withHost(input, async (conn) => {
        // Provisioning may still run on the host: the workflow's cancellation reaches the activity only
        // at its next heartbeat, so stop the journaled command here, before cleaning up under it.
        await runCommand(conn, stopJournaledCommands(journalDir(input.machine.uid)), {
          sudo: input.target.useSudo,
          signal: cancellationSignal(),
        });
        for (const [index, command] of commands.entries()) {
          heartbeat({ step: index });
          const result = await runCommand(conn, command, {
            heartbeat: () => heartbeat(),
            sudo: input.target.useSudo,
            signal: cancellationSignal(),
          });
          if (result.exitCode !== 0)
            failures.push(`${stepName('cleanup', index, command)}: exit ${result.exitCode}`);
        }
        await runCommand(conn, `rm -rf ${journalDir(input.machine.uid)}`, {
          sudo: input.target.useSudo,
          signal: cancellationSignal(),
        });
      });
      return { ran: commands.length, failures };
    },
  };

  /**
   * The default k0s cleanup for the machine's role. The bootstrap data, while still there, tells the
   * kubelet root dir to wipe and, when the Machine names no k0s bootstrap config, the role installed.
   */
  async function defaultCleanup(input: CleanupInput): Promise<string[]> {
    let commands: string[] = [];
    if (input.bootstrapSecretName) {
      try {
        commands = (await bootstrapPlan(input.machine.namespace, input.bootstrapSecretName)).commands;
      } catch {
        // Deletion never depends on bootstrap objects still being there (k0smotron #1186).
      }
    }
    const role = input.role === 'other' ? k0sRoleFromCommands(commands) : input.role;
    return defaultCleanupCommands(role, kubeletRootDirOf(commands));
  }
}

interface BootstrapStep {
  /** How failures name it: `runcmd[2] (k0s)`. Never the whole command: it may carry secrets. */
  name: string;
  command: string;
  /** Changes when what runs changes, so an edited command is not taken for a completed one. */
  digest: string;
}

function bootstrapSteps(plan: BootstrapPlan, input: ProvisionInput): BootstrapStep[] {
  if (input.commandsAsScript) {
    const script = installScriptFile(input.workingDir, plan.commands);
    const path = installScriptPath(input.workingDir);
    return [{ name: `script ${path}`, command: path, digest: digest(script.content) }];
  }
  return plan.commands.map((command, index) => ({
    name: stepName('runcmd', index, command),
    command,
    digest: digest(command),
  }));
}

function stepName(list: string, index: number, command: string): string {
  const program = command.trim().split(/\s+/)[0] ?? '';
  return `${list}[${index}] (${program.slice(0, 40)})`;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
