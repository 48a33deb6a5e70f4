// The bootstrap provider's I/O: join tokens in the child cluster, the bootstrap data Secret, the Node's
// providerID, and what token rotation needs to know. Token material and CA keys are read and written here
// and never returned: workflows get names, ids and times.
import { request } from 'node:https';

import { PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';

import { K0sControllerConfigSpecSchema, K0sWorkerConfigSpecSchema } from '../domain/api/bootstrap.js';
import type { ContentSource, K0sWorkerConfigSpec } from '../domain/api/bootstrap.js';
import { BOOTSTRAP_API_VERSION, BOOTSTRAP_GROUP } from '../domain/api/groups.js';
import {
  BOOTSTRAP_COMPONENT_LABEL,
  CONTROLLER_CONFIG_KIND,
  DATA_SECRET_TYPE,
  WORKER_CONFIG_KIND,
  joinRoleOf,
  type ConfigFacts,
  type TokenFacts,
} from '../domain/bootstrap-config.js';
import {
  invalidVersionProblem,
  planConfigData,
  type ConfigDataInput,
  type PlannedData,
} from '../domain/bootstrap-data.js';
import {
  CLUSTER_TOKEN_TTL_ANNOTATION,
  DEFAULT_TOKEN_TTL_SECONDS,
  MANAGED_BY_LABEL,
  TOKEN_CONFIG_KIND_LABEL,
  TOKEN_CONFIG_NAME_LABEL,
  TOKEN_CONFIG_NAMESPACE_LABEL,
  TOKEN_NAMESPACE,
  TOKEN_TTL_ANNOTATION,
  joinKubeconfig,
  joinServerURL,
  labelSafe,
  parseDurationSeconds,
  rfc3339Seconds,
  tokenSecretManifest,
  tokenSecretName,
  type JoinRole,
  type TokenOwner,
} from '../domain/join-token.js';
import {
  CLUSTER_NAME_LABEL,
  CLUSTER_RESOURCE,
  PAUSED_ANNOTATION,
  MACHINE_RESOURCE,
  type ObjectRef,
} from '../domain/resources.js';
import {
  certificateSecretName,
  controllerJoinServerCandidates,
  controllerPkiFiles,
  firstRunningControllerMachine,
  isFirstController,
  type ControllerMachine,
  type PkiFile,
} from '../domain/controller-bootstrap.js';
import { MACHINE_NAME_NODE_LABEL } from '../domain/worker-bootstrap.js';
import { ChildClusters, childCall, type ChildCluster } from './child-cluster.js';
import { encodeTokenFile, newBootstrapToken } from './join-token.js';
import { errorMessage, isNotFound, nullIfNotFound, type KubeClients } from './kube-client.js';
import { FIELD_MANAGER, kubeCall } from './objects.js';

/** Failure types the bootstrap workflow reports as conditions (see src/workflows/bootstrap-config.ts). */
export const INVALID_BOOTSTRAP_SPEC = 'InvalidSpec';
export const BOOTSTRAP_INPUT_MISSING = 'BootstrapInputMissing';
export const BOOTSTRAP_UNSUPPORTED = 'Unsupported';

export interface BootstrapActivityOptions {
  /** Lifetime of a join token when the Cluster does not say (annotation bootstrap.k0sflow.dev/token-ttl). */
  tokenTtlSeconds?: number;
}

export interface IssueInput {
  ref: ObjectRef;
  /** The workflow's clock: tokens expire relative to it, so time-skipping tests see what production sees. */
  nowMs: number;
}

export interface IssuedData {
  dataSecretName: string;
  /** Absent for a first controller: it gets the cluster's key material instead of a token. */
  tokenId?: string;
  /** RFC 3339. */
  tokenExpiresAt?: string;
  /** False when a token issued earlier (an earlier attempt of this activity) was still fresh and reused. */
  minted: boolean;
}

export interface NodeIdentityInput {
  namespace: string;
  clusterName: string;
  machineName: string;
  providerID: string;
}

export type NodeIdentityResult =
  | { outcome: 'set' | 'already'; node: string }
  | { outcome: 'notFound' }
  | { outcome: 'conflict'; node: string; message: string };

export interface TokenScope {
  namespace: string;
  clusterName: string;
}

export interface RotationFacts {
  /** The Cluster is gone and so is its kubeconfig: nothing left to rotate. */
  clusterGone: boolean;
  /** The Cluster is paused (e.g. by `clusterctl move`): hands off its tokens and data. */
  paused: boolean;
  tokens: TokenFacts[];
  configs: ConfigFacts[];
  defaultTtlSeconds: number;
}

export interface BootstrapActivities {
  /** Finds or mints the config's join token and writes its bootstrap data Secret. */
  issueBootstrapData(input: IssueInput): Promise<IssuedData>;
  /** Sets `spec.providerID` on the Node the Machine's kubelet registered, so CAPI can set the nodeRef. */
  ensureNodeProviderID(input: NodeIdentityInput): Promise<NodeIdentityResult>;
  /** Deletes the config's join tokens (its machine joined or went); returns how many. */
  revokeConfigTokens(input: TokenScope & { configKind: string; configName: string }): Promise<number>;
  /** Deletes join tokens by id (rotation); returns how many were there. */
  deleteJoinTokens(input: TokenScope & { ids: string[] }): Promise<number>;
  listRotationFacts(input: TokenScope): Promise<RotationFacts>;
}

interface RawConfig {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; apiVersion: string; name: string; uid: string }[];
  };
  spec?: unknown;
  status?: { ready?: boolean; dataSecretName?: string };
}

interface RawMachine {
  metadata: {
    name: string;
    uid: string;
    deletionTimestamp?: unknown;
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
  };
  spec?: { clusterName?: string; version?: string; providerID?: string };
  status?: { nodeRef?: { name?: string }; phase?: string; addresses?: { type: string; address: string }[] };
}

interface RawCluster {
  metadata: { annotations?: Record<string, string> };
  spec?: { paused?: boolean; controlPlaneEndpoint?: { host?: string; port?: number } };
}

function isPausedCluster(cluster: RawCluster | null): boolean {
  return cluster?.spec?.paused === true || cluster?.metadata.annotations?.[PAUSED_ANNOTATION] !== undefined;
}

/** On the data Secret: the id (not the secret) of the join token in it, so rotation knows who uses one. */
export const DATA_TOKEN_ID_ANNOTATION = 'bootstrap.k0sflow.dev/token-id';

const CONFIG_KINDS = [WORKER_CONFIG_KIND, CONTROLLER_CONFIG_KIND];

type ControllerRoleFacts = { kind: 'first'; pki: PkiFile[] } | { kind: 'joining'; server: string };

const CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane';

function controllerMachineOf(m: RawMachine): ControllerMachine {
  return {
    name: m.metadata.name,
    creationTimestamp: m.metadata.creationTimestamp
      ? new Date(m.metadata.creationTimestamp).toISOString()
      : '',
    ...(m.spec?.version ? { version: m.spec.version } : {}),
    ...(m.status?.phase ? { phase: m.status.phase } : {}),
  };
}

/** Whether anything answers HTTPS at `url` within `ms` (k0smotron's probe of k0s's join API; any status counts). */
function answersWithin(url: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', rejectUnauthorized: false, timeout: ms }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

interface IssueFacts {
  config: RawConfig;
  cluster: RawCluster | null;
  clusterName: string;
  role: JoinRole;
  /** `https://<Cluster endpoint>`: where joining nodes find the API server. */
  server: string;
  owner: TokenOwner;
  planInput: Omit<ConfigDataInput, 'token'>;
}

function parseSpec(kind: string, spec: unknown): K0sWorkerConfigSpec {
  const schema = kind === CONTROLLER_CONFIG_KIND ? K0sControllerConfigSpecSchema : K0sWorkerConfigSpecSchema;
  const parsed = schema.safeParse(spec ?? {});
  if (!parsed.success)
    throw ApplicationFailure.nonRetryable(
      `invalid spec: ${parsed.error.issues[0]?.message ?? ''}`,
      INVALID_BOOTSTRAP_SPEC
    );
  return parsed.data;
}

export function createBootstrapActivities(
  clients: KubeClients,
  options: BootstrapActivityOptions = {}
): BootstrapActivities {
  const { core, custom } = clients;
  const children = new ChildClusters(clients);
  const defaultTtl = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;

  async function readConfig(ref: ObjectRef): Promise<RawConfig> {
    const raw = await kubeCall(`read ${ref.kind} ${ref.namespace}/${ref.name}`, () =>
      nullIfNotFound(() => custom.getNamespacedCustomObject({ ...ref }) as Promise<RawConfig>)
    );
    if (!raw || raw.metadata.uid !== ref.uid)
      throw ApplicationFailure.nonRetryable(`${ref.kind} ${ref.namespace}/${ref.name} is gone`, 'ObjectGone');
    return raw;
  }

  async function readOwnerMachine(config: RawConfig): Promise<RawMachine> {
    const owner = config.metadata.ownerReferences?.find(
      (o) => o.kind === 'Machine' && o.apiVersion.startsWith('cluster.x-k8s.io/')
    );
    const missing = (): ApplicationFailure =>
      ApplicationFailure.nonRetryable('the owner Machine is not there yet', BOOTSTRAP_INPUT_MISSING);
    if (!owner) throw missing();
    const machine = await kubeCall(`read Machine ${config.metadata.namespace}/${owner.name}`, () =>
      nullIfNotFound(
        () =>
          custom.getNamespacedCustomObject({
            ...MACHINE_RESOURCE,
            namespace: config.metadata.namespace,
            name: owner.name,
          }) as Promise<RawMachine>
      )
    );
    if (!machine) throw missing();
    return machine;
  }

  async function readClusterRaw(namespace: string, name: string): Promise<RawCluster | null> {
    return kubeCall(`read Cluster ${namespace}/${name}`, () =>
      nullIfNotFound(
        () =>
          custom.getNamespacedCustomObject({ ...CLUSTER_RESOURCE, namespace, name }) as Promise<RawCluster>
      )
    );
  }

  function ttlOf(cluster: RawCluster | null): number {
    return parseDurationSeconds(cluster?.metadata.annotations?.[CLUSTER_TOKEN_TTL_ANNOTATION]) ?? defaultTtl;
  }

  /** A file's content from the Secret or ConfigMap `contentFrom` names, in the config's namespace. */
  async function contentOf(namespace: string, source: ContentSource): Promise<string> {
    const fromSecret = source.secretRef !== undefined;
    const ref = source.secretRef ?? source.configMapRef;
    if (!ref) throw ApplicationFailure.nonRetryable('contentFrom names no source', INVALID_BOOTSTRAP_SPEC);
    const what = `${fromSecret ? 'Secret' : 'ConfigMap'} ${namespace}/${ref.name}`;
    const missing = (detail: string): ApplicationFailure =>
      ApplicationFailure.nonRetryable(`file content: ${what} ${detail}`, BOOTSTRAP_INPUT_MISSING);
    if (fromSecret) {
      const secret = await kubeCall(`read ${what}`, () =>
        nullIfNotFound(() => core.readNamespacedSecret({ namespace, name: ref.name }))
      );
      const value = secret?.data?.[ref.key];
      if (!secret) throw missing('not found');
      if (value === undefined) throw missing(`has no key ${ref.key}`);
      return Buffer.from(value, 'base64').toString('utf8');
    }
    const map = await kubeCall(`read ${what}`, () =>
      nullIfNotFound(() => core.readNamespacedConfigMap({ namespace, name: ref.name }))
    );
    const value = map?.data?.[ref.key];
    if (!map) throw missing('not found');
    if (value === undefined) throw missing(`has no key ${ref.key}`);
    return value;
  }

  async function resolveFiles(
    namespace: string,
    files: readonly { path?: string; content?: string; permissions?: string; contentFrom?: ContentSource }[]
  ): Promise<{ path: string; content: string; permissions?: string }[]> {
    const resolved = [];
    for (const f of files) {
      const content = f.contentFrom ? await contentOf(namespace, f.contentFrom) : (f.content ?? '');
      resolved.push({
        path: f.path ?? '',
        content,
        ...(f.permissions ? { permissions: f.permissions } : {}),
      });
    }
    return resolved;
  }

  /** The cluster CA certificate new nodes must trust: `<cluster>-ca`'s, else the kubeconfig's. */
  async function clusterCaPem(namespace: string, clusterName: string, child: ChildCluster): Promise<string> {
    const secret = await kubeCall(`read Secret ${namespace}/${clusterName}-ca`, () =>
      nullIfNotFound(() => core.readNamespacedSecret({ namespace, name: `${clusterName}-ca` }))
    );
    const crt = secret?.data?.['tls.crt'];
    if (crt) return Buffer.from(crt, 'base64').toString('utf8');
    if (child.caPem) return child.caPem;
    throw ApplicationFailure.nonRetryable(
      `neither Secret ${clusterName}-ca nor ${clusterName}-kubeconfig gives the cluster CA`,
      BOOTSTRAP_INPUT_MISSING
    );
  }

  /** The owner's newest token with more than half its life left (a retried attempt), else a new one. */
  async function findOrMintToken(
    child: ChildCluster,
    owner: TokenOwner,
    role: JoinRole,
    ttlSeconds: number,
    nowMs: number
  ): Promise<{ id: string; secret: string; expiresAt: string; minted: boolean }> {
    const listed = await childCall(child, 'list join tokens', () =>
      child.core.listNamespacedSecret({ namespace: TOKEN_NAMESPACE, labelSelector: ownerSelector(owner) })
    );
    const fresh = listed.items
      .map(tokenOf)
      .filter((t): t is NonNullable<ReturnType<typeof tokenOf>> => t !== undefined)
      .filter((t) => Date.parse(t.expiresAt) - nowMs > (ttlSeconds * 1000) / 2)
      .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt))[0];
    if (fresh) return { ...fresh, minted: false };
    for (let attempt = 0; ; attempt++) {
      const token = newBootstrapToken();
      const expiresAt = new Date(nowMs + ttlSeconds * 1000);
      const manifest = tokenSecretManifest({ ...token, role, expiresAt, ttlSeconds, owner });
      try {
        await childCall(child, `create join token ${token.id}`, () =>
          child.core.createNamespacedSecret({ namespace: TOKEN_NAMESPACE, body: manifest })
        );
        return { ...token, expiresAt: rfc3339Seconds(expiresAt), minted: true };
      } catch (err) {
        // An id taken by someone else (1 in 2e9): draw again.
        if (attempt < 3 && errorMessage(err).includes('already exists')) continue;
        throw err;
      }
    }
  }

  async function writeDataSecret(
    config: RawConfig,
    kind: string,
    clusterName: string,
    data: PlannedData,
    tokenId?: string
  ): Promise<string> {
    const { namespace, name, uid } = config.metadata;
    const secretMetadata = (
      config.spec as {
        secretMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }
    )?.secretMetadata;
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace,
        labels: {
          ...secretMetadata?.labels,
          [CLUSTER_NAME_LABEL]: clusterName,
          [BOOTSTRAP_COMPONENT_LABEL]: 'bootstrap',
        },
        annotations: {
          ...secretMetadata?.annotations,
          ...(tokenId ? { [DATA_TOKEN_ID_ANNOTATION]: tokenId } : {}),
        },
        ownerReferences: [
          {
            apiVersion: BOOTSTRAP_API_VERSION,
            kind,
            name,
            uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      type: DATA_SECRET_TYPE,
      data: {
        value: Buffer.from(data.value).toString('base64'),
        format: Buffer.from(data.format).toString('base64'),
      },
    };
    await kubeCall(`apply Secret ${namespace}/${name}`, () =>
      core.patchNamespacedSecret(
        { namespace, name, body, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
      )
    );
    return name;
  }

  /** A worker's or joining controller's data: a join token (found or minted), then the data Secret. */
  async function issueWithToken(
    ref: ObjectRef,
    facts: IssueFacts,
    child: ChildCluster,
    server: string,
    nowMs: number
  ): Promise<IssuedData> {
    const caPem = await clusterCaPem(ref.namespace, facts.clusterName, child);
    const token = await findOrMintToken(child, facts.owner, facts.role, ttlOf(facts.cluster), nowMs);
    const tokenFile = encodeTokenFile(
      joinKubeconfig({ server, caPem, role: facts.role, token: `${token.id}.${token.secret}` })
    );
    const planned = planConfigData({ ...facts.planInput, token: tokenFile });
    if (!planned.ok) throw ApplicationFailure.nonRetryable(planned.error, INVALID_BOOTSTRAP_SPEC);
    try {
      const dataSecretName = await writeDataSecret(
        facts.config,
        ref.kind,
        facts.clusterName,
        planned.data,
        token.id
      );
      return { dataSecretName, tokenId: token.id, tokenExpiresAt: token.expiresAt, minted: token.minted };
    } catch (err) {
      // No token without its data: a retry mints afresh or reuses this one; a failure for good leaves none.
      if (token.minted && err instanceof ApplicationFailure && err.nonRetryable)
        await deleteTokens(child, [token.id]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The first controller (the oldest control-plane Machine of the Cluster) gets the cluster's key material;
   * the others a controller-join token for the endpoint, if k0s's API answers there, else the first
   * controller's address.
   */
  async function controllerRole(ref: ObjectRef, facts: IssueFacts): Promise<ControllerRoleFacts> {
    const machines = await controlPlaneMachines(ref.namespace, facts.clusterName);
    if (machines.length === 0)
      throw ApplicationFailure.nonRetryable(
        `Cluster ${facts.clusterName} has no control-plane Machine yet`,
        BOOTSTRAP_INPUT_MISSING
      );
    const views = machines.map(controllerMachineOf);
    const own = facts.owner.machineName;
    if (isFirstController(own, views))
      return { kind: 'first', pki: await firstControllerPki(ref.namespace, facts) };
    const running = firstRunningControllerMachine(own, views);
    const raw = machines.find((m) => m.metadata.name === running?.name);
    const k0sConfig = (facts.planInput.spec as { k0s?: Record<string, unknown> }).k0s;
    const candidates = controllerJoinServerCandidates({
      endpointHost: new URL(facts.server).hostname.replace(/^\[|\]$/g, ''),
      k0sConfig,
      machineAddresses: raw?.status?.addresses ?? [],
    });
    if (!candidates.ok) throw ApplicationFailure.nonRetryable(candidates.error, INVALID_BOOTSTRAP_SPEC);
    if (await answersWithin(`${candidates.candidates.endpoint}/v1beta1/ca`, 1000))
      return { kind: 'joining', server: candidates.candidates.endpoint };
    if (!candidates.candidates.fallback)
      throw ApplicationFailure.nonRetryable(
        'no running controller Machine with an address to join yet',
        BOOTSTRAP_INPUT_MISSING
      );
    return { kind: 'joining', server: candidates.candidates.fallback };
  }

  async function controlPlaneMachines(namespace: string, clusterName: string): Promise<RawMachine[]> {
    return kubeCall(`list control-plane Machines of ${namespace}/${clusterName}`, async () => {
      const list = (await custom.listNamespacedCustomObject({
        ...MACHINE_RESOURCE,
        namespace,
        labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName},${CONTROL_PLANE_LABEL}`,
      })) as { items: RawMachine[] };
      return list.items.filter((m) => !m.metadata.deletionTimestamp);
    });
  }

  async function firstControllerPki(namespace: string, facts: IssueFacts): Promise<PkiFile[]> {
    const data = new Map<string, Record<string, string>>();
    for (const suffix of ['ca', 'etcd', 'proxy', 'sa'] as const) {
      const name = certificateSecretName(facts.clusterName, suffix);
      const secret = await kubeCall(`read Secret ${namespace}/${name}`, () =>
        nullIfNotFound(() => core.readNamespacedSecret({ namespace, name }))
      );
      if (secret)
        data.set(
          name,
          Object.fromEntries(
            Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])
          )
        );
    }
    // Unlike k0smotron, which would let the first controller make a CA of its own: that CA would not be
    // the one the Cluster's kubeconfig and the other machines trust.
    if (!data.has(certificateSecretName(facts.clusterName, 'ca')))
      throw ApplicationFailure.nonRetryable(
        `Secret ${certificateSecretName(facts.clusterName, 'ca')} not found (the control plane provider creates the cluster certificates)`,
        BOOTSTRAP_INPUT_MISSING
      );
    const pki = controllerPkiFiles(facts.clusterName, (name) => data.get(name));
    if (!pki.ok) throw ApplicationFailure.nonRetryable(pki.error, INVALID_BOOTSTRAP_SPEC);
    return pki.pki;
  }

  /** Everything issuing needs from the management cluster, checked: bad input fails before any token. */
  async function gatherIssueFacts(ref: ObjectRef): Promise<IssueFacts> {
    const config = await readConfig(ref);
    const spec = parseSpec(ref.kind, config.spec);
    const machine = await readOwnerMachine(config);
    const clusterName = config.metadata.labels?.[CLUSTER_NAME_LABEL] ?? machine.spec?.clusterName;
    if (!clusterName)
      throw ApplicationFailure.nonRetryable('the Machine names no Cluster', BOOTSTRAP_INPUT_MISSING);
    const versionProblem = invalidVersionProblem(ref.kind, spec.version, machine.spec?.version);
    if (versionProblem) throw ApplicationFailure.nonRetryable(versionProblem, INVALID_BOOTSTRAP_SPEC);
    const cluster = await readClusterRaw(ref.namespace, clusterName);
    const endpoint = cluster?.spec?.controlPlaneEndpoint;
    if (!endpoint?.host)
      throw ApplicationFailure.nonRetryable(
        `Cluster ${clusterName} has no controlPlaneEndpoint`,
        BOOTSTRAP_INPUT_MISSING
      );
    const files = await resolveFiles(ref.namespace, spec.files ?? []);
    const machineName = machine.metadata.name;
    return {
      config,
      cluster,
      clusterName,
      role: joinRoleOf(ref.kind),
      server: joinServerURL(endpoint.host, endpoint.port ?? 6443),
      owner: {
        configKind: ref.kind,
        configNamespace: ref.namespace,
        configName: ref.name,
        machineName,
        clusterName,
      },
      planInput: {
        kind: ref.kind,
        spec,
        configName: ref.name,
        machineName,
        ...(machine.spec?.version ? { machineVersion: machine.spec.version } : {}),
        files,
      },
    };
  }

  return {
    async issueBootstrapData({ ref, nowMs }) {
      const facts = await gatherIssueFacts(ref);
      // Planned once without a token first: bad input is found before anything is created in the child.
      const dry = planConfigData({ ...facts.planInput, token: '' });
      if (!dry.ok)
        throw ApplicationFailure.nonRetryable(
          dry.error,
          dry.unsupported ? BOOTSTRAP_UNSUPPORTED : INVALID_BOOTSTRAP_SPEC
        );
      const child = await children.resolve(ref.namespace, facts.clusterName);
      const controller = facts.role === 'controller' ? await controllerRole(ref, facts) : undefined;
      if (controller?.kind === 'first') {
        const planned = planConfigData({ ...facts.planInput, token: '', firstControllerPki: controller.pki });
        if (!planned.ok) throw ApplicationFailure.nonRetryable(planned.error, INVALID_BOOTSTRAP_SPEC);
        const dataSecretName = await writeDataSecret(facts.config, ref.kind, facts.clusterName, planned.data);
        return { dataSecretName, minted: false };
      }
      const server = controller?.server ?? facts.server;
      return issueWithToken(ref, facts, child, server, nowMs);
    },

    async ensureNodeProviderID({ namespace, clusterName, machineName, providerID }) {
      const child = await children.resolve(namespace, clusterName);
      const byLabel = await childCall(child, 'list Nodes', () =>
        child.core.listNode({ labelSelector: `${MACHINE_NAME_NODE_LABEL}=${machineName}` })
      );
      const node =
        byLabel.items[0] ??
        (await childCall(child, `read Node ${machineName}`, () =>
          nullIfNotFound(() => child.core.readNode({ name: machineName }))
        ));
      if (!node?.metadata?.name) return { outcome: 'notFound' };
      const name = node.metadata.name;
      const current = node.spec?.providerID;
      if (current === providerID) return { outcome: 'already', node: name };
      if (current)
        return {
          outcome: 'conflict',
          node: name,
          message: `Node ${name} has providerID ${current}, not ${providerID}`,
        };
      await childCall(child, `set providerID of Node ${name}`, () =>
        child.core.patchNode(
          {
            name,
            body: {
              metadata: { labels: { [MACHINE_NAME_NODE_LABEL]: machineName } },
              spec: { providerID },
            },
            fieldManager: FIELD_MANAGER,
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)
        )
      );
      return { outcome: 'set', node: name };
    },

    async revokeConfigTokens({ namespace, clusterName, configKind, configName }) {
      const child = await children.resolve(namespace, clusterName);
      const owner = { configKind, configNamespace: namespace, configName };
      const listed = await childCall(child, 'list join tokens', () =>
        child.core.listNamespacedSecret({ namespace: TOKEN_NAMESPACE, labelSelector: ownerSelector(owner) })
      );
      const ids = listed.items
        .map((s) => s.metadata?.name?.replace(/^bootstrap-token-/, '') ?? '')
        .filter(Boolean);
      return deleteTokens(child, ids);
    },

    async deleteJoinTokens({ namespace, clusterName, ids }) {
      return deleteTokens(await children.resolve(namespace, clusterName), ids);
    },

    async listRotationFacts({ namespace, clusterName }) {
      const cluster = await readClusterRaw(namespace, clusterName);
      let child: ChildCluster;
      try {
        child = await children.resolve(namespace, clusterName);
      } catch (err) {
        if (!cluster)
          return { clusterGone: true, paused: false, tokens: [], configs: [], defaultTtlSeconds: defaultTtl };
        throw err;
      }
      const selector = [
        `${MANAGED_BY_LABEL}=k0sflow`,
        `${CLUSTER_NAME_LABEL}=${labelSafe(clusterName)}`,
        `${TOKEN_CONFIG_NAMESPACE_LABEL}=${labelSafe(namespace)}`,
      ].join(',');
      const listed = await childCall(child, 'list join tokens', () =>
        child.core.listNamespacedSecret({ namespace: TOKEN_NAMESPACE, labelSelector: selector })
      );
      const tokens = listed.items.map(tokenFactsOf).filter((t): t is TokenFacts => t !== undefined);
      const configs = await configFacts(namespace, clusterName, tokens);
      return {
        clusterGone: cluster === null,
        paused: isPausedCluster(cluster),
        tokens,
        configs,
        defaultTtlSeconds: ttlOf(cluster),
      };
    },
  };

  async function deleteTokens(child: ChildCluster, ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of ids) {
      const gone = await childCall(child, `delete join token ${id}`, async () => {
        try {
          await child.core.deleteNamespacedSecret({ namespace: TOKEN_NAMESPACE, name: tokenSecretName(id) });
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      });
      if (gone) deleted++;
    }
    return deleted;
  }

  /** The cluster's bootstrap configs, and those its tokens name (a config may lack the label). */
  async function configFacts(
    namespace: string,
    clusterName: string,
    tokens: TokenFacts[]
  ): Promise<ConfigFacts[]> {
    const named = new Set(tokens.map((t) => `${t.configKind}/${t.configName}`));
    const machines = await kubeCall(`list Machines in ${namespace}`, async () => {
      const list = (await custom.listNamespacedCustomObject({ ...MACHINE_RESOURCE, namespace })) as {
        items: RawMachine[];
      };
      return new Map(list.items.map((m) => [m.metadata.name, m]));
    });
    const withToken = await dataSecretsWithToken(namespace, clusterName);
    const facts: ConfigFacts[] = [];
    for (const kind of CONFIG_KINDS) {
      for (const config of await listConfigs(namespace, kind)) {
        const ours = config.metadata.labels?.[CLUSTER_NAME_LABEL] === clusterName;
        if (!ours && !named.has(`${kind}/${labelSafe(config.metadata.name)}`)) continue;
        facts.push(configFactsOf(kind, config, machines, withToken));
      }
    }
    return facts;
  }

  async function listConfigs(namespace: string, kind: string): Promise<RawConfig[]> {
    const plural = kind === WORKER_CONFIG_KIND ? 'k0sworkerconfigs' : 'k0scontrollerconfigs';
    return kubeCall(`list ${kind} in ${namespace}`, async () => {
      const list = (await custom.listNamespacedCustomObject({
        group: BOOTSTRAP_GROUP,
        version: 'v1beta1',
        plural,
        namespace,
      })) as { items: RawConfig[] };
      return list.items;
    });
  }

  /** Names of the cluster's data Secrets that carry a join token (metadata only; the data stays unread). */
  async function dataSecretsWithToken(namespace: string, clusterName: string): Promise<Set<string>> {
    return kubeCall(`list bootstrap data Secrets in ${namespace}`, async () => {
      const list = await core.listNamespacedSecret({
        namespace,
        labelSelector: `${CLUSTER_NAME_LABEL}=${clusterName},${BOOTSTRAP_COMPONENT_LABEL}=bootstrap`,
      });
      return new Set(
        list.items
          .filter((secret) => secret.metadata?.annotations?.[DATA_TOKEN_ID_ANNOTATION])
          .map((secret) => secret.metadata?.name ?? '')
      );
    });
  }
}

function configFactsOf(
  kind: string,
  config: RawConfig,
  machines: Map<string, RawMachine>,
  withToken: Set<string>
): ConfigFacts {
  const owner = config.metadata.ownerReferences?.find((o) => o.kind === 'Machine');
  const machine = owner ? machines.get(owner.name) : undefined;
  const dataSecretName = config.status?.ready === true ? config.status.dataSecretName : undefined;
  const provisioned = Boolean(machine?.spec?.providerID);
  return {
    kind,
    name: config.metadata.name,
    uid: config.metadata.uid,
    ready: dataSecretName !== undefined,
    machinePresent: machine !== undefined && !machine.metadata.deletionTimestamp,
    joined: Boolean(machine?.status?.nodeRef?.name) || (kind === CONTROLLER_CONFIG_KIND && provisioned),
    usesToken: dataSecretName !== undefined && withToken.has(dataSecretName),
  };
}

function ownerSelector(owner: Pick<TokenOwner, 'configKind' | 'configNamespace' | 'configName'>): string {
  return [
    `${MANAGED_BY_LABEL}=k0sflow`,
    `${TOKEN_CONFIG_KIND_LABEL}=${owner.configKind}`,
    `${TOKEN_CONFIG_NAMESPACE_LABEL}=${labelSafe(owner.configNamespace)}`,
    `${TOKEN_CONFIG_NAME_LABEL}=${labelSafe(owner.configName)}`,
  ].join(',');
}

function field(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function tokenOf(secret: V1Secret): { id: string; secret: string; expiresAt: string } | undefined {
  const id = field(secret, 'token-id');
  const tokenSecret = field(secret, 'token-secret');
  const expiresAt = field(secret, 'expiration');
  if (!id || !tokenSecret || !expiresAt || Number.isNaN(Date.parse(expiresAt))) return undefined;
  return { id, secret: tokenSecret, expiresAt };
}

function tokenFactsOf(secret: V1Secret): TokenFacts | undefined {
  const id = field(secret, 'token-id') ?? secret.metadata?.name?.replace(/^bootstrap-token-/, '');
  const labels = secret.metadata?.labels ?? {};
  const configKind = labels[TOKEN_CONFIG_KIND_LABEL];
  const configName = labels[TOKEN_CONFIG_NAME_LABEL];
  if (!id || !configKind || !configName) return undefined;
  const ttl = Number(secret.metadata?.annotations?.[TOKEN_TTL_ANNOTATION]);
  return {
    id,
    expiration: field(secret, 'expiration') ?? '',
    ...(Number.isFinite(ttl) && ttl > 0 ? { ttlSeconds: ttl } : {}),
    configKind,
    configName,
  };
}
