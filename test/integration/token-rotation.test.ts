// Join-token rotation against a real child API server (the proving ground's `second` cluster) on
// Temporal's time-skipping test server: an hour of token lifetime passes in seconds, while every token,
// data Secret and deletion is real. The Machines are paused so that CAPI core keeps out: the test plays
// CAPI (owner references, status.nodeRef) and the bootstrap workflow (config status).
import { readFileSync, rmSync } from 'node:fs';

import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { Client, type WorkflowHandle } from '@temporalio/client';
// CommonJS: its namespaces come through the default export under ESM.
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { parse, stringify } from 'yaml';

import type { IssuedData } from '../../src/activities/bootstrap.js';
import { createActivities } from '../../src/activities/index.js';
import { decodeTokenFile } from '../../src/activities/join-token.js';
import { loadKubeConfig, makeKubeClients } from '../../src/activities/kube-client.js';
import { BOOTSTRAP_GROUP } from '../../src/domain/api/groups.js';
import { TOKEN_CONFIG_NAMESPACE_LABEL, TOKEN_CONFIG_NAME_LABEL } from '../../src/domain/join-token.js';
import { CLUSTER_NAME_LABEL, type ObjectRef } from '../../src/domain/resources.js';
import { tokenRotationWorkflowId } from '../../src/domain/workflow-id.js';
import {
  TOKEN_ROTATION_WORKFLOW_TYPE,
  rotateTokensUpdate,
  searchAttributes,
  tokenRotationStateQuery,
  type RotationPassSummary,
  type TokenRotationInput,
  type TokenRotationState,
} from '../../src/workflows/messages.js';
import { temporalTestServerPath } from '../proving-ground/paths.js';
import { createNamespace, eventually, managementKube, provingGround, type Kube } from '../harness/env.js';
import { historyText } from '../harness/histories.js';
import { k0sflowCli as runCli } from '../harness/machines.js';
import { MACHINE } from '../harness/resources.js';
import { bundleWorkflows } from '../harness/workflow-bundle.js';

const CLUSTER_NAME = 'rotating';
const TTL_SECONDS = 3600;
const TASK_QUEUE = 'token-rotation';
const KWC = { group: BOOTSTRAP_GROUP, version: 'v1beta1', plural: 'k0sworkerconfigs' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A worker's join token as issueBootstrapData returned it. */
interface Issued {
  tokenId: string;
  tokenExpiresAt: string;
}

interface Token {
  id: string;
  secret: string;
  expiration: string;
}

/** The admin kubeconfig of the `second` cluster with every file inlined, as a `-kubeconfig` Secret holds it. */
function inlineKubeconfig(path: string): { text: string; server: string; caPem: string } {
  const config = new KubeConfig();
  config.loadFromFile(path);
  const cluster = config.getCurrentCluster()!;
  const user = config.getCurrentUser()!;
  const data = (inline: string | undefined, file: string | undefined): string =>
    inline ?? readFileSync(file!).toString('base64');
  const caData = data(cluster.caData, cluster.caFile);
  const text = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: CLUSTER_NAME, cluster: { server: cluster.server, 'certificate-authority-data': caData } },
    ],
    users: [
      {
        name: 'admin',
        user: {
          'client-certificate-data': data(user.certData, user.certFile),
          'client-key-data': data(user.keyData, user.keyFile),
        },
      },
    ],
    contexts: [{ name: 'admin', context: { cluster: CLUSTER_NAME, user: 'admin' } }],
    'current-context': 'admin',
  });
  return { text, server: cluster.server, caPem: Buffer.from(caData, 'base64').toString('utf8') };
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function secretField(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`Secret ${secret.metadata?.name} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The kubeconfig k0s would read from the token file in a data Secret's cloud-config. */
function joinKubeconfigOf(dataSecret: V1Secret): {
  server: string;
  caPem: string;
  user: string;
  token: string;
  tokenFile: string;
} {
  const cloud = parse(secretField(dataSecret, 'value')) as {
    write_files: { path: string; content: string }[];
  };
  const tokenFile = cloud.write_files.find((f) => f.path === '/etc/k0s.token')!.content;
  const doc = parse(decodeTokenFile(tokenFile)) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { name: string; user: { token: string } }[];
  };
  return {
    server: doc.clusters[0]!.cluster.server,
    caPem: Buffer.from(doc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString('utf8'),
    user: doc.users[0]!.name,
    token: doc.users[0]!.user.token,
    tokenFile,
  };
}

describe('join-token rotation, on time-skipping Temporal against a real child cluster', () => {
  const pg = provingGround();
  let kube: Kube;
  let ns: string;
  let child: CoreV1Api;
  let second: ReturnType<typeof inlineKubeconfig>;
  let env: TestWorkflowEnvironment;
  /**
   * A plain client: the environment's own skips time whenever it waits for a result, and with no timer
   * pending it skips years (to the run timeout), leaving every fresh token long expired.
   */
  let client: Client;
  let worker: Worker;
  let workerDone: Promise<void>;
  let bundle: string | undefined;
  const refs = new Map<string, ObjectRef>();
  const issued = new Map<string, Issued>();
  /** Every token secret the child ever held for this test: none may reach a workflow history. */
  const secrets = new Set<string>();
  const tokenFiles = new Set<string>();

  const rotation = (): WorkflowHandle => client.workflow.getHandle(tokenRotationWorkflowId(ns, CLUSTER_NAME));
  const state = (): Promise<TokenRotationState> => rotation().query(tokenRotationStateQuery);

  /** The child's tokens of one config, oldest expiry first; remembers their secrets. */
  async function tokensOf(config: string): Promise<Token[]> {
    const listed = await child.listNamespacedSecret({
      namespace: 'kube-system',
      labelSelector: `${TOKEN_CONFIG_NAMESPACE_LABEL}=${ns},${TOKEN_CONFIG_NAME_LABEL}=${config}`,
    });
    const tokens = listed.items.map((s) => ({
      id: secretField(s, 'token-id'),
      secret: secretField(s, 'token-secret'),
      expiration: secretField(s, 'expiration'),
    }));
    for (const t of tokens) secrets.add(t.secret);
    return tokens.sort((a, b) => Date.parse(a.expiration) - Date.parse(b.expiration));
  }

  const dataSecret = (config: string): Promise<V1Secret> =>
    kube.core.readNamespacedSecret({ namespace: ns, name: config });

  /** Skips workflow time to `at` (epoch ms), firing the rotation workflow's timers on the way. */
  async function skipTo(at: number): Promise<void> {
    const now = await env.currentTimeMs();
    if (at > now) await env.sleep(at - now);
  }

  beforeAll(async () => {
    kube = managementKube();
    ns = await createNamespace(kube, 'token-rotation');
    second = inlineKubeconfig(pg.second!.kubeconfig);
    const childConfig = new KubeConfig();
    childConfig.loadFromString(second.text);
    child = childConfig.makeApiClient(CoreV1Api);
    await createClusterObjects();

    Runtime.install({ logger: new DefaultLogger('WARN') });
    const [bundled, testEnv] = await Promise.all([
      bundleWorkflows('test/harness/token-rotation-workflows.ts'),
      TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
      }),
    ]);
    env = testEnv;
    bundle = bundled;
    client = new Client({ connection: env.connection });
    // What `k0sflow run` registers (the test server has no list call, so ensureSearchAttributes cannot).
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.values(searchAttributes).map((key) => [
          key.name,
          proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        ])
      ),
    });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: bundled },
      activities: createActivities(makeKubeClients(loadKubeConfig(pg.management.kubeconfig)), {
        tokenTtlSeconds: TTL_SECONDS,
      }),
    });
    workerDone = worker.run();
  }, 240_000);

  afterAll(async () => {
    if (worker) {
      worker.shutdown();
      await workerDone;
    }
    await env?.teardown();
    if (bundle) rmSync(bundle, { force: true });
    // The second cluster is shared: leave none of this test's tokens in it.
    if (child && ns)
      await child.deleteCollectionNamespacedSecret({
        namespace: 'kube-system',
        labelSelector: `${TOKEN_CONFIG_NAMESPACE_LABEL}=${ns}`,
      });
  });

  /** A Cluster at the second cluster, its kubeconfig and CA, and two Machines with their configs. */
  async function createClusterObjects(): Promise<void> {
    const endpoint = new URL(second.server);
    await kube.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: `${CLUSTER_NAME}-kubeconfig`, labels: { [CLUSTER_NAME_LABEL]: CLUSTER_NAME } },
        type: 'cluster.x-k8s.io/secret',
        stringData: { value: second.text },
      },
    });
    await kube.core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: `${CLUSTER_NAME}-ca`, labels: { [CLUSTER_NAME_LABEL]: CLUSTER_NAME } },
        type: 'cluster.x-k8s.io/secret',
        stringData: { 'tls.crt': second.caPem },
      },
    });
    const cluster = (await kube.objects.create({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: { name: CLUSTER_NAME, namespace: ns },
      spec: {
        controlPlaneEndpoint: { host: endpoint.hostname, port: Number(endpoint.port) },
        // CAPI asks for a provider; it never comes, and the paused Machines keep CAPI away from them.
        infrastructureRef: {
          apiGroup: 'infrastructure.cluster.x-k8s.io',
          kind: 'RemoteCluster',
          name: CLUSTER_NAME,
        },
      },
    } as KubernetesObject)) as KubernetesObject & { spec: { paused?: boolean } };
    // Rotation stays away from paused Clusters (clusterctl move): this one is not.
    expect(cluster.spec.paused).toBeUndefined();
    for (const name of ['joins', 'waits']) await createMachine(name);
  }

  async function createMachine(name: string): Promise<void> {
    await kube.objects.create({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
      kind: 'RemoteMachine',
      metadata: { name, namespace: ns },
      spec: { address: '192.0.2.10', port: 22, sshKeyRef: { name: 'nobody' } },
    } as KubernetesObject);
    const machine = await kube.objects.create({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Machine',
      // Paused: CAPI's Machine controller leaves it to the test, which plays it (owner, nodeRef).
      metadata: { name, namespace: ns, annotations: { 'cluster.x-k8s.io/paused': 'true' } },
      spec: {
        clusterName: CLUSTER_NAME,
        bootstrap: { configRef: { apiGroup: BOOTSTRAP_GROUP, kind: 'K0sWorkerConfig', name } },
        infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'RemoteMachine', name },
      },
    } as KubernetesObject);
    // What CAPI's Machine controller would do, were the Machine not paused: own the config, label it.
    const config = await kube.objects.create({
      apiVersion: `${BOOTSTRAP_GROUP}/v1beta1`,
      kind: 'K0sWorkerConfig',
      metadata: {
        name,
        namespace: ns,
        labels: { [CLUSTER_NAME_LABEL]: CLUSTER_NAME },
        ownerReferences: [
          {
            apiVersion: 'cluster.x-k8s.io/v1beta2',
            kind: 'Machine',
            name,
            uid: machine.metadata!.uid!,
            controller: true,
          },
        ],
      },
      spec: { version: 'v1.30.1+k0s.0' },
    } as KubernetesObject);
    refs.set(name, {
      ...KWC,
      kind: 'K0sWorkerConfig',
      namespace: ns,
      name,
      uid: config.metadata!.uid!,
    });
  }

  it('issues bootstrap data: a join token in the child, its token file in the data Secret', async () => {
    for (const name of ['joins', 'waits']) {
      const result = await client.workflow.execute('issueBootstrapDataWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `issue/${ns}/${name}`,
        args: [refs.get(name)!],
      });
      const data = result as IssuedData;
      expect(data).toMatchObject({
        dataSecretName: name,
        minted: true,
        tokenId: expect.stringMatching(/^[a-z0-9]{6}$/),
      });
      issued.set(name, { tokenId: data.tokenId!, tokenExpiresAt: data.tokenExpiresAt! });

      const [token, ...more] = await tokensOf(name);
      expect(more).toEqual([]);
      expect(token).toEqual({
        id: data.tokenId,
        secret: expect.any(String),
        expiration: data.tokenExpiresAt,
      });
      // Valid for the TTL from the workflow's now (the test server's clock, not this machine's).
      const expected = (await env.currentTimeMs()) + TTL_SECONDS * 1000;
      expect(Math.abs(Date.parse(token!.expiration) - expected)).toBeLessThan(60_000);

      const join = joinKubeconfigOf(await dataSecret(name));
      tokenFiles.add(join.tokenFile);
      expect(join).toMatchObject({
        server: second.server,
        caPem: second.caPem,
        user: 'kubelet-bootstrap',
        token: `${token!.id}.${token!.secret}`,
      });

      // What the bootstrap workflow reports once the data Secret is written.
      await kube.custom.patchNamespacedCustomObjectStatus(
        { ...KWC, namespace: ns, name, body: { status: { ready: true, dataSecretName: name } } },
        mergePatch
      );
    }
  });

  it('starts rotating: a first pass finds both tokens fresh and plans the renewal', async () => {
    const input: TokenRotationInput = { namespace: ns, clusterName: CLUSTER_NAME };
    await client.workflow.start(TOKEN_ROTATION_WORKFLOW_TYPE, {
      taskQueue: TASK_QUEUE,
      workflowId: tokenRotationWorkflowId(ns, CLUSTER_NAME),
      args: [input],
    });
    const first = await eventually(async () => {
      const s = await state();
      expect(s.passes).toBe(1);
      return s.last!;
    });
    expect(first).toEqual<RotationPassSummary>({
      at: expect.any(String),
      revoked: [],
      reissued: [],
      // A quarter of its hour before the first token expires.
      nextCheckAt: rfc3339(Date.parse(issued.get('joins')!.tokenExpiresAt) - (TTL_SECONDS / 4) * 1000),
    });
  });

  it('revokes the token of a machine that joined, in the pass `rotateTokens` asks for', async () => {
    await kube.custom.patchNamespacedCustomObjectStatus(
      { ...MACHINE, namespace: ns, name: 'joins', body: { status: { nodeRef: { name: 'node-joins' } } } },
      mergePatch
    );
    const summary = await rotation().executeUpdate(rotateTokensUpdate);
    const waits = issued.get('waits')!;
    expect(summary).toEqual<RotationPassSummary>({
      at: expect.any(String),
      revoked: [{ id: issued.get('joins')!.tokenId, why: 'joined' }],
      reissued: [],
      nextCheckAt: rfc3339(Date.parse(waits.tokenExpiresAt) - (TTL_SECONDS / 4) * 1000),
    });
    expect(await state()).toMatchObject({ passes: 2, revoked: 1, reissued: 0 });
    expect(await tokensOf('joins')).toEqual([]);
    expect((await tokensOf('waits')).map((t) => t.id)).toEqual([waits.tokenId]);
  });

  it('gives the waiting machine a new token and data when a quarter of its life is left', async () => {
    const before = issued.get('waits')!;
    const dataBefore = secretField(await dataSecret('waits'), 'value');
    const renewAt = Date.parse(before.tokenExpiresAt) - (TTL_SECONDS / 4) * 1000;
    // Just before: the sweeps on the way (every 10 minutes) leave the token alone.
    await skipTo(renewAt - 60_000);
    expect((await state()).reissued).toBe(0);
    expect((await tokensOf('waits')).map((t) => t.id)).toEqual([before.tokenId]);

    await skipTo(renewAt + 30_000);
    const last = await eventually(async () => {
      const s = await state();
      expect(s.reissued).toBe(1);
      return s.last!;
    });
    expect(last.reissued).toEqual(['K0sWorkerConfig/waits']);
    expect(last.revoked).toEqual([]);
    expect(Date.parse(last.at)).toBeGreaterThanOrEqual(renewAt);

    const [old, fresh, ...more] = await tokensOf('waits');
    expect(more).toEqual([]);
    expect(old!.id).toBe(before.tokenId);
    expect(Date.parse(fresh!.expiration)).toBe(Date.parse(last.at) + TTL_SECONDS * 1000);
    const dataAfter = await dataSecret('waits');
    expect(secretField(dataAfter, 'value')).not.toBe(dataBefore);
    const join = joinKubeconfigOf(dataAfter);
    tokenFiles.add(join.tokenFile);
    expect(join.token).toBe(`${fresh!.id}.${fresh!.secret}`);
    expect(join.server).toBe(second.server);
    issued.set('waits', { ...before, tokenId: fresh!.id, tokenExpiresAt: fresh!.expiration });
    issued.set('waits-old', before);
  });

  it('revokes the old token once it expired', async () => {
    const old = issued.get('waits-old')!;
    await skipTo(Date.parse(old.tokenExpiresAt) + 30_000);
    const last = await eventually(async () => {
      const s = await state();
      expect(s.revoked).toBe(2);
      return s.last!;
    });
    expect(last.revoked).toEqual([{ id: old.tokenId, why: 'expired' }]);
    expect(last.reissued).toEqual([]);
    expect((await tokensOf('waits')).map((t) => t.id)).toEqual([issued.get('waits')!.tokenId]);
  });

  it('revokes the token of a deleted machine: `k0sflow rotate-tokens` runs the pass and prints it', async () => {
    // Orphan: the config stays (the garbage collector would otherwise take it too, and its token would
    // go as 'config gone').
    await kube.custom.deleteNamespacedCustomObject({
      ...MACHINE,
      namespace: ns,
      name: 'waits',
      propagationPolicy: 'Orphan',
    });
    const cli = await k0sflowCli(['rotate-tokens', `${ns}/${CLUSTER_NAME}`]);
    expect(cli.code).toBe(0);
    // It found the workflow running: nothing started.
    expect(cli.stderr).not.toContain('started');
    expect(cli.stdout).toContain(`workflow id: ${tokenRotationWorkflowId(ns, CLUSTER_NAME)}\n`);
    expect(cli.stdout).toContain(`revoked: ${issued.get('waits')!.tokenId} (machine gone)\n`);
    expect(cli.stdout).toContain('reissued: -\n');
    expect(cli.stdout).toContain('error: -');
    expect(await tokensOf('waits')).toEqual([]);
    expect(await state()).toMatchObject({ revoked: 3, reissued: 1 });

    // Nothing left to do: a pass that changes nothing.
    const idle = await rotation().executeUpdate(rotateTokensUpdate);
    expect(idle).toMatchObject({ revoked: [], reissued: [] });
    expect(idle).not.toHaveProperty('error');
  });

  it('keeps token secrets and token files out of workflow histories', async () => {
    expect(secrets.size).toBe(3);
    expect(tokenFiles.size).toBe(3);
    // Each with a token id its payloads must show once decoded: the search below is not blind.
    const histories: [string, string][] = [
      [tokenRotationWorkflowId(ns, CLUSTER_NAME), issued.get('waits')!.tokenId],
      [`issue/${ns}/joins`, issued.get('joins')!.tokenId],
      [`issue/${ns}/waits`, issued.get('waits-old')!.tokenId],
    ];
    for (const [workflowId, tokenId] of histories) {
      const text = historyText(await client.workflow.getHandle(workflowId).fetchHistory());
      expect(text).toContain(tokenId);
      for (const secret of secrets) expect(text).not.toContain(secret);
      for (const file of tokenFiles) expect(text).not.toContain(file.slice(0, 40));
    }
  });

  it('`k0sflow rotate-tokens` starts the workflow when none runs', async () => {
    await rotation().terminate('the test stops it');
    const cli = await k0sflowCli(['rotate-tokens', `${ns}/${CLUSTER_NAME}`, '--task-queue', TASK_QUEUE]);
    expect(cli.stderr).toContain(
      `started ${tokenRotationWorkflowId(ns, CLUSTER_NAME)} on task queue ${TASK_QUEUE}`
    );
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('revoked: -\n');
    const described = await rotation().describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.type).toBe(TOKEN_ROTATION_WORKFLOW_TYPE);
    // Found as the bridge's would be.
    const attributes = described.typedSearchAttributes;
    expect(attributes.get(searchAttributes.kind)).toBe('TokenRotation');
    expect(attributes.get(searchAttributes.namespace)).toBe(ns);
    expect(attributes.get(searchAttributes.cluster)).toBe(CLUSTER_NAME);
  });

  /** The CLI from source against the test server; it must find the running workflow. */
  function k0sflowCli(args: string[]): ReturnType<typeof runCli> {
    return runCli(args, { address: env.address, namespace: env.namespace ?? 'default' });
  }
});
