// Name resolution for the pod TEST DOUBLE's pods (instead of cluster DNS): one hosts file per
// namespace, bind-mounted over /etc/hosts in the private mount namespace of each process the double
// starts for a pod of that namespace (supervisor.ts, inPod). It holds what CoreDNS would
// answer there: for every Service selecting served pods, `svc`, `svc.ns`, `svc.ns.svc`,
// `svc.ns.svc.<domain>` → the IPs of those pods (Ready ones, or all with an address when the Service
// publishes not-ready addresses), and for pods with a subdomain, `host.svc[.ns[.svc[.<domain>]]]`.
// Short names only resolve in their own namespace, so several clusters in several namespaces stay
// apart. Files are rewritten in place (same inode) so running processes see changes (Go re-reads
// /etc/hosts when it changes, at most every 5 s).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NamedEndpoint {
  namespace: string;
  name: string;
  hostname: string;
  subdomain: string | null;
  labels: Record<string, string>;
  ip: string | null;
  ready: boolean;
}

export interface NamedService {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  publishNotReadyAddresses: boolean;
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const BASE = '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n';

function qualified(name: string, ns: string, domain: string, short: boolean): string[] {
  return [...(short ? [name] : []), `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.${domain}`];
}

/** The hosts file content seen from namespace `ns`. */
export function renderHosts(
  ns: string,
  services: NamedService[],
  endpoints: NamedEndpoint[],
  domain = 'cluster.local'
): string {
  const byIp = new Map<string, Set<string>>();
  const add = (ip: string, names: string[]): void => {
    const set = byIp.get(ip) ?? new Set<string>();
    names.forEach((n) => set.add(n));
    byIp.set(ip, set);
  };
  for (const s of services) {
    const eps = endpoints.filter(
      (e) =>
        e.namespace === s.namespace &&
        e.ip &&
        (e.ready || s.publishNotReadyAddresses) &&
        selects(s.selector, e.labels)
    );
    for (const e of eps) add(e.ip!, qualified(s.name, s.namespace, domain, s.namespace === ns));
  }
  for (const e of endpoints) {
    if (!e.ip || !e.subdomain) continue;
    if (!services.some((s) => s.namespace === e.namespace && s.name === e.subdomain)) continue;
    add(e.ip, qualified(`${e.hostname}.${e.subdomain}`, e.namespace, domain, e.namespace === ns));
  }
  const lines = [...byIp]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ip, names]) => `${ip} ${[...names].join(' ')}`);
  return BASE + lines.map((l) => `${l}\n`).join('');
}

/** The per-namespace files of one watched cluster. */
export class HostsFiles {
  private readonly content = new Map<string, string>();
  /** Seen as /etc/resolv.conf: nothing listens there, so a name not in the hosts file fails at once. */
  readonly resolvFile: string;

  constructor(
    private readonly dir: string,
    private readonly render: (ns: string) => string
  ) {
    mkdirSync(dir, { recursive: true });
    this.resolvFile = join(dir, 'resolv.conf');
    writeFileSync(this.resolvFile, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  }

  /** The file for `ns`, created (with the current content) if needed. */
  fileFor(ns: string): string {
    const file = join(this.dir, `${ns}.hosts`);
    if (!existsSync(file) || !this.content.has(ns)) this.write(ns, file);
    return file;
  }

  /** Rewrites every file whose content changed. */
  refresh(): void {
    for (const ns of this.content.keys()) this.write(ns, join(this.dir, `${ns}.hosts`));
  }

  remove(ns: string): void {
    this.content.delete(ns);
    rmSync(join(this.dir, `${ns}.hosts`), { force: true });
  }

  namespaces(): string[] {
    return [...this.content.keys()];
  }

  private write(ns: string, file: string): void {
    const text = this.render(ns);
    if (this.content.get(ns) === text && existsSync(file) && readFileSync(file, 'utf8') === text) return;
    // writeFileSync truncates and writes the same inode: bind mounts of it see the new content.
    writeFileSync(file, text);
    this.content.set(ns, text);
  }
}
