// Bootstrap data as k0smotron's SSH provisioner reads it: a cloud-config document of which only
// `write_files` and `runcmd` matter, plus the shell commands that put it on a host the k0smotron way.
// Pure: the payload is a secret, so this runs inside the activity that read it; nothing here does I/O.
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

/** Written by the last bootstrap command; provisioning succeeded only if it exists afterwards. */
export const BOOTSTRAP_SENTINEL = '/run/cluster-api/bootstrap-success.complete';
export const INSTALL_SCRIPT_NAME = 'k0s_install.sh';
export const INSTALL_SCRIPT_MODE = 0o700;
export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_WORKING_DIR = '/etc/k0smotron';

/** How a file's `content` is stored in the document; the activity decodes it. */
export type ContentEncoding = 'text' | 'base64' | 'gzip+base64';

export interface PlannedFile {
  /** Absolute path on the host. */
  path: string;
  /** As written in the document: text, or base64 (whitespace removed) for the encoded forms. */
  content: string;
  encoding: ContentEncoding;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** `user` or `user:group`, applied with chown after writing. */
  owner?: string;
}

export interface BootstrapPlan {
  files: PlannedFile[];
  /** Shell command lines, in order; array entries of `runcmd` are already shell-quoted and joined. */
  commands: string[];
}

export type BootstrapPlanResult = { ok: true; plan: BootstrapPlan } | { ok: false; error: string };

const ENCODINGS: Record<string, ContentEncoding> = {
  'text/plain': 'text',
  b64: 'base64',
  base64: 'base64',
  'gz+b64': 'gzip+base64',
  'gz+base64': 'gzip+base64',
  'gzip+b64': 'gzip+base64',
  'gzip+base64': 'gzip+base64',
};

const OWNER = /^[A-Za-z0-9._][A-Za-z0-9._-]*(:[A-Za-z0-9._][A-Za-z0-9._-]*)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

class PlanError extends Error {}

/**
 * Parses a bootstrap data payload (`## template: jinja` / `#cloud-config` header lines are YAML
 * comments and are accepted, not required). Unknown keys are ignored, as k0smotron ignores them.
 * Never throws: invalid input gives `{ ok: false, error }` naming the offending field.
 */
export function parseBootstrapData(text: string): BootstrapPlanResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, error: `bootstrap data is not valid YAML: ${doc.errors[0]?.message ?? ''}` };
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) {
    return { ok: true, plan: { files: [], commands: [] } };
  }
  if (!isMap(root)) return { ok: false, error: 'bootstrap data: the document must be a mapping' };
  try {
    return {
      ok: true,
      plan: {
        files: seqItems(root.get('write_files', true), 'write_files').map((item, i) =>
          planFile(item, `write_files[${i}]`)
        ),
        commands: seqItems(root.get('runcmd', true), 'runcmd').map((item, i) =>
          planCommand(item, `runcmd[${i}]`)
        ),
      },
    };
  } catch (err) {
    if (err instanceof PlanError) return { ok: false, error: err.message };
    throw err;
  }
}

function seqItems(node: unknown, field: string): unknown[] {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) throw new PlanError(`${field}: must be a list`);
  return node.items;
}

/** The text of a scalar as written: `0600` stays `0600` (YAML 1.2 would read it as decimal 600). */
function scalarText(node: unknown, field: string): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (!isScalar(node)) throw new PlanError(`${field}: must be a scalar`);
  if (node.value === null) return undefined;
  const value = node.value;
  if (typeof value === 'string') return value;
  if (typeof node.source === 'string') return node.source;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  throw new PlanError(`${field}: must be text`);
}

function planFile(item: unknown, field: string): PlannedFile {
  if (!isMap(item)) throw new PlanError(`${field}: must be a mapping`);
  const path = scalarText(item.get('path', true), `${field}.path`);
  if (!path) throw new PlanError(`${field}.path: is required`);
  if (!path.startsWith('/'))
    throw new PlanError(`${field}.path: must be absolute, got ${JSON.stringify(path)}`);
  if (path.includes('\0') || path.endsWith('/')) throw new PlanError(`${field}.path: is not a file path`);

  const { content, encoding } = fileContent(item, field);
  const permissions = scalarText(item.get('permissions', true), `${field}.permissions`);
  const mode = parsePermissions(permissions);
  if (mode === undefined) {
    throw new PlanError(`${field}.permissions: ${JSON.stringify(permissions)} is not an octal mode`);
  }
  const owner = scalarText(item.get('owner', true), `${field}.owner`);
  if (owner !== undefined && !OWNER.test(owner)) {
    throw new PlanError(`${field}.owner: ${JSON.stringify(owner)} is not user or user:group`);
  }
  return { path, content, encoding, mode, ...(owner !== undefined ? { owner } : {}) };
}

function fileContent(
  item: { get(key: string, keepScalar: true): unknown },
  field: string
): { content: string; encoding: ContentEncoding } {
  const encodingText = scalarText(item.get('encoding', true), `${field}.encoding`);
  const encoding = encodingText === undefined ? 'text' : ENCODINGS[encodingText.toLowerCase()];
  if (encoding === undefined) {
    throw new PlanError(
      `${field}.encoding: unsupported ${JSON.stringify(encodingText)} (use b64, base64, gz+b64 or gzip+base64)`
    );
  }
  const content = scalarText(item.get('content', true), `${field}.content`) ?? '';
  if (encoding === 'text') return { content, encoding };
  const compact = content.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new PlanError(`${field}.content: is not valid base64 (encoding ${encodingText})`);
  }
  return { content: compact, encoding };
}

function planCommand(item: unknown, field: string): string {
  if (isSeq(item)) {
    if (item.items.length === 0) throw new PlanError(`${field}: an argument list must not be empty`);
    return item.items
      .map((arg, j) => {
        const text = scalarText(arg, `${field}[${j}]`);
        if (text === undefined) throw new PlanError(`${field}[${j}]: must not be empty`);
        return shellQuote(text);
      })
      .join(' ');
  }
  const text = scalarText(item, field);
  if (text === undefined || text.trim() === '') throw new PlanError(`${field}: must not be empty`);
  return text;
}

/**
 * k0smotron's `PermissionsAsInt`: octal digits (`0600`, `600`, also `0o600`); empty or missing
 * means 0644. A number is read by its decimal digits (600 → 0o600), as YAML decoded into
 * k0smotron's string field would be. Anything else: undefined.
 */
export function parsePermissions(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return DEFAULT_FILE_MODE;
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim().replace(/^0o/i, '');
  } else {
    return undefined;
  }
  if (!/^[0-7]{1,5}$/.test(text)) return undefined;
  const mode = parseInt(text, 8);
  return mode <= 0o7777 ? mode : undefined;
}

/** `0644`-style, as `install -m` and `stat -c %a` (without the leading zero) write it. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** POSIX single-quoting; words made only of safe characters are left bare. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The directory part of an absolute POSIX path (`/a/b` → `/a`, `/a` → `/`). */
export function parentDir(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return cut <= 0 ? '/' : trimmed.slice(0, cut);
}

export interface SudoContext {
  /** RemoteMachine `useSudo`. */
  sudo: boolean;
  /** The SSH user: root is never wrapped. */
  user: string;
}

/** `sudo -n -- sh -c '<command>'` when sudo is asked for and the user is not root; else as is. */
export function withSudo(command: string, ctx: SudoContext): string {
  if (!ctx.sudo || ctx.user === 'root') return command;
  return `sudo -n -- sh -c ${shellQuote(command)}`;
}

/**
 * The script that writes stdin to `path` as k0smotron does: a missing parent directory is created
 * with the file's mode (an existing one is left alone), a new file is created with `mode`, an
 * existing file is truncated and rewritten with its mode unchanged; then `chown` if an owner is given.
 * The content never appears in the command line: it is streamed on stdin.
 */
export function uploadScript(file: { path: string; mode: number; owner?: string }): string {
  const path = shellQuote(file.path);
  const dir = shellQuote(parentDir(file.path));
  const mode = formatMode(file.mode);
  return [
    'set -e',
    `[ -d ${dir} ] || install -d -m ${mode} ${dir}`,
    `[ -e ${path} ] || install -m ${mode} /dev/null ${path}`,
    `cat > ${path}`,
    ...(file.owner !== undefined ? [`chown ${shellQuote(file.owner)} ${path}`] : []),
  ].join('\n');
}

/** Exit 0 if `path` exists, 1 if not. */
export function fileExistsCommand(path: string): string {
  return `test -e ${shellQuote(path)}`;
}

/** k0smotron's `commandsAsScript` script: `set -e`, so it stops at the first failing line. */
export function installScript(commands: readonly string[]): string {
  return `#!/bin/sh\nset -e\n\n${commands.join('\n')}\n`;
}

/** `<workingDir>/k0s_install.sh`; an empty workingDir means the default `/etc/k0smotron`. */
export function installScriptPath(workingDir: string): string {
  const dir = (workingDir || DEFAULT_WORKING_DIR).replace(/\/+$/, '');
  return `${dir}/${INSTALL_SCRIPT_NAME}`;
}

/** The extra file uploaded after the others when `commandsAsScript` is set; run once by path. */
export function installScriptFile(workingDir: string, commands: readonly string[]): PlannedFile {
  return {
    path: installScriptPath(workingDir),
    content: installScript(commands),
    encoding: 'text',
    mode: INSTALL_SCRIPT_MODE,
  };
}

/**
 * The shell that kills a process tree: `pgid` (a number or a shell expression such as `$old`) and every descendant
 * (sudo may put its command in a session of its own, out of reach of a group kill), TERM then KILL.
 */
export function killTreeCommand(pgid: number | string): string {
  const tree =
    `ps -eo pid=,ppid= | awk -v root=${pgid} '{ parent[$1] = $2 } END { tree[root] = 1; grown = 1; ` +
    `while (grown) { grown = 0; for (p in parent) if (!(p in tree) && (parent[p] in tree)) { tree[p] = 1; grown = 1 } } ` +
    `for (p in tree) print p }'`;
  return [
    `pids=$(${tree})`,
    // Plain pids: dash's kill takes no `--`, so no negative group id either.
    'kill -TERM $pids 2>/dev/null',
    'sleep 1',
    'kill -KILL $pids 2>/dev/null',
    'true',
  ].join('; ');
}
