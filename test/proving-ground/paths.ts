// Where the proving ground finds its binaries: a cache outside the repo, filled by scripts/install.sh.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSIONS = {
  etcd: 'v3.6.16',
  kubernetes: 'v1.35.4',
  capi: 'v1.14.2',
} as const;

/** The repository root (this file lives in test/proving-ground/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `$K0SFLOW_CACHE`, default `~/.cache/k0sflow`: venv, Go binaries, CAPI manifests, rootfs. */
export function cacheDir(): string {
  return process.env.K0SFLOW_CACHE ?? join(homedir(), '.cache', 'k0sflow');
}

function binary(name: string, version: string): string {
  return join(cacheDir(), 'bin', `${name}-${version}`);
}

export const etcdPath = (): string => binary('etcd', VERSIONS.etcd);
export const kubeApiserverPath = (): string => binary('kube-apiserver', VERSIONS.kubernetes);
export const kubeControllerManagerPath = (): string => binary('kube-controller-manager', VERSIONS.kubernetes);
export const capiManagerPath = (): string => binary('capi-manager', VERSIONS.capi);
/** kubectl built for the proving ground's Kubernetes version. */
export function kubectlPath(): string {
  return binary('kubectl', VERSIONS.kubernetes);
}
/** CAPI core's CRDs (`crd/*.yaml`) and webhook configurations (`webhooks.yaml`), copied from its module. */
export const capiManifestsDir = (): string => join(cacheDir(), `capi-${VERSIONS.capi}`);

export const temporalPath = (): string => join(cacheDir(), 'venv', 'bin', 'temporal');
/**
 * The time-skipping test server, for `TestWorkflowEnvironment.createTimeSkipping({ server:
 * { executable: { type: 'existing-path', path: temporalTestServerPath() } } })`.
 */
export function temporalTestServerPath(): string {
  return join(cacheDir(), 'venv', 'bin', 'temporal-test-server');
}

/** Throws with a hint when a binary is missing. */
export function requireBinary(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/install.sh (npm run install:all)`);
  return path;
}
