// The part of a k0s ClusterConfig (k0s.k0sproject.io/v1beta1) the pod TEST DOUBLE needs to start
// a control plane the way k0s would: API port and SANs, service CIDR, cluster domain, datastore.
import { parse } from 'yaml';

export interface ExternalEtcd {
  endpoints: string[];
  prefix: string | null;
  /** Paths as the pod sees them (e.g. /var/lib/k0s/pki/etcd-ca.crt). */
  caFile: string | null;
  clientCertFile: string | null;
  clientKeyFile: string | null;
}

export type Storage =
  { type: 'etcd'; external: ExternalEtcd | null } | { type: 'kine'; dataSource: string | null };

export interface K0sSettings {
  apiPort: number;
  sans: string[];
  externalAddress: string | null;
  serviceCIDR: string;
  clusterDomain: string;
  storage: Storage;
}

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
const asStr = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const asStrings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

function parseStorage(storage: Obj): Storage {
  if (asStr(storage.type) === 'kine')
    return { type: 'kine', dataSource: asStr(asObj(storage.kine).dataSource) };
  const ext = asObj(asObj(storage.etcd).externalCluster);
  const endpoints = asStrings(ext.endpoints);
  if (endpoints.length === 0) return { type: 'etcd', external: null };
  return {
    type: 'etcd',
    external: {
      endpoints,
      prefix: asStr(ext.etcdPrefix),
      caFile: asStr(ext.caFile),
      clientCertFile: asStr(ext.clientCertFile),
      clientKeyFile: asStr(ext.clientKeyFile),
    },
  };
}

/** Reads the settings (with k0s's defaults) from the YAML text of a ClusterConfig. */
export function parseK0sConfig(text: string): K0sSettings {
  const doc = asObj(parse(text));
  const spec = asObj(doc.spec);
  const api = asObj(spec.api);
  const network = asObj(spec.network);
  const port = Number(api.port ?? 6443);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`bad spec.api.port ${String(api.port)}`);
  return {
    apiPort: port,
    sans: asStrings(api.sans),
    externalAddress: asStr(api.externalAddress),
    serviceCIDR: asStr(network.serviceCIDR) ?? '10.96.0.0/12',
    clusterDomain: asStr(network.clusterDomain) ?? 'cluster.local',
    storage: parseStorage(asObj(spec.storage)),
  };
}

export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The kubernetes Service's address: the first host of the (first, IPv4) service CIDR. */
export function firstServiceIP(cidr: string): string {
  const v4 = cidr.split(',').find((c) => c.includes('.')) ?? '10.96.0.0/12';
  const [net = '', len = '32'] = v4.trim().split('/');
  const size = 2 ** (32 - Number(len));
  return intToIpv4(Math.floor(ipv4ToInt(net) / size) * size + 1);
}

export const isIPv4 = (s: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
