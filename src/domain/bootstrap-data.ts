// A bootstrap config's data Secret content (`value`, `format`) from its spec: the cloud-config k0smotron
// writes. Pure; the caller resolves contentFrom and supplies the join token file.
import type { K0sControllerConfigSpec, K0sWorkerConfigSpec } from './api/bootstrap.js';
import { CONTROLLER_CONFIG_KIND } from './bootstrap-config.js';
import { planControllerBootstrap, type PkiFile } from './controller-bootstrap.js';
import {
  normalizeWorkerVersion,
  planWorkerBootstrap,
  workerCloudConfig,
  type WorkerBootstrapResult,
} from './worker-bootstrap.js';

export interface PlannedData {
  value: string;
  format: 'cloud-config';
}

export type PlannedDataResult =
  { ok: true; data: PlannedData } | { ok: false; error: string; unsupported?: boolean };

export interface ConfigDataInput {
  kind: string;
  /** A K0sWorkerConfig's spec, or a K0sControllerConfig's (by `kind`). */
  spec: K0sWorkerConfigSpec | K0sControllerConfigSpec;
  configName: string;
  machineName: string;
  machineVersion?: string;
  files: readonly { path: string; content: string; permissions?: string }[];
  /** The join token file's content (base64 of gzipped kubeconfig). */
  token: string;
  /** The first controller: the cluster's CA/SA/proxy/etcd material instead of a token. */
  firstControllerPki?: readonly PkiFile[];
}

/** `v1.30.1`, `v1.30.1+k0s.0`, `1.30.1-rc.1+k0s.2`: what k0s releases and get.k0s.sh accept. */
const VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+k0s\.\d+)?$/;

/**
 * Why the version the config would install is unusable, or undefined. It goes into a shell command and a
 * download URL, so anything but a release version is refused before a token is minted.
 */
export function invalidVersionProblem(
  kind: string,
  specVersion: string | undefined,
  machineVersion: string | undefined
): string | undefined {
  const version =
    kind === CONTROLLER_CONFIG_KIND
      ? specVersion || machineVersion
      : normalizeWorkerVersion(specVersion, machineVersion);
  if (version === undefined || VERSION.test(version)) return undefined;
  return `version ${JSON.stringify(version)} is not a k0s version (expected e.g. v1.30.1+k0s.0)`;
}

/** What k0sflow cannot generate yet: said in a condition rather than producing data that would not boot. */
function unsupportedField(spec: ConfigDataInput['spec']): string | undefined {
  if (spec.ignition) return 'spec.ignition: Ignition bootstrap data is not supported by k0sflow yet';
  if (spec.customUserDataRef)
    return 'spec.customUserDataRef: custom user data is not supported by k0sflow yet';
  if ('tunneling' in spec && spec.tunneling?.enabled)
    return 'spec.tunneling: tunneling is not supported by k0sflow yet';
  return undefined;
}

export function planConfigData(input: ConfigDataInput): PlannedDataResult {
  const unsupported = unsupportedField(input.spec);
  if (unsupported) return { ok: false, error: unsupported, unsupported: true };
  const planned = input.kind === CONTROLLER_CONFIG_KIND ? planController(input) : planWorker(input);
  if (!planned.ok) return planned;
  return { ok: true, data: { value: workerCloudConfig(planned.bootstrap), format: 'cloud-config' } };
}

function planWorker(input: ConfigDataInput): WorkerBootstrapResult {
  return planWorkerBootstrap({
    spec: input.spec,
    machineName: input.machineName,
    ...(input.machineVersion ? { machineVersion: input.machineVersion } : {}),
    token: input.token,
    files: input.files,
  });
}

function planController(input: ConfigDataInput): WorkerBootstrapResult {
  const spec = input.spec as K0sControllerConfigSpec;
  return planControllerBootstrap({
    spec,
    configName: input.configName,
    machineName: input.machineName,
    machineVersion: input.machineVersion,
    role: input.firstControllerPki
      ? { kind: 'first', pki: input.firstControllerPki }
      : { kind: 'joining', token: input.token },
    files: input.files,
    k0sConfig: spec.k0s,
  });
}
