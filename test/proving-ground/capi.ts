// Cluster API core, run out of cluster against the management API server. Its CRDs and webhook
// configurations are rewritten to call the manager at https://127.0.0.1:PORT instead of a Service.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type Cluster, kubectl } from './kube.js';
import { httpsGet, waitFor } from './net.js';
import { capiManagerPath, capiManifestsDir, repoRoot, requireBinary } from './paths.js';
import { isRunning, logTail, startProcess } from './procs.js';

export interface CapiPorts {
  capiWebhook: number;
  capiHealth: number;
  capiDiagnostics: number;
}

type Obj = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

const CAPI_LABELS = { 'cluster.x-k8s.io/provider': 'cluster-api' };

function readDocs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON() as Obj | null)
    .filter((d): d is Obj => d !== null && typeof d === 'object');
}

/** As a JSON List (kubectl reads it; much faster to write than YAML for CAPI's large CRDs). */
function writeDocs(file: string, docs: Obj[]): void {
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }));
}

function withLabels(obj: Obj): void {
  const meta = (obj.metadata ??= {});
  meta.labels = { ...(meta.labels as Record<string, string> | undefined), ...CAPI_LABELS };
}

function rewriteCrd(crd: Obj, webhookBase: string, caBundle: string): void {
  withLabels(crd);
  const versions = (crd.spec?.versions as unknown[] | undefined) ?? [];
  if (!crd.spec || versions.length < 2) return;
  crd.spec.conversion = {
    strategy: 'Webhook',
    webhook: { conversionReviewVersions: ['v1'], clientConfig: { url: `${webhookBase}/convert`, caBundle } },
  };
}

function rewriteWebhookConfiguration(cfg: Obj, webhookBase: string, caBundle: string): void {
  withLabels(cfg);
  cfg.metadata!.name = `capi-${String(cfg.metadata!.name)}`;
  for (const hook of (cfg.webhooks as Record<string, unknown>[] | undefined) ?? []) {
    const cc = hook.clientConfig as { service?: { path?: string } } | undefined;
    hook.clientConfig = { url: `${webhookBase}${cc?.service?.path ?? ''}`, caBundle };
  }
}

/**
 * Writes everything CAPI core needs applied into OUT/manifests/: the namespace, its CRDs rewritten
 * for the out-of-cluster webhook, and its webhook configurations. Returns the directory and the
 * CRD names.
 */
export function renderCapiManifests(
  out: string,
  webhookBase: string,
  caPem: string
): { dir: string; crdNames: string[] } {
  const src = capiManifestsDir();
  if (!existsSync(join(src, 'crd'))) throw new Error(`${src}/crd is missing: run scripts/install.sh`);
  const caBundle = Buffer.from(caPem).toString('base64');
  const dir = join(out, 'manifests');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'capi-system', labels: CAPI_LABELS },
  };
  writeDocs(join(dir, '00-namespace.json'), [namespace]);
  const crdNames: string[] = [];
  for (const file of readdirSync(join(src, 'crd')).filter((f) => f.endsWith('.yaml'))) {
    const docs = readDocs(join(src, 'crd', file));
    docs.forEach((crd) => rewriteCrd(crd, webhookBase, caBundle));
    crdNames.push(...docs.map((d) => String(d.metadata?.name)));
    writeDocs(join(dir, file.replace(/\.yaml$/, '.json')), docs);
  }
  const webhookDocs = readDocs(join(src, 'webhooks.yaml'));
  webhookDocs.forEach((cfg) => rewriteWebhookConfiguration(cfg, webhookBase, caBundle));
  writeDocs(join(dir, 'webhooks.json'), webhookDocs);
  return { dir, crdNames };
}

const apply = (kubeconfig: string, path: string): Promise<string> =>
  kubectl(kubeconfig, [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=proving-ground',
    '-f',
    path,
  ]);

const waitEstablished = (kubeconfig: string, names: string[]): Promise<string> =>
  kubectl(kubeconfig, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...names.map((n) => `crd/${n}`),
  ]);

export async function startCapi(dir: string, mgmt: Cluster, ports: CapiPorts): Promise<void> {
  const base = join(dir, 'capi');
  const certDir = join(base, 'webhook-certs');
  mkdirSync(certDir, { recursive: true });
  const serving = await mgmt.pki.issue({
    name: 'capi-webhook',
    cn: 'capi-webhook',
    usage: 'server',
    ips: ['127.0.0.1'],
    dns: ['localhost'],
  });
  copyFileSync(serving.cert, join(certDir, 'tls.crt'));
  copyFileSync(serving.key, join(certDir, 'tls.key'));

  const webhookBase = `https://127.0.0.1:${ports.capiWebhook}`;
  // One kubectl run for all of it: webhook configurations may exist before their server does.
  const manifests = renderCapiManifests(base, webhookBase, mgmt.pki.caPem());
  await apply(mgmt.kubeconfig, manifests.dir);
  await waitEstablished(mgmt.kubeconfig, manifests.crdNames);

  const proc = startProcess(
    dir,
    'capi-manager',
    [
      requireBinary(capiManagerPath()),
      `--kubeconfig=${mgmt.kubeconfig}`,
      `--webhook-cert-dir=${certDir}`,
      `--webhook-port=${ports.capiWebhook}`,
      `--health-addr=127.0.0.1:${ports.capiHealth}`,
      `--diagnostics-address=127.0.0.1:${ports.capiDiagnostics}`,
      '--insecure-diagnostics',
      '--leader-elect=false',
    ],
    { env: { POD_NAMESPACE: 'capi-system' } }
  );
  const alive = (): string | null =>
    isRunning(proc) ? null : `capi-manager exited; log ${proc.log}:\n${logTail(proc.log)}`;
  await waitFor(
    'CAPI manager readiness',
    async () =>
      (await fetch(`http://127.0.0.1:${ports.capiHealth}/readyz`, { signal: AbortSignal.timeout(1000) })).ok,
    { timeoutMs: 120_000, intervalMs: 250, alive }
  );
  // The webhook server answers TLS with our CA (any HTTP status means it is serving).
  await waitFor(
    'CAPI webhook',
    async () => (await httpsGet(`${webhookBase}/`, { ca: mgmt.pki.ca.cert })).status > 0,
    {
      timeoutMs: 60_000,
      alive,
    }
  );
}

/** Applies deploy/crds/*.yaml (except kustomization.yaml) and waits until they are Established. */
export async function applyOwnCrds(dir: string, kubeconfig: string): Promise<string[]> {
  const src = join(repoRoot, 'deploy', 'crds');
  const files = existsSync(src)
    ? readdirSync(src)
        .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
        .sort()
    : [];
  if (files.length === 0) return [];
  const out = join(dir, 'crds');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const names: string[] = [];
  for (const f of files) {
    copyFileSync(join(src, f), join(out, f));
    const crds = readDocs(join(src, f)).filter((d) => d.kind === 'CustomResourceDefinition');
    names.push(...crds.map((d) => String(d.metadata?.name)));
  }
  await apply(kubeconfig, out);
  if (names.length > 0) await waitEstablished(kubeconfig, names);
  return names;
}
