// Worker bootstrap data as k0smotron v1.10.9 builds it from a K0sWorkerConfig: the k0s version, the
// download/install/start commands and the cloud-config document (`write_files` then `runcmd`).
// Pure: no I/O, no Node built-ins; contentFrom resolution, the join token and ingress are the caller's.
import { stringify } from 'yaml';
import type { K0sWorkerConfigSpec } from './api/bootstrap.js';
import { BOOTSTRAP_SENTINEL, parentDir } from './cloud-init.js';

export const DEFAULT_K0S_INSTALL_DIR = '/usr/local/bin';
export const WORKER_TOKEN_FILE_MODE = '0600';
export const MACHINE_NAME_NODE_LABEL = 'k0smotron.io/machine-name';
export const K0S_VERSION_SUFFIX = '+k0s.0';
export const CLOUD_CONFIG_HEADER = '## template: jinja\n#cloud-config\n';

/** k0smotron's worker start command: systemd, then OpenRC, then SysV. */
export const WORKER_START_COMMAND =
  '(command -v systemctl > /dev/null 2>&1 && systemctl start k0sworker) || ' +
  '(command -v rc-service > /dev/null 2>&1 && rc-service k0sworker start) || ' +
  '(command -v service > /dev/null 2>&1 && service k0sworker start) || ' +
  '(echo "Not a supported init system"; false)';

/** The last command: the Cluster API sentinel file. */
export const WORKER_SENTINEL_COMMAND = `mkdir -p ${parentDir(BOOTSTRAP_SENTINEL)} && touch ${BOOTSTRAP_SENTINEL}`;

/** A `write_files` entry; `permissions` is written as given (k0smotron writes `""` when unset: 0644). */
export interface WorkerFile {
  path: string;
  content: string;
  permissions: string;
}

export interface WorkerBootstrap {
  files: WorkerFile[];
  commands: string[];
}

export type WorkerCommandsResult = { ok: true; commands: string[] } | { ok: false; error: string };
export type WorkerBootstrapResult = { ok: true; bootstrap: WorkerBootstrap } | { ok: false; error: string };

/**
 * spec.version, else the Machine's; the first `-k0s.` becomes `+k0s.` and `+k0s.0` is appended when no
 * `+k0s.` is present. Empty strings count as unset; undefined when neither is given.
 */
export function normalizeWorkerVersion(
  specVersion: string | undefined,
  machineVersion: string | undefined
): string | undefined {
  const version = specVersion || machineVersion;
  if (!version) return undefined;
  const replaced = version.replace('-k0s.', '+k0s.');
  return replaced.includes('+k0s.') ? replaced : `${replaced}${K0S_VERSION_SUFFIX}`;
}

/** Go's `filepath.Join` on POSIX: empty elements dropped, the result cleaned; `''` when all are empty. */
export function joinPath(...elements: string[]): string {
  const joined = elements.filter((e) => e !== '').join('/');
  if (joined === '') return '';
  const rooted = joined.startsWith('/');
  const out: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const body = out.join('/');
  if (rooted) return `/${body}`;
  return body === '' ? '.' : body;
}

/** `/etc/k0s.token`, or `<workingDir>/k0s.token` (joined and cleaned) when a working directory is set. */
export function workerTokenPath(workingDir: string | undefined): string {
  return workingDir ? joinPath(workingDir, 'k0s.token') : '/etc/k0s.token';
}

export interface DownloadInput {
  preInstalledK0s?: boolean | undefined;
  downloadURL?: string | undefined;
  k0sInstallDir?: string | undefined;
  version?: string | undefined;
}

/** What Go's `url.Parse` yields for the parts k0smotron uses; undefined where it would fail. */
function parseURL(raw: string): { scheme: string; hostPath: string } | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw) || raw.startsWith(':')) return undefined;
  const beforeQuery = raw.split(/[?#]/, 1)[0] ?? '';
  if (/%(?![0-9A-Fa-f]{2})/.test(beforeQuery)) return undefined;
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(beforeQuery);
  if (!match) return { scheme: '', hostPath: '' };
  const scheme = (match[1] ?? '').toLowerCase();
  const rest = match[2] ?? '';
  if (!rest.startsWith('//')) return { scheme, hostPath: '' };
  const afterSlashes = rest.slice(2);
  const slash = afterSlashes.indexOf('/');
  const authority = slash < 0 ? afterSlashes : afterSlashes.slice(0, slash);
  const path = slash < 0 ? '' : afterSlashes.slice(slash);
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return { scheme, hostPath: host + unescapePath(path) };
}

/** Percent-decoding; a sequence that is not UTF-8 is left as written (Go would keep the raw bytes). */
function unescapePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * k0smotron's `DownloadCommands`: nothing for a pre-installed k0s; the binary from an http(s) or `oci://`
 * downloadURL; else the get.k0s.sh script. An unsupported scheme is an error; a URL Go cannot parse gives
 * k0smotron's `echo 'Invalid download URL: …'` command.
 */
export function workerDownloadCommands(input: DownloadInput): WorkerCommandsResult {
  if (input.preInstalledK0s) return { ok: true, commands: [] };
  const dir = input.k0sInstallDir || DEFAULT_K0S_INSTALL_DIR;
  const bin = `${dir}/k0s`;
  const url = input.downloadURL;
  if (url) {
    const parsed = parseURL(url);
    if (parsed === undefined) return { ok: true, commands: [`echo 'Invalid download URL: ${url}'`] };
    switch (parsed.scheme) {
      case 'http':
      case 'https':
        return { ok: true, commands: [`curl -sSfL --retry 5 ${url} -o ${bin}`, `chmod +x ${bin}`] };
      case 'oci':
        return {
          ok: true,
          commands: [
            'export HOME=/root',
            `oras blob fetch --output ${bin} ${parsed.hostPath}`,
            `chmod +x ${bin}`,
          ],
        };
      default:
        return { ok: false, error: `downloadURL: unsupported URL scheme '${parsed.scheme}'` };
    }
  }
  const vars = [`K0S_INSTALL_PATH=${dir}`, ...(input.version ? [`K0S_VERSION=${input.version}`] : [])];
  return { ok: true, commands: [`curl -sSfL --retry 5 https://get.k0s.sh | ${vars.join(' ')} sh`] };
}

export interface InstallInput {
  k0sInstallDir?: string | undefined;
  tokenPath: string;
  machineName: string;
  args?: readonly string[] | undefined;
  useSystemHostname?: boolean | undefined;
}

/**
 * `<dir>/k0s install worker --token-file <token> --labels=k0smotron.io/machine-name=<Machine> <args…>`, every
 * arg starting with `--kubelet-extra-args` folded (value after `=` or space, quotes trimmed) into one trailing
 * `--kubelet-extra-args="…"` led by `--hostname-override=<Machine>` unless useSystemHostname.
 */
export function workerInstallCommand(input: InstallInput): string {
  const args = [`--labels=${MACHINE_NAME_NODE_LABEL}=${input.machineName}`];
  const kubelet = input.useSystemHostname ? [] : [`--hostname-override=${input.machineName}`];
  for (const arg of input.args ?? []) {
    if (!arg.startsWith('--kubelet-extra-args')) {
      args.push(arg);
      continue;
    }
    const cut = arg.includes('=') ? arg.indexOf('=') : arg.indexOf(' ');
    kubelet.push(cut < 0 ? arg : arg.slice(cut + 1).replace(/^["']+|["']+$/g, ''));
  }
  if (kubelet.length > 0) args.push(`--kubelet-extra-args="${kubelet.join(' ')}"`);
  const k0s = joinPath(input.k0sInstallDir ?? DEFAULT_K0S_INSTALL_DIR, 'k0s');
  return [`${k0s} install worker --token-file ${input.tokenPath}`, ...args].join(' ');
}

/** The `data.value` text: the jinja/cloud-config header, then `write_files` and `runcmd` (YAML, indent 2). */
export function workerCloudConfig(bootstrap: WorkerBootstrap): string {
  const doc = {
    write_files: bootstrap.files.map((f) => ({
      path: f.path,
      content: f.content,
      permissions: f.permissions,
    })),
    runcmd: [...bootstrap.commands],
  };
  return CLOUD_CONFIG_HEADER + stringify(doc, { indent: 2, lineWidth: 0 });
}

export interface PlanInput {
  spec: K0sWorkerConfigSpec;
  machineName: string;
  machineVersion?: string | undefined;
  /** The k0s join token, written as is. */
  token: string;
  /** spec.files with contentFrom already resolved, in spec order. */
  files?: readonly { path: string; content: string; permissions?: string | undefined }[] | undefined;
}

/**
 * The whole `{ files, commands }` in k0smotron's order (no ingress): token file, user files; preStartCommands,
 * download, install, start, postStartCommands, sentinel.
 */
export function planWorkerBootstrap(input: PlanInput): WorkerBootstrapResult {
  const { spec } = input;
  const tokenPath = workerTokenPath(spec.workingDir);
  const download = workerDownloadCommands({
    preInstalledK0s: spec.preInstalledK0s,
    downloadURL: spec.downloadURL,
    k0sInstallDir: spec.k0sInstallDir,
    version: normalizeWorkerVersion(spec.version, input.machineVersion),
  });
  if (!download.ok) return download;
  const install = workerInstallCommand({
    k0sInstallDir: spec.k0sInstallDir,
    tokenPath,
    machineName: input.machineName,
    args: spec.args,
    useSystemHostname: spec.useSystemHostname,
  });
  return {
    ok: true,
    bootstrap: {
      files: [
        { path: tokenPath, content: input.token, permissions: WORKER_TOKEN_FILE_MODE },
        ...(input.files ?? []).map((f) => ({
          path: f.path,
          content: f.content,
          permissions: f.permissions ?? '',
        })),
      ],
      commands: [
        ...(spec.preStartCommands ?? []),
        ...download.commands,
        install,
        WORKER_START_COMMAND,
        ...(spec.postStartCommands ?? []),
        WORKER_SENTINEL_COMMAND,
      ],
    },
  };
}
