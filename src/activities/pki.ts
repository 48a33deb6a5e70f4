// X.509 material for a hosted k0s control plane, shaped like what Cluster API's `util/secret` and
// kubeadm write: the cluster CA, the service-account key pair, leaf certificates signed by the CA,
// and the admin kubeconfig. These are helpers for activities, not activities: keys stay in memory.
//
// @peculiar/x509 builds and parses the certificates; node:crypto generates keys (native, fast) and
// writes them in the PEM forms Kubernetes tools expect (RSA keys as PKCS#1, public keys as PKIX).
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect metadata polyfill
// loaded first; ESM evaluates imports in order, so this side-effect import must stay above it.
import 'reflect-metadata';

import * as x509 from '@peculiar/x509';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

// One provider for every @peculiar/x509 call, independent of whether the runtime exposes globalThis.crypto.
x509.cryptoProvider.set(webcrypto);

const generateKeyPairAsync = promisify(generateKeyPair);

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

export type CertificateUsage = 'server' | 'client';

export interface CertificateRequest {
  commonName: string;
  /** Subject O values; Kubernetes reads them as groups (e.g. `system:masters`). */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usages: CertificateUsage[];
  /** Default 365. */
  validityDays?: number;
}

export interface CertificateSummary {
  /** Subject CN; empty when the subject has none. */
  commonName: string;
  /** ISO 8601, so the summary crosses Temporal payloads (JSON) unchanged. */
  notAfter: string;
  isCA: boolean;
}

/** Bad user-supplied (or corrupted) PEM material: retrying cannot help, the input must change. */
export class InvalidPkiMaterialError extends Error {
  override name = 'InvalidPkiMaterialError';
}

const RSA_BITS = 2048; // what CAPI and kubeadm generate
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
const CLOCK_SKEW_MS = 60 * 60 * 1000; // notBefore backdating, for hosts whose clocks run behind
const DAY_MS = 24 * 60 * 60 * 1000;

/** A self-signed CA certificate with a fresh RSA key. */
export async function createCertificateAuthority(
  commonName: string,
  opts: { validityDays?: number } = {}
): Promise<KeyPairPem> {
  const keys = await generateRsaKeyPair();
  const signer = await signerFor(keys.privateKey);
  const spki = spkiDer(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    ...validity(opts.validityDays ?? CA_VALIDITY_DAYS),
    serialNumber: randomSerial(),
    subject: [{ CN: [commonName] }],
    issuer: [{ CN: [commonName] }],
    publicKey: spki,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true
      ),
      await x509.SubjectKeyIdentifierExtension.create(spki),
    ],
  });
  return { cert: certificatePem(cert), key: rsaPrivateKeyPem(keys.privateKey) };
}

/** The service-account signing key pair; CAPI stores the public half in `tls.crt`, the private in `tls.key`. */
export async function createServiceAccountKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  const keys = await generateRsaKeyPair();
  return {
    publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: rsaPrivateKeyPem(keys.privateKey),
  };
}

/** A leaf certificate with a fresh RSA key, signed by `ca`. */
export async function issueCertificate(ca: KeyPairPem, req: CertificateRequest): Promise<KeyPairPem> {
  // Everything that can reject the request is checked before the (comparatively slow) key generation.
  const caCert = loadCertificate(ca.cert, 'CA certificate');
  const caKey = loadPrivateKey(ca.key, 'CA private key');
  // Signing with a key that is not the CA's would produce certificates nothing can verify.
  if (!publicKeyOf(caCert).equals(createPublicKey(caKey)))
    throw new InvalidPkiMaterialError('CA private key does not match the CA certificate');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true
    ),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsages(req.usages)),
    await authorityKeyIdentifier(caCert),
  ];
  const san = subjectAltNames(req);
  if (san) extensions.push(san);
  const period = validity(req.validityDays ?? LEAF_VALIDITY_DAYS);
  const [keys, signer] = await Promise.all([generateRsaKeyPair(), signerFor(caKey)]);
  const cert = await x509.X509CertificateGenerator.create({
    ...period,
    serialNumber: randomSerial(),
    subject: subjectName(req),
    issuer: caCert.subjectName,
    publicKey: spkiDer(keys.publicKey),
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  });
  return { cert: certificatePem(cert), key: rsaPrivateKeyPem(keys.privateKey) };
}

/** Whether the key is the private half of the certificate's public key; throws on unparsable input. */
export function certificateMatchesKey(pair: KeyPairPem): boolean {
  const cert = loadCertificate(pair.cert, 'certificate');
  const key = loadPrivateKey(pair.key, 'private key');
  return publicKeyOf(cert).equals(createPublicKey(key));
}

/** Whether the certificate may sign others: basicConstraints CA:TRUE, and keyCertSign if keyUsage is present. */
export function isCertificateAuthority(certPem: string): boolean {
  return isCA(loadCertificate(certPem, 'certificate'));
}

/** What callers check of a (possibly user-supplied) certificate; throws a clear error on bad input. */
export function parseCertificate(pem: string): CertificateSummary {
  const cert = loadCertificate(pem, 'certificate');
  return {
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    notAfter: cert.notAfter.toISOString(),
    isCA: isCA(cert),
  };
}

/** The `<cluster>-kubeconfig` Secret value, with the names CAPI's `util/kubeconfig` uses. */
export function adminKubeconfig(opts: {
  clusterName: string;
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  userName?: string;
}): string {
  const user = opts.userName ?? `${opts.clusterName}-admin`;
  const context = `${user}@${opts.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: opts.clusterName,
        cluster: { server: opts.server, 'certificate-authority-data': base64(opts.caCert) },
      },
    ],
    contexts: [{ name: context, context: { cluster: opts.clusterName, user } }],
    'current-context': context,
    preferences: {},
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': base64(opts.clientCert),
          'client-key-data': base64(opts.clientKey),
        },
      },
    ],
  });
}

// ---- internals ----

/** A WebCrypto signing key and the signature algorithm (with hash) to use it with. */
interface Signer {
  key: webcrypto.CryptoKey;
  algorithm: { name: string; hash: string };
}

/** ECDSA curves a user-supplied CA key may use, with the hash Go pairs with each. */
const EC_CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** Native key generation: WebCrypto would work too, but node:crypto exports PKCS#1 directly. */
async function generateRsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateKeyPairAsync('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 });
}

/** Imports a node:crypto private key into WebCrypto, which is what @peculiar/x509 signs with. */
async function signerFor(key: KeyObject): Promise<Signer> {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']), algorithm };
  }
  const curve =
    key.asymmetricKeyType === 'ec' ? EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (!curve)
    throw new InvalidPkiMaterialError(
      `CA private key: unsupported key type ${describeKeyType(key)} (RSA or ECDSA P-256/P-384/P-521 expected)`
    );
  const imported = await webcrypto.subtle.importKey(
    'pkcs8',
    pkcs8,
    { name: 'ECDSA', namedCurve: curve.namedCurve },
    false,
    ['sign']
  );
  return { key: imported, algorithm: { name: 'ECDSA', hash: curve.hash } };
}

function describeKeyType(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} (${curve})` : String(key.asymmetricKeyType);
}

/** Backdated notBefore so a freshly issued certificate is valid on hosts whose clocks lag. */
function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(days) || days <= 0)
    throw new RangeError(`validityDays must be a positive number, got ${days}`);
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 128 random bits with the top bit clear: positive, unique, and within RFC 5280's 20 octets. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** PKCS#1 (`BEGIN RSA PRIVATE KEY`), as CAPI writes it. */
function rsaPrivateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** PEM with the trailing newline Go's `pem.Encode` writes, so files concatenate cleanly. */
function certificatePem(cert: x509.X509Certificate): string {
  const pem = cert.toString('pem');
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** Key usage OIDs in a fixed order, whatever order the caller listed them in. */
function extendedKeyUsages(usages: CertificateUsage[]): string[] {
  if (usages.length === 0) throw new RangeError('usages must name at least one of server, client');
  const oids: string[] = [];
  if (usages.includes('server')) oids.push(x509.ExtendedKeyUsage.serverAuth);
  if (usages.includes('client')) oids.push(x509.ExtendedKeyUsage.clientAuth);
  return oids;
}

/** Subject as Go orders it (O before CN); JSON names avoid DN-string escaping of `:`, `,` and `=`. */
function subjectName(req: CertificateRequest): x509.JsonName {
  const orgs = req.organizations ?? [];
  return orgs.length > 0 ? [{ O: orgs }, { CN: [req.commonName] }] : [{ CN: [req.commonName] }];
}

/** SAN with the DNS names and IPs asked for; none when both are empty (an empty SAN is invalid). */
function subjectAltNames(req: CertificateRequest): x509.SubjectAlternativeNameExtension | undefined {
  const names: x509.JsonGeneralName[] = [];
  for (const dns of req.dnsNames ?? []) names.push({ type: 'dns', value: dns });
  for (const ip of req.ipAddresses ?? []) {
    // The library's IP parser reports bad input vaguely and cannot read IPv4-embedded IPv6 forms.
    if (isIP(ip) === 0 || (isIP(ip) === 6 && ip.includes('.')))
      throw new RangeError(`ipAddresses: "${ip}" is not an IPv4 or plain IPv6 address`);
    names.push({ type: 'ip', value: ip });
  }
  return names.length > 0 ? new x509.SubjectAlternativeNameExtension(names) : undefined;
}

/** The CA's own subjectKeyIdentifier when it has one, so the chain links even if it was computed differently. */
async function authorityKeyIdentifier(
  ca: x509.X509Certificate
): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(ca);
}

function isCA(cert: x509.X509Certificate): boolean {
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) return false;
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  return !usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
}

function publicKeyOf(cert: x509.X509Certificate): KeyObject {
  return createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The first PEM block of `type`, or an error naming what was found instead. */
function pemBlock(pem: string, types: string[], what: string): { type: string; der: Buffer } {
  if (typeof pem !== 'string' || pem.trim() === '') throw new InvalidPkiMaterialError(`${what}: empty`);
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new InvalidPkiMaterialError(`${what}: no PEM block found`);
  const block = blocks.find((b) => types.includes(b[1]!));
  if (!block) {
    const found = blocks.map((b) => `"${b[1]}"`).join(', ');
    throw new InvalidPkiMaterialError(
      `${what}: expected a PEM ${types.map((t) => `"${t}"`).join(' or ')} block, found ${found}`
    );
  }
  return { type: block[1]!, der: Buffer.from(block[2]!.replace(/\s+/g, ''), 'base64') };
}

/** Parses a PEM certificate, turning the library's ASN.1 errors into one naming the input. */
function loadCertificate(pem: string, what: string): x509.X509Certificate {
  const { der } = pemBlock(pem, ['CERTIFICATE'], what);
  try {
    return new x509.X509Certificate(der);
  } catch (err) {
    throw new InvalidPkiMaterialError(
      `${what}: the CERTIFICATE block is not a valid X.509 certificate (${reason(err)})`,
      {
        cause: err,
      }
    );
  }
}

/** DER encodings node:crypto reads, by PEM block type. */
const PRIVATE_KEY_BLOCKS: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
};

/** Parses an unencrypted PEM private key (PKCS#1, PKCS#8 or SEC1), even when bundled with other blocks. */
function loadPrivateKey(pem: string, what: string): KeyObject {
  const { type, der } = pemBlock(pem, [...Object.keys(PRIVATE_KEY_BLOCKS), 'ENCRYPTED PRIVATE KEY'], what);
  const encoding = PRIVATE_KEY_BLOCKS[type];
  if (!encoding) throw new InvalidPkiMaterialError(`${what}: encrypted keys are not supported`);
  try {
    return createPrivateKey({ key: der, format: 'der', type: encoding });
  } catch (err) {
    throw new InvalidPkiMaterialError(
      `${what}: the "${type}" block is not a valid private key (${reason(err)})`,
      {
        cause: err,
      }
    );
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
