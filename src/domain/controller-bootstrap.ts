// Controller bootstrap data as k0smotron v1.10.9 builds it from a K0sControllerConfig
// (internal/controller/bootstrap/controlplane_bootstrap_controller.go): the k0s version and its gates, the
// install command, the k0sleave shutdown hook, the PKI files of the first controller and the join server of
// the others. Pure: no I/O, no Node built-ins. Looking up Secrets and Machines, minting the join token and
// probing the endpoint are the caller's; the document itself is `workerCloudConfig` (same format).
// Not built: spec.tunneling (it needs the `<cluster>-frp-token` Secret and the Cluster's service CIDR), so
// planning a config with tunneling enabled is an error rather than a controller silently without its tunnel.
import type { K0sControllerConfigSpec } from './api/bootstrap.js';
// Unlike k0smotron, which brackets only the IPv6 InternalIP it picked, any bare IPv6 literal is bracketed:
// k0smotron's URL for an IPv6 endpoint host or ExternalIP is unusable.
import { joinServerURL } from './join-token.js';
import {
  DEFAULT_K0S_INSTALL_DIR,
  K0S_VERSION_SUFFIX,
  MACHINE_NAME_NODE_LABEL,
  WORKER_SENTINEL_COMMAND,
  WORKER_TOKEN_FILE_MODE,
  joinPath,
  workerDownloadCommands,
  workerTokenPath,
  type WorkerBootstrap,
  type WorkerBootstrapResult,
  type WorkerFile,
} from './worker-bootstrap.js';

export const K0S_CONFIG_FILE_MODE = '0644';
export const CONTROLLER_PKI_FILE_MODE = '0644';
/** From this k0s version on, the EtcdMember CRD replaces the k0sleave shutdown hook. */
export const K0SLEAVE_UNTIL_VERSION = 'v1.31.6';
/** Where the k0sleave unit files go when spec.workingDir is unset (not /etc, unlike k0s.yaml and the token). */
export const DEFAULT_SHUTDOWN_FILES_DIR = '/etc/k0s';
export const K0SLEAVE_SCRIPT_PATH = '/etc/bin/k0sleave.sh';
export const DEFAULT_K0S_API_PORT = 9443;

// ---------------------------------------------------------------------------------------------------------
// Version
// ---------------------------------------------------------------------------------------------------------

/** spec.version, else the Machine's; `+k0s.0` appended when no `+k0s.` is present (no `-k0s.` rewrite). */
export function normalizeControllerVersion(
  specVersion: string | undefined,
  machineVersion: string | undefined
): string | undefined {
  const version = specVersion || machineVersion;
  if (!version) return undefined;
  return version.includes('+k0s.') ? version : `${version}${K0S_VERSION_SUFFIX}`;
}

/** A version as github.com/hashicorp/go-version v1.6.0 parses it (k0sproject/version wraps it). */
export interface K0sVersion {
  segments: bigint[];
  prerelease: string;
  metadata: string;
}

// go-version's VersionRegexpRaw, anchored; groups 1 = segments, 4 or 7 = prerelease, 10 = metadata.
const VERSION_PATTERN =
  /^v?([0-9]+(\.[0-9]+)*?)(-([0-9]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)|(-?([A-Za-z\-~]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)))?(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))??$/;
const INT64_MAX = 2n ** 63n - 1n;

export type K0sVersionResult = { ok: true; version: K0sVersion } | { ok: false; error: string };

/** k0sproject/version's `NewVersion`: one leading `v` dropped, then go-version's parse (segments padded to 3). */
export function parseK0sVersion(text: string): K0sVersionResult {
  const trimmed = text.startsWith('v') ? text.slice(1) : text;
  const match = VERSION_PATTERN.exec(trimmed);
  if (!match) return { ok: false, error: `Malformed version: ${trimmed}` };
  const texts = (match[1] ?? '').split('.');
  const tooLarge = texts.find((s) => BigInt(s) > INT64_MAX);
  if (tooLarge !== undefined) {
    return {
      ok: false,
      error: `Error parsing version: strconv.ParseInt: parsing "${tooLarge}": value out of range`,
    };
  }
  const segments = texts.map((s) => BigInt(s));
  while (segments.length < 3) segments.push(0n);
  return {
    ok: true,
    version: { segments, prerelease: match[7] || match[4] || '', metadata: match[10] ?? '' },
  };
}

/** The canonical form k0sproject/version prints: `v`, segments, `-prerelease`, `+metadata`. */
export function formatK0sVersion(version: K0sVersion): string {
  const pre = version.prerelease ? `-${version.prerelease}` : '';
  const meta = version.metadata ? `+${version.metadata}` : '';
  return `v${version.segments.join('.')}${pre}${meta}`;
}

/**
 * k0sproject/version's `Compare`: go-version's comparison (segments, then prerelease; metadata such as
 * `+k0s.1` ignored), ties between different strings broken by comparing the canonical strings, so
 * `v1.31.6+k0s.0` sorts after `v1.31.6`.
 */
export function compareK0sVersions(a: K0sVersion, b: K0sVersion): number {
  const textA = formatK0sVersion(a);
  const textB = formatK0sVersion(b);
  if (textA === textB) return 0;
  const core = compareGoVersions(a, b);
  if (core !== 0) return core;
  return textA < textB ? -1 : 1;
}

/**
 * Whether `version` is below `min` (k0sproject/version `LessThan`). Undefined when either does not parse:
 * k0smotron fails the reconcile on an unparseable version (`error parsing k0s version`), so there is no
 * answer to give; `planControllerBootstrap` turns that into an error.
 */
export function isK0sVersionBefore(version: string, min: string): boolean | undefined {
  const a = parseK0sVersion(version);
  const b = parseK0sVersion(min);
  if (!a.ok || !b.ok) return undefined;
  return compareK0sVersions(a.version, b.version) < 0;
}

/** Controllers below v1.31.6 get the k0sleave shutdown hook; undefined for an unparseable version. */
export function needsK0sLeaveHook(version: string): boolean | undefined {
  return isK0sVersionBefore(version, K0SLEAVE_UNTIL_VERSION);
}

function compareGoVersions(a: K0sVersion, b: K0sVersion): number {
  if (sameSegments(a.segments, b.segments)) {
    if (a.prerelease === b.prerelease) return 0;
    if (a.prerelease === '') return 1;
    if (b.prerelease === '') return -1;
    return comparePrereleases(a.prerelease, b.prerelease);
  }
  // Different lengths are compared as if the shorter one were padded with zeros.
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const left = a.segments[i] ?? 0n;
    const right = b.segments[i] ?? 0n;
    if (left !== right) return left < right ? -1 : 1;
  }
  return 0;
}

function sameSegments(a: bigint[], b: bigint[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function comparePrereleases(a: string, b: string): number {
  const partsA = a.split('.');
  const partsB = b.split('.');
  for (let i = 0; i < Math.max(partsA.length, partsB.length); i++) {
    const result = comparePrereleasePart(partsA[i] ?? '', partsB[i] ?? '');
    if (result !== 0) return result;
  }
  return 0;
}

// go-version's comparePart, quirks included: numbers sort before words, a missing part after a number
// and before a word.
function comparePrereleasePart(a: string, b: string): number {
  if (a === b) return 0;
  const numA = asInteger(a);
  const numB = asInteger(b);
  if (a === '') return numB === undefined ? 1 : -1;
  if (b === '') return numA === undefined ? -1 : 1;
  if (numA === undefined || numB === undefined) {
    if (numA !== undefined) return -1;
    if (numB !== undefined) return 1;
    return a > b ? 1 : -1;
  }
  return numA > numB ? 1 : -1;
}

/** Go's `strconv.ParseInt(s, 10, 64)`, undefined where it fails. */
function asInteger(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value > INT64_MAX || value < -INT64_MAX - 1n ? undefined : value;
}

// ---------------------------------------------------------------------------------------------------------
// Paths and the install command
// ---------------------------------------------------------------------------------------------------------

/** `/etc/k0s.yaml`, or `<workingDir>/k0s.yaml` (joined and cleaned). */
export function controllerConfigPath(workingDir: string | undefined): string {
  return workingDir ? joinPath(workingDir, 'k0s.yaml') : '/etc/k0s.yaml';
}

/** The join token goes where the worker's does: `/etc/k0s.token` or `<workingDir>/k0s.token`. */
export const controllerTokenPath = workerTokenPath;

/** `<workingDir>` verbatim (not cleaned: the paths are built by concatenation), else `/etc/k0s`. */
export function shutdownFilesDir(workingDir: string | undefined): string {
  return workingDir || DEFAULT_SHUTDOWN_FILES_DIR;
}

/** Go's `filepath.Join(k0sInstallDir, "k0s")`: an empty install dir gives a bare `k0s`. */
function k0sBinary(k0sInstallDir: string | undefined): string {
  return joinPath(k0sInstallDir ?? DEFAULT_K0S_INSTALL_DIR, 'k0s');
}

/** The controller also runs a kubelet (and gets the node name and label) only with these exact args. */
export function controllerWorkerEnabled(args: readonly string[] | undefined): boolean {
  return (args ?? []).some(
    (a) => a === '--enable-worker' || a === '--enable-worker=true' || a === '--single'
  );
}

export interface ControllerInstallInput {
  k0sInstallDir?: string | undefined;
  /** The K0sControllerConfig's name, used as AUTOPILOT_HOSTNAME. */
  configName: string;
  machineName: string;
  args?: readonly string[] | undefined;
  /** Adds `--config <path>` after the user's args. */
  configPath?: string | undefined;
  /** Joining controllers only: adds a trailing `--token-file <path>`. */
  tokenPath?: string | undefined;
  useSystemHostname?: boolean | undefined;
}

/**
 * `<dir>/k0s install controller --force --enable-dynamic-config --env AUTOPILOT_HOSTNAME=<config>`, then
 * (worker-enabled only) `--labels=k0smotron.io/machine-name=<Machine>`, the args with `--config <path>`, a
 * folded `--kubelet-extra-args="…"` (led by `--hostname-override=<Machine>` when worker-enabled and not
 * useSystemHostname) and, for a joining controller, `--token-file <path>`.
 */
export function controllerInstallCommand(input: ControllerInstallInput): string {
  const workerEnabled = controllerWorkerEnabled(input.args);
  const args = [...(input.args ?? []), ...(input.configPath ? ['--config', input.configPath] : [])];
  return [
    `${k0sBinary(input.k0sInstallDir)} install controller`,
    '--force',
    '--enable-dynamic-config',
    `--env AUTOPILOT_HOSTNAME=${input.configName}`,
    ...mergeExtraArgs(args, input.machineName, workerEnabled, input.useSystemHostname ?? false),
    ...(input.tokenPath ? ['--token-file', input.tokenPath] : []),
  ].join(' ');
}

// k0smotron's mergeExtraArgs (common.go): the user's --kubelet-extra-args are folded even without a worker.
function mergeExtraArgs(
  args: readonly string[],
  machineName: string,
  workerEnabled: boolean,
  useSystemHostname: boolean
): string[] {
  const out = workerEnabled ? [`--labels=${MACHINE_NAME_NODE_LABEL}=${machineName}`] : [];
  const kubelet = workerEnabled && !useSystemHostname ? [`--hostname-override=${machineName}`] : [];
  for (const arg of args) {
    if (!arg.startsWith('--kubelet-extra-args')) {
      out.push(arg);
      continue;
    }
    const cut = arg.includes('=') ? arg.indexOf('=') : arg.indexOf(' ');
    kubelet.push(cut < 0 ? arg : arg.slice(cut + 1).replace(/^["']+|["']+$/g, ''));
  }
  if (kubelet.length > 0) out.push(`--kubelet-extra-args="${kubelet.join(' ')}"`);
  return out;
}

/** `<dir>/k0s start`: k0s picks the controller service it installed. */
export function controllerStartCommand(k0sInstallDir: string | undefined): string {
  return `${k0sBinary(k0sInstallDir)} start`;
}

// ---------------------------------------------------------------------------------------------------------
// k0sleave shutdown hook (k0s < v1.31.6)
// ---------------------------------------------------------------------------------------------------------

/** Run at shutdown: leaves etcd when the ControlNode carries `k0smotron.io/leave: "true"`. */
function k0sLeaveScript(k0s: string): string {
  return `#!/bin/sh

PID=$(${k0s} status | grep "Process ID" | awk '{print $3}')
AUTOPILOT_HOSTNAME=$(tr '\\0' '\\n' < /proc/$PID/environ | grep AUTOPILOT_HOSTNAME)
MACHINE_NAME=\${AUTOPILOT_HOSTNAME#"AUTOPILOT_HOSTNAME="}

IS_LEAVING=$(${k0s} kc get controlnodes $MACHINE_NAME -o jsonpath='{.metadata.annotations.k0smotron\\.io/leave}')

if [ $IS_LEAVING = "true" ]; then
    until ${k0s} etcd leave; do
        sleep 1
    done
fi
`;
}

const K0SLEAVE_SYSTEMD_UNIT = `[Unit]
Description=k0s etcd leave service
After=multi-user.target

[Service]
Type=simple
ExecStart=/bin/true
ExecStop=${K0SLEAVE_SCRIPT_PATH}
TimeoutStartSec=0
TimeoutStopSec=180
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

// The two trailing tabs are k0smotron's (its Go raw string is indented).
const K0SLEAVE_OPENRC_SCRIPT = `#!/sbin/openrc-run

name="k0sleave"
description="k0s etcd leave service"
command="${K0SLEAVE_SCRIPT_PATH}"
\t\t`;

// No trailing newline, as in k0smotron.
const K0SLEAVE_SYSV_SCRIPT = `#!/bin/sh
# For RedHat and cousins:
# chkconfig: - 99 01
# description: k0s etcd leave service
# processname: k0sleave

### BEGIN INIT INFO
# Provides:          k0sleave
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: k0s etcd leave service
# Description:       Handles etcd leave operations for k0s.
### END INIT INFO

cmd="${K0SLEAVE_SCRIPT_PATH}"

name="k0sleave"
pid_file="/var/run/$name.pid"
stdout_log="/var/log/$name.log"
stderr_log="/var/log/$name.err"

get_pid() {
    [ -f "$pid_file" ] && cat "$pid_file"
}

is_running() {
    [ -f "$pid_file" ] && ps $(get_pid) > /dev/null 2>&1
}

case "$1" in
    start)
        if is_running; then
            echo "Already started"
        else
            echo "Starting $name"
            $cmd >> "$stdout_log" 2>> "$stderr_log" &
            echo $! > "$pid_file"
            if ! is_running; then
                echo "Unable to start, see $stdout_log and $stderr_log"
                exit 1
            fi
        fi
    ;;
    stop)
        if is_running; then
            echo -n "Stopping $name.."
            kill $(get_pid)
            for i in $(seq 1 10)
            do
                if ! is_running; then
                    break
                fi
                echo -n "."
                sleep 1
            done
            echo
            if is_running; then
                echo "Not stopped; may still be shutting down or shutdown may have failed"
                exit 1
            else
                echo "Stopped"
                if [ -f "$pid_file" ]; then
                    rm "$pid_file"
                fi
            fi
        else
            echo "Not running"
        fi
    ;;
    restart)
        $0 stop
        if is_running; then
            echo "Unable to stop, will not attempt to start"
            exit 1
        fi
        $0 start
    ;;
    status)
        if is_running; then
            echo "Running"
        else
            echo "Stopped"
            exit 1
        fi
    ;;
    *)
        echo "Usage: $0 {start|stop|restart|status}"
        exit 1
    ;;
esac
exit 0`;

/** The script (0777) and the systemd, OpenRC and SysV units (0644) under the shutdown files dir. */
export function k0sLeaveFiles(
  workingDir: string | undefined,
  k0sInstallDir: string | undefined
): WorkerFile[] {
  const dir = shutdownFilesDir(workingDir);
  return [
    { path: K0SLEAVE_SCRIPT_PATH, content: k0sLeaveScript(k0sBinary(k0sInstallDir)), permissions: '0777' },
    { path: `${dir}/k0sleave.service`, content: K0SLEAVE_SYSTEMD_UNIT, permissions: '0644' },
    { path: `${dir}/k0sleave-openrc`, content: K0SLEAVE_OPENRC_SCRIPT, permissions: '0644' },
    { path: `${dir}/k0sleave-sysv`, content: K0SLEAVE_SYSV_SCRIPT, permissions: '0644' },
  ];
}

/** Registers the hook with whichever init systems exist; each line tolerates the others' absence. */
export function k0sLeaveCommands(workingDir: string | undefined): string[] {
  const dir = shutdownFilesDir(workingDir);
  return [
    `(command -v systemctl > /dev/null 2>&1 && (cp ${dir}/k0sleave.service /etc/systemd/system/k0sleave.service && systemctl daemon-reload && systemctl enable k0sleave.service && systemctl start --no-block k0sleave.service) || true)`,
    `(command -v rc-service > /dev/null 2>&1 && (cp ${dir}/k0sleave-openrc /etc/init.d/k0sleave && rc-update add k0sleave shutdown) || true)`,
    `(command -v service > /dev/null 2>&1 && (cp ${dir}/k0sleave-sysv /etc/init.d/k0sleave && update-rc.d k0sleave defaults && service k0sleave start) || true)`,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// First controller: the cluster certificates
// ---------------------------------------------------------------------------------------------------------

/** Suffixes of the Cluster API certificate Secrets `<cluster>-<suffix>`. */
export type CertificateSecretSuffix = 'ca' | 'etcd' | 'proxy' | 'sa';
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';

export interface PkiFileSource {
  path: string;
  secretSuffix: CertificateSecretSuffix;
  key: typeof TLS_CERT_KEY | typeof TLS_KEY_KEY;
}

/** The first controller's PKI in the order Cluster API's `Certificates.AsFiles` writes it, all 0644. */
export const CONTROLLER_PKI_FILES: readonly PkiFileSource[] = [
  { path: '/var/lib/k0s/pki/ca.crt', secretSuffix: 'ca', key: TLS_CERT_KEY },
  { path: '/var/lib/k0s/pki/ca.key', secretSuffix: 'ca', key: TLS_KEY_KEY },
  { path: '/var/lib/k0s/pki/etcd/ca.crt', secretSuffix: 'etcd', key: TLS_CERT_KEY },
  { path: '/var/lib/k0s/pki/etcd/ca.key', secretSuffix: 'etcd', key: TLS_KEY_KEY },
  { path: '/var/lib/k0s/pki/front-proxy-ca.crt', secretSuffix: 'proxy', key: TLS_CERT_KEY },
  { path: '/var/lib/k0s/pki/front-proxy-ca.key', secretSuffix: 'proxy', key: TLS_KEY_KEY },
  { path: '/var/lib/k0s/pki/sa.pub', secretSuffix: 'sa', key: TLS_CERT_KEY },
  { path: '/var/lib/k0s/pki/sa.key', secretSuffix: 'sa', key: TLS_KEY_KEY },
];

// Cluster API looks the Secrets up in this order, so a malformed one is reported in this order too.
const CERTIFICATE_LOOKUP_ORDER: readonly CertificateSecretSuffix[] = ['ca', 'sa', 'proxy', 'etcd'];

export function certificateSecretName(clusterName: string, suffix: CertificateSecretSuffix): string {
  return `${clusterName}-${suffix}`;
}

export interface PkiFile {
  path: string;
  content: string;
}

export type PkiFilesResult = { ok: true; pki: PkiFile[] } | { ok: false; error: string };

/**
 * The PKI files from the Secrets' decoded data (undefined = Secret not found). Like Cluster API's lookup
 * (no generation): a missing Secret or an empty value just leaves its files out; a Secret without
 * `tls.crt` is an error.
 */
export function controllerPkiFiles(
  clusterName: string,
  secretData: (secretName: string) => Readonly<Record<string, string>> | undefined
): PkiFilesResult {
  const data = new Map<CertificateSecretSuffix, Readonly<Record<string, string>>>();
  for (const suffix of CERTIFICATE_LOOKUP_ORDER) {
    const name = certificateSecretName(clusterName, suffix);
    const found = secretData(name);
    if (found === undefined) continue;
    if (found[TLS_CERT_KEY] === undefined) {
      return {
        ok: false,
        error: `failed to read keypair from certificate ${name}: missing data for key ${TLS_CERT_KEY}`,
      };
    }
    data.set(suffix, found);
  }
  const pki = CONTROLLER_PKI_FILES.flatMap(({ path, secretSuffix, key }) => {
    const content = data.get(secretSuffix)?.[key];
    return content ? [{ path, content }] : [];
  });
  return { ok: true, pki };
}

// ---------------------------------------------------------------------------------------------------------
// k0s.yaml
// ---------------------------------------------------------------------------------------------------------

/**
 * The ClusterConfig as Go's `json.Encoder` writes an unstructured object: keys sorted, `<`, `>`, `&`,
 * U+2028 and U+2029 escaped, a trailing newline. (Keys are sorted by UTF-16 code unit where Go sorts by
 * UTF-8 byte; they differ only for keys beyond the Basic Multilingual Plane.)
 */
export function serializeK0sConfig(config: Readonly<Record<string, unknown>>): string {
  const json = JSON.stringify(config, (_key, value: unknown) =>
    isPlainObject(value) ? sortKeys(value) : value
  );
  return (
    json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]])
  );
}

// ---------------------------------------------------------------------------------------------------------
// The whole plan
// ---------------------------------------------------------------------------------------------------------

export type ControllerRole = { kind: 'first'; pki: readonly PkiFile[] } | { kind: 'joining'; token: string };

export interface ControllerPlanInput {
  spec: K0sControllerConfigSpec;
  configName: string;
  machineName: string;
  machineVersion?: string | undefined;
  role: ControllerRole;
  /** spec.files with contentFrom already resolved, in spec order. */
  files?: readonly { path: string; content: string; permissions?: string | undefined }[] | undefined;
  /** The ClusterConfig to write to k0s.yaml; without it k0s runs on its defaults (no file, no --config). */
  k0sConfig?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The whole `{ files, commands }` in k0smotron's order. Files: k0s.yaml, then the PKI (first) or the token
 * (joining), user files, the k0sleave files (< v1.31.6). Commands: preStartCommands, download, k0sleave
 * registration (< v1.31.6), install, start, postStartCommands, sentinel. An unparseable version (also none
 * at all) is an error, as in k0smotron.
 */
export function planControllerBootstrap(input: ControllerPlanInput): WorkerBootstrapResult {
  const { spec } = input;
  if (spec.tunneling?.enabled) return { ok: false, error: 'spec.tunneling is not supported by k0sflow' };
  const version = normalizeControllerVersion(spec.version, input.machineVersion) ?? '';
  const parsed = parseK0sVersion(version);
  if (!parsed.ok) return { ok: false, error: `error parsing k0s version: ${parsed.error}` };
  const withK0sLeave = needsK0sLeaveHook(version) === true;
  const download = workerDownloadCommands({
    preInstalledK0s: spec.preInstalledK0s,
    downloadURL: spec.downloadURL,
    k0sInstallDir: spec.k0sInstallDir,
    version,
  });
  if (!download.ok) return download;
  const bootstrap: WorkerBootstrap = {
    files: [
      ...controllerFiles(input),
      ...(withK0sLeave ? k0sLeaveFiles(spec.workingDir, spec.k0sInstallDir) : []),
    ],
    commands: [
      ...(spec.preStartCommands ?? []),
      ...download.commands,
      ...(withK0sLeave ? k0sLeaveCommands(spec.workingDir) : []),
      installCommandFor(input),
      controllerStartCommand(spec.k0sInstallDir),
      ...(spec.postStartCommands ?? []),
      WORKER_SENTINEL_COMMAND,
    ],
  };
  return { ok: true, bootstrap };
}

/** k0s.yaml, the PKI or the token, the user files. */
function controllerFiles(input: ControllerPlanInput): WorkerFile[] {
  const { spec, k0sConfig } = input;
  const config = k0sConfig
    ? [
        {
          path: controllerConfigPath(spec.workingDir),
          content: serializeK0sConfig(k0sConfig),
          permissions: K0S_CONFIG_FILE_MODE,
        },
      ]
    : [];
  const user = (input.files ?? []).map((f) => ({
    path: f.path,
    content: f.content,
    permissions: f.permissions ?? '',
  }));
  return [...config, ...roleFiles(input.role, controllerTokenPath(spec.workingDir)), ...user];
}

function installCommandFor(input: ControllerPlanInput): string {
  const { spec } = input;
  return controllerInstallCommand({
    k0sInstallDir: spec.k0sInstallDir,
    configName: input.configName,
    machineName: input.machineName,
    args: spec.args,
    configPath: input.k0sConfig ? controllerConfigPath(spec.workingDir) : undefined,
    tokenPath: input.role.kind === 'joining' ? controllerTokenPath(spec.workingDir) : undefined,
    useSystemHostname: spec.useSystemHostname,
  });
}

function roleFiles(role: ControllerRole, tokenPath: string): WorkerFile[] {
  if (role.kind === 'first') {
    return role.pki.map((f) => ({ path: f.path, content: f.content, permissions: CONTROLLER_PKI_FILE_MODE }));
  }
  return [{ path: tokenPath, content: role.token, permissions: WORKER_TOKEN_FILE_MODE }];
}

// ---------------------------------------------------------------------------------------------------------
// Which controller is first, and where the others join
// ---------------------------------------------------------------------------------------------------------

/** What the choices below need of an active control-plane Machine. */
export interface ControllerMachine {
  name: string;
  /** RFC 3339, as in metadata.creationTimestamp. */
  creationTimestamp: string;
  version?: string | undefined;
  phase?: string | undefined;
}

/**
 * k0smotron's "initial controller" test: the oldest Machine (creation time, then name) is named like the
 * config, the config's name, not its owner's, as K0sControlPlane names both alike.
 */
export function isFirstController(configName: string, machines: readonly ControllerMachine[]): boolean {
  const oldest = machines.reduce<ControllerMachine | undefined>(
    (best, m) => (best === undefined || createdBefore(m, best) ? m : best),
    undefined
  );
  return oldest?.name === configName;
}

function createdBefore(a: ControllerMachine, b: ControllerMachine): boolean {
  const ta = Date.parse(a.creationTimestamp);
  const tb = Date.parse(b.creationTimestamp);
  return ta === tb ? a.name < b.name : ta < tb;
}

/**
 * The Machine whose address a joining controller falls back to: not Pending and not named like the config,
 * first after k0smotron's sort (Go's insertion sort, used for up to 12 items, over the caller's order; its
 * ordering only counts a Machine as smaller when both its version and its creation time are).
 */
export function firstRunningControllerMachine(
  configName: string,
  machines: readonly ControllerMachine[]
): ControllerMachine | undefined {
  const sorted = machines.filter((m) => m.phase !== 'Pending' && m.name !== configName);
  for (let i = 1; i < sorted.length; i++) {
    for (let j = i; j > 0 && runningMachineLess(sorted[j], sorted[j - 1]); j--) {
      [sorted[j - 1], sorted[j]] = [sorted[j] as ControllerMachine, sorted[j - 1] as ControllerMachine];
    }
  }
  return sorted[0];
}

function runningMachineLess(a: ControllerMachine | undefined, b: ControllerMachine | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const ta = Date.parse(a.creationTimestamp);
  const tb = Date.parse(b.creationTimestamp);
  if (ta === tb) return a.name < b.name;
  return (a.version ?? '') < (b.version ?? '') && ta < tb;
}

/** A Machine (or infrastructure machine) status address. */
export interface MachineAddress {
  type: string;
  address: string;
}

/**
 * k0smotron's pick among one address list: it stops at the first ExternalIP (verbatim) or IPv4 InternalIP;
 * otherwise the last IPv6 InternalIP, bracketed and without zone. Addresses that do not parse are skipped.
 */
export function pickControllerAddress(addresses: readonly MachineAddress[]): string | undefined {
  let ipv6: string | undefined;
  for (const { type, address } of addresses) {
    if (type === 'ExternalIP') return address;
    if (type !== 'InternalIP') continue;
    const ip = parseIP(address);
    if (ip?.kind === 'v4') return ip.text;
    if (ip?.kind === 'v6') ipv6 = `[${ip.text}]`;
  }
  return ipv6;
}

export type PortResult = { ok: true; port: number } | { ok: false; error: string };

/**
 * `spec.api.k0sApiPort` of the ClusterConfig when a positive integer, else 9443; a non-map on the way or a
 * non-integer port is an error (unstructured.NestedInt64). Without a ClusterConfig k0smotron v1.10.9 panics
 * (nil dereference); 9443 is used instead.
 */
export function controllerJoinPort(k0sConfig: Readonly<Record<string, unknown>> | undefined): PortResult {
  let node: unknown = k0sConfig;
  const path: string[] = [];
  for (const field of ['spec', 'api', 'k0sApiPort']) {
    path.push(field);
    if (node === undefined || node === null) return { ok: true, port: DEFAULT_K0S_API_PORT };
    if (!isPlainObject(node)) return portError(`.${path.join('.')} accessor error: parent is not a map`);
    if (!Object.hasOwn(node, field)) return { ok: true, port: DEFAULT_K0S_API_PORT };
    node = node[field];
  }
  if (typeof node !== 'number' || !Number.isInteger(node)) {
    return portError('.spec.api.k0sApiPort accessor error: not an integer');
  }
  return { ok: true, port: node > 0 ? node : DEFAULT_K0S_API_PORT };
}

function portError(detail: string): PortResult {
  return { ok: false, error: `error retrieving k0sAPIPort: ${detail}` };
}

export interface JoinServerInput {
  /** Cluster.spec.controlPlaneEndpoint.host. */
  endpointHost: string;
  k0sConfig?: Readonly<Record<string, unknown>> | undefined;
  /** status.addresses of the first running controller Machine (see firstRunningControllerMachine). */
  machineAddresses?: readonly MachineAddress[] | undefined;
  /** status.addresses of its infrastructure machine, consulted only when the Machine's yield nothing. */
  infraAddresses?: readonly MachineAddress[] | undefined;
}

export interface JoinServerCandidates {
  /** Used when `GET <endpoint>/v1beta1/ca` answers within 1 s (TLS unverified; any HTTP status counts). */
  endpoint: string;
  /** Otherwise this; undefined means the first controller has no address yet (k0smotron retries in 30 s). */
  fallback: string | undefined;
}

export type JoinServerResult = { ok: true; candidates: JoinServerCandidates } | { ok: false; error: string };

/** The join token's server for a joining controller: the endpoint if it answers, else the first controller. */
export function controllerJoinServerCandidates(input: JoinServerInput): JoinServerResult {
  const port = controllerJoinPort(input.k0sConfig);
  if (!port.ok) return port;
  const address =
    pickControllerAddress(input.machineAddresses ?? []) ?? pickControllerAddress(input.infraAddresses ?? []);
  return {
    ok: true,
    candidates: {
      endpoint: joinServerURL(input.endpointHost, port.port),
      fallback: address === undefined ? undefined : joinServerURL(address, port.port),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// IP addresses as Go's netip.ParseAddr reads them and Addr.String writes them
// ---------------------------------------------------------------------------------------------------------

type ParsedIP = { kind: 'v4'; text: string } | { kind: 'v6'; text: string };

function parseIP(text: string): ParsedIP | undefined {
  if (!text.includes(':')) {
    const v4 = parseIPv4(text);
    return v4 && { kind: 'v4', text: v4.join('.') };
  }
  const groups = parseIPv6(text);
  return groups && { kind: 'v6', text: formatIPv6(groups) };
}

/** Four decimal fields 0-255 without leading zeros. */
function parseIPv4(text: string): number[] | undefined {
  const fields = text.split('.');
  if (fields.length !== 4) return undefined;
  const octets = fields.map((f) => (/^(0|[1-9][0-9]{0,2})$/.test(f) ? Number(f) : 256));
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** Eight 16-bit groups; a zone (`%eth0`) must be non-empty and is dropped, a trailing IPv4 counts as two. */
function parseIPv6(text: string): number[] | undefined {
  const percent = text.indexOf('%');
  if (percent === text.length - 1) return undefined;
  const body = percent < 0 ? text : text.slice(0, percent);
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  return [...head, ...Array<number>(Math.max(missing, 0)).fill(0), ...tail];
}

function parseGroups(text: string, mayEndWithIPv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && mayEndWithIPv4 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (!v4) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/** RFC 5952 (the first longest run of two or more zero groups becomes `::`); IPv4-mapped as `::ffff:a.b.c.d`. */
function formatIPv6(groups: number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = [groups[6] ?? 0, groups[7] ?? 0].flatMap((g) => [g >> 8, g & 0xff]);
    return `::ffff:${v4.join('.')}`;
  }
  let start = -1;
  let length = 0;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > length) [start, length] = [i, j - i];
  }
  const hex = groups.map((g) => g.toString(16));
  if (start < 0) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}
