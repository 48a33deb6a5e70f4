#!/usr/bin/env node
import { Argument, Command, InvalidArgumentError, Option } from 'commander';

import { DEFAULT_TOKEN_TTL_SECONDS } from '../domain/join-token.js';
import type { TemporalFlags } from '../temporal-config.js';
import { errorText, isLogLevel, type LogLevel } from '../util/log.js';
import { parseObjectName, retryMachine, statusMachine, type ObjectName } from './machine.js';
import { run } from './run.js';
import { parseTokenTtl, rotateTokens } from './tokens.js';

function parseLogLevel(value: string): LogLevel {
  if (!isLogLevel(value)) throw new InvalidArgumentError('one of debug, info, warn, error');
  return value;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive whole number');
  return n;
}

function parseObjectArgument(value: string): ObjectName {
  try {
    return parseObjectName(value);
  } catch (err) {
    throw new InvalidArgumentError(errorText(err));
  }
}

/** The connection flags every command that talks to Temporal shares. */
function addTemporalOptions(command: Command): Command {
  return command
    .option('--address <host:port>', 'Temporal frontend (default: $TEMPORAL_ADDRESS, else localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE, else default)')
    .option('--api-key <key>', 'Temporal API key (default: $TEMPORAL_API_KEY)')
    .option('--tls-cert-path <path>', 'client certificate (default: $TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key-path <path>', 'client key (default: $TEMPORAL_TLS_CLIENT_KEY_PATH)')
    .option('--tls-ca-path <path>', 'server CA (default: $TEMPORAL_TLS_SERVER_CA_CERT_PATH)')
    .option('--tls-server-name <name>', 'server name to verify (default: $TEMPORAL_TLS_SERVER_NAME)');
}

function temporalFlags(o: Record<string, unknown>): TemporalFlags {
  return {
    address: o.address as string | undefined,
    namespace: o.namespace as string | undefined,
    apiKey: o.apiKey as string | undefined,
    tlsCertPath: o.tlsCertPath as string | undefined,
    tlsKeyPath: o.tlsKeyPath as string | undefined,
    tlsCaPath: o.tlsCaPath as string | undefined,
    tlsServerName: o.tlsServerName as string | undefined,
  };
}

function machineArgument(): Argument {
  return new Argument('<namespace/name>', 'the RemoteMachine').argParser(parseObjectArgument);
}

export function buildProgram(): Command {
  const program = new Command('k0sflow')
    .description('Cluster API provider for k0s clusters; every reconcile is a durable Temporal workflow')
    .showHelpAfterError();

  const runCommand = program
    .command('run')
    .description('run the bridge (Kubernetes watches to workflows, while leader) and the worker')
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the management cluster (default: $KUBECONFIG, else in-cluster)'
    )
    .addOption(
      new Option('--watch-namespace <ns>', 'drive objects of this namespace only').env(
        'K0SFLOW_WATCH_NAMESPACE'
      )
    );
  addTemporalOptions(runCommand)
    .addOption(
      new Option('--task-queue <name>', 'Temporal task queue').env('K0SFLOW_TASK_QUEUE').default('k0sflow')
    )
    .addOption(
      new Option('--log-level <level>', 'debug, info, warn or error')
        .env('K0SFLOW_LOG_LEVEL')
        .default('info')
        .argParser(parseLogLevel)
    )
    .option('--no-leader-elect', 'drive without a Lease (only when a single replica runs)')
    .addOption(
      new Option('--leader-election-namespace <ns>', 'namespace of the Lease')
        .env('POD_NAMESPACE')
        .default('k0sflow-system')
    )
    .option('--leader-election-id <name>', 'name of the Lease', 'k0sflow')
    .option('--no-bridge', 'run the worker only')
    .option('--no-worker', 'run the bridge only')
    .option('--relist-interval <seconds>', 'full relist period of every watch', parsePositiveInt, 600)
    .addOption(
      new Option('--token-ttl <duration>', "join tokens' lifetime unless a Cluster's annotation says")
        .env('K0SFLOW_TOKEN_TTL')
        .default(DEFAULT_TOKEN_TTL_SECONDS, '24h')
        .argParser(parseTokenTtl)
    )
    .action(async (o: Record<string, unknown>) => {
      await run({
        ...temporalFlags(o),
        kubeconfig: o.kubeconfig as string | undefined,
        watchNamespace: o.watchNamespace as string | undefined,
        taskQueue: o.taskQueue as string,
        logLevel: o.logLevel as LogLevel,
        leaderElect: o.leaderElect as boolean,
        leaderElectionNamespace: o.leaderElectionNamespace as string,
        leaderElectionId: o.leaderElectionId as string,
        bridge: o.bridge as boolean,
        worker: o.worker as boolean,
        relistIntervalSeconds: o.relistInterval as number,
        tokenTtlSeconds: o.tokenTtl as number,
      });
    });

  addTemporalOptions(
    program
      .command('status')
      .description('show what a workflow is doing')
      .command('machine')
      .description("show the state of a RemoteMachine's workflow")
      .addArgument(machineArgument())
      .addOption(new Option('--ui-url <url>', 'base URL of the Temporal Web UI').env('TEMPORAL_UI_URL'))
  ).action(async (object: ObjectName, o: Record<string, unknown>) => {
    await statusMachine(object, { ...temporalFlags(o), uiUrl: o.uiUrl as string | undefined });
  });

  addTemporalOptions(
    program
      .command('retry')
      .description('ask a workflow to try again now')
      .command('machine')
      .description("end a RemoteMachine's backoff or wait for an operator")
      .addArgument(machineArgument())
      .option('--accept-host-key', 'trust the host key the machine presented last (trust on first use only)')
  ).action(async (object: ObjectName, o: Record<string, unknown>) => {
    await retryMachine(object, { ...temporalFlags(o), acceptHostKey: o.acceptHostKey === true });
  });

  addTemporalOptions(
    program
      .command('rotate-tokens')
      .description("run a pass of a Cluster's join-token rotation now and show what it did")
      .addArgument(new Argument('<namespace/cluster>', 'the CAPI Cluster').argParser(parseObjectArgument))
  )
    .addOption(
      new Option('--task-queue <name>', 'task queue, should the workflow have to be started')
        .env('K0SFLOW_TASK_QUEUE')
        .default('k0sflow')
    )
    .action(async (cluster: ObjectName, o: Record<string, unknown>) => {
      await rotateTokens(cluster, { ...temporalFlags(o), taskQueue: o.taskQueue as string });
    });
  return program;
}

await buildProgram().parseAsync(process.argv);
