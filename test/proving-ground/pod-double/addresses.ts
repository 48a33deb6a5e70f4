// Addresses of the pod TEST DOUBLE's pods and LoadBalancer Services. With SSH hosts they are /32
// aliases on the hosts' bridge (reachable from this machine and from the hosts); without hosts they
// are 127.x addresses, which need no alias (all of 127/8 is local on lo). Served ClusterIPs are /32
// aliases on lo (this machine only, like a ClusterIP is in-cluster only).
//
// Every alias is written to DIR/pod-double/aliases.json *before* it is added, so that `down`
// removes what a killed double left (removeLeftoverAliases).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { intToIpv4, ipv4ToInt } from './k0s-config.js';
import { errorMessage, log } from './log.js';

const run = promisify(execFile);

export interface PoolConfig {
  /** The device that gets the aliases (the hosts' bridge), or null for 127.x addresses. */
  device: string | null;
  first: string;
  last: string;
}

interface Alias {
  address: string;
  device: string;
}

const journalFile = (dir: string): string => join(dir, 'pod-double', 'aliases.json');
const aliasKey = (a: Alias): string => `${a.address}@${a.device}`;

async function ip(args: string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

/** Addresses currently on `device` (IPv4). */
async function deviceAddresses(device: string): Promise<string[]> {
  const info = JSON.parse(await ip(['-j', '-4', 'addr', 'show', 'dev', device])) as {
    addr_info?: { local?: string }[];
  }[];
  return info.flatMap((i) => (i.addr_info ?? []).map((a) => a.local ?? '')).filter((a) => a !== '');
}

async function delAlias(a: Alias): Promise<void> {
  try {
    await ip(['addr', 'del', `${a.address}/32`, 'dev', a.device]);
  } catch (err) {
    // Gone already (e.g. with the bridge) is fine.
    if (!/Cannot find device|Cannot assign requested address/.test(errorMessage(err)))
      log(`removing alias ${aliasKey(a)}: ${errorMessage(err)}`);
  }
}

/** For `down`: removes the aliases a double that did not stop cleanly left behind. */
export async function removeLeftoverAliases(dir: string): Promise<void> {
  const file = journalFile(dir);
  if (!existsSync(file)) return;
  for (const a of JSON.parse(readFileSync(file, 'utf8')) as Alias[]) await delAlias(a);
  rmSync(file, { force: true });
}

/** Aliases this process added, journaled. */
class Aliases {
  private readonly added = new Map<string, Alias>();

  constructor(private readonly dir: string) {}

  async add(a: Alias): Promise<void> {
    this.added.set(aliasKey(a), a);
    this.save();
    await ip(['addr', 'add', `${a.address}/32`, 'dev', a.device]);
  }

  async del(a: Alias): Promise<void> {
    if (!this.added.delete(aliasKey(a))) return;
    await delAlias(a);
    this.save();
  }

  async delAll(): Promise<void> {
    for (const a of [...this.added.values()]) await this.del(a);
    rmSync(journalFile(this.dir), { force: true });
  }

  private save(): void {
    const file = journalFile(this.dir);
    writeFileSync(`${file}.tmp`, JSON.stringify([...this.added.values()]) + '\n');
    renameSync(`${file}.tmp`, file);
  }
}

export class AddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly owners = new Map<string, string>();
  private readonly aliases: Aliases;

  constructor(
    private readonly cfg: PoolConfig,
    dir: string
  ) {
    this.first = ipv4ToInt(cfg.first);
    this.last = ipv4ToInt(cfg.last);
    this.aliases = new Aliases(dir);
  }

  /** Removes aliases a previous (killed) run left in the pool's range. */
  async sweep(dir: string): Promise<void> {
    await removeLeftoverAliases(dir);
    if (!this.cfg.device) return;
    for (const a of await deviceAddresses(this.cfg.device)) {
      const n = ipv4ToInt(a);
      if (n >= this.first && n <= this.last) await delAlias({ address: a, device: this.cfg.device });
    }
  }

  /** An address that must be local (a node address that is not the gateway itself). */
  async ensureLocal(address: string): Promise<void> {
    const device = this.cfg.device;
    if (!device || address.startsWith('127.')) return;
    if ((await deviceAddresses(device)).includes(address)) return;
    await this.aliases.add({ address, device });
  }

  async allocate(owner: string): Promise<string> {
    for (let n = this.first; n <= this.last; n++) {
      const address = intToIpv4(n);
      if (this.owners.has(address)) continue;
      this.owners.set(address, owner);
      try {
        if (this.cfg.device) await this.aliases.add({ address, device: this.cfg.device });
      } catch (err) {
        this.owners.delete(address);
        throw err;
      }
      return address;
    }
    throw new Error(`no free address in ${this.cfg.first}..${this.cfg.last} for ${owner}`);
  }

  async release(address: string): Promise<void> {
    if (!this.owners.delete(address)) return;
    if (this.cfg.device) await this.aliases.del({ address, device: this.cfg.device });
  }

  /** A Service's ClusterIP as a local address (on lo). */
  async addClusterIP(address: string): Promise<void> {
    if (address.startsWith('127.') || (await deviceAddresses('lo')).includes(address)) return;
    await this.aliases.add({ address, device: 'lo' });
  }

  async removeClusterIP(address: string): Promise<void> {
    await this.aliases.del({ address, device: 'lo' });
  }

  /** Removes every alias this process added. */
  async releaseAll(): Promise<void> {
    await this.aliases.delAll();
    this.owners.clear();
  }

  inUse(): string[] {
    return [...this.owners.keys()];
  }
}
