// openssl is the independent judge here: every certificate this module makes is read back and
// verified by it, not by the library that wrote it.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

import {
  adminKubeconfig,
  certificateMatchesKey,
  createCertificateAuthority,
  createServiceAccountKeyPair,
  InvalidPkiMaterialError,
  isCertificateAuthority,
  issueCertificate,
  parseCertificate,
  type KeyPairPem,
} from './pki.js';

let dir: string;
let fileCount = 0;

/** Writes `content` to a fresh temp file and returns its path. */
function file(content: string): string {
  const path = join(dir, `f${fileCount++}.pem`);
  writeFileSync(path, content);
  return path;
}

function openssl(...args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** openssl's reading of a certificate extension, e.g. `subjectAltName`. */
function ext(certPem: string, name: string): string {
  const r = openssl('x509', '-in', file(certPem), '-noout', '-ext', name);
  expect(r.ok).toBe(true);
  return r.out;
}

function verify(caPem: string, leafPem: string, ...extra: string[]): { ok: boolean; out: string } {
  return openssl('verify', ...extra, '-CAfile', file(caPem), file(leafPem));
}

/** The PKIX public key as openssl derives it from a certificate or a private key. */
function publicKeyOfCert(certPem: string): string {
  return openssl('x509', '-in', file(certPem), '-noout', '-pubkey').out;
}
function publicKeyOfKey(keyPem: string): string {
  const r = openssl('pkey', '-in', file(keyPem), '-pubout');
  expect(r.ok).toBe(true);
  return r.out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'k0sflow-pki-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let ca: KeyPairPem;
let otherCa: KeyPairPem;
let server: KeyPairPem;
let admin: KeyPairPem;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([
    createCertificateAuthority('kubernetes'),
    createCertificateAuthority('someone-else'),
  ]);
  [server, admin] = await Promise.all([
    issueCertificate(ca, {
      commonName: 'kube-apiserver',
      dnsNames: ['kubernetes', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: ['10.96.0.1', '192.0.2.10', 'fd00::1'],
      usages: ['server'],
    }),
    issueCertificate(ca, {
      commonName: 'kubernetes-admin',
      organizations: ['system:masters'],
      usages: ['client'],
    }),
  ]);
});

describe('createCertificateAuthority', () => {
  it('is a self-signed RSA 2048 CA with critical CA:TRUE and certificate-signing key usage', () => {
    const text = openssl('x509', '-in', file(ca.cert), '-noout', '-text').out;
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toMatch(/Issuer: CN ?= ?kubernetes\n/);
    expect(text).toMatch(/Subject: CN ?= ?kubernetes\n/);
    expect(ext(ca.cert, 'basicConstraints')).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(ext(ca.cert, 'keyUsage')).toMatch(
      /Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign\s*$/
    );
    expect(ext(ca.cert, 'subjectKeyIdentifier')).toMatch(/([0-9A-F]{2}:){19}[0-9A-F]{2}/);
    expect(verify(ca.cert, ca.cert).ok).toBe(true);
  });

  it('writes the key as PKCS#1 and it matches the certificate', () => {
    expect(ca.key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(publicKeyOfKey(ca.key)).toBe(publicKeyOfCert(ca.cert));
  });

  it('is backdated an hour, valid ten years by default, with a positive serial', () => {
    const cert = new X509Certificate(ca.cert);
    const hour = 3600_000;
    const notBefore = Date.parse(cert.validFrom);
    expect(Date.now() - notBefore).toBeGreaterThan(hour - 60_000);
    expect(Date.now() - notBefore).toBeLessThan(hour + 60_000);
    const days = (Date.parse(cert.validTo) - Date.now()) / (24 * hour);
    expect(Math.round(days)).toBe(3650);
    expect(BigInt(`0x${cert.serialNumber}`)).toBeGreaterThan(0n);
    expect(new X509Certificate(otherCa.cert).serialNumber).not.toBe(cert.serialNumber);
  });

  it('honours validityDays', async () => {
    const short = await createCertificateAuthority('short', { validityDays: 30 });
    const days = (Date.parse(new X509Certificate(short.cert).validTo) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });
});

describe('issueCertificate', () => {
  it('signs a leaf that verifies against its CA and not against another', () => {
    expect(verify(ca.cert, server.cert)).toEqual({ ok: true, out: expect.stringContaining(': OK') });
    const other = verify(otherCa.cert, server.cert);
    expect(other.ok).toBe(false);
    expect(other.out).toContain('unable to get local issuer certificate');
  });

  it('carries the SANs asked for', () => {
    const san = ext(server.cert, 'subjectAltName');
    for (const name of ['kubernetes', 'kubernetes.default.svc.cluster.local'])
      expect(san).toContain(`DNS:${name},`);
    expect(san).toContain('IP Address:10.96.0.1');
    expect(san).toContain('IP Address:192.0.2.10');
    expect(san).toContain('IP Address:FD00:0:0:0:0:0:0:1');
    expect(san.match(/DNS:|IP Address:/g)).toHaveLength(5);
  });

  it('has the extended key usages asked for, and only those', () => {
    expect(ext(server.cert, 'extendedKeyUsage')).toMatch(/TLS Web Server Authentication\s*$/);
    expect(ext(admin.cert, 'extendedKeyUsage')).toMatch(/TLS Web Client Authentication\s*$/);
    expect(verify(ca.cert, server.cert, '-purpose', 'sslserver').ok).toBe(true);
    expect(verify(ca.cert, server.cert, '-purpose', 'sslclient').ok).toBe(false);
    expect(verify(ca.cert, admin.cert, '-purpose', 'sslclient').ok).toBe(true);
    expect(verify(ca.cert, admin.cert, '-purpose', 'sslserver').ok).toBe(false);
  });

  it('issues both usages when asked', async () => {
    const both = await issueCertificate(ca, { commonName: 'etcd-peer', usages: ['client', 'server'] });
    expect(ext(both.cert, 'extendedKeyUsage')).toMatch(
      /TLS Web Server Authentication, TLS Web Client Authentication\s*$/
    );
    expect(ext(both.cert, 'subjectAltName')).not.toContain('Subject Alternative Name');
  });

  it('is a non-CA leaf for key encipherment, linked to the CA key, with the subject asked for', () => {
    expect(ext(admin.cert, 'basicConstraints')).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(ext(admin.cert, 'keyUsage')).toMatch(
      /Key Usage: critical\s+Digital Signature, Key Encipherment\s*$/
    );
    const ski = /([0-9A-F]{2}:){19}[0-9A-F]{2}/.exec(ext(ca.cert, 'subjectKeyIdentifier'))![0];
    expect(ext(admin.cert, 'authorityKeyIdentifier')).toContain(ski);
    const subject = openssl('x509', '-in', file(admin.cert), '-noout', '-subject', '-nameopt', 'RFC2253').out;
    expect(subject.trim()).toBe('subject=CN=kubernetes-admin,O=system:masters');
    expect(Math.round((Date.parse(new X509Certificate(admin.cert).validTo) - Date.now()) / 86_400_000)).toBe(
      365
    );
  });

  it('writes a PKCS#1 key that matches the leaf', () => {
    expect(server.key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(publicKeyOfKey(server.key)).toBe(publicKeyOfCert(server.cert));
    expect(publicKeyOfKey(server.key)).not.toBe(publicKeyOfCert(admin.cert));
  });

  it('signs with a user-supplied ECDSA CA in PKCS#8 form', async () => {
    const keyPath = join(dir, 'user-ca.key');
    const certPath = join(dir, 'user-ca.crt');
    const made = openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=user-ca',
      '-days',
      '10',
      '-keyout',
      keyPath,
      '-out',
      certPath
    );
    expect(made.ok).toBe(true);
    const userCa = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    expect(userCa.key).toContain('-----BEGIN PRIVATE KEY-----');
    expect(isCertificateAuthority(userCa.cert)).toBe(true);
    const leaf = await issueCertificate(userCa, { commonName: 'front-proxy-client', usages: ['client'] });
    expect(verify(userCa.cert, leaf.cert).ok).toBe(true);
    expect(openssl('x509', '-in', file(leaf.cert), '-noout', '-text').out).toContain(
      'Signature Algorithm: ecdsa-with-SHA256'
    );
  });

  it('names an unsupported CA key type instead of failing inside WebCrypto', async () => {
    const keyPath = join(dir, 'ed-ca.key');
    const certPath = join(dir, 'ed-ca.crt');
    const made = openssl(
      ...['req', '-x509', '-newkey', 'ed25519', '-nodes', '-subj', '/CN=ed-ca', '-days', '1'],
      ...['-keyout', keyPath, '-out', certPath]
    );
    expect(made.ok).toBe(true);
    const edCa = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    await expect(issueCertificate(edCa, { commonName: 'x', usages: ['client'] })).rejects.toThrow(
      'CA private key: unsupported key type ed25519 (RSA or ECDSA P-256/P-384/P-521 expected)'
    );
  });

  it('refuses a CA whose key is not the CA certificate’s', async () => {
    await expect(
      issueCertificate({ cert: ca.cert, key: otherCa.key }, { commonName: 'x', usages: ['client'] })
    ).rejects.toThrow('CA private key does not match the CA certificate');
  });

  it('rejects an address that is not an IP', async () => {
    await expect(
      issueCertificate(ca, { commonName: 'x', ipAddresses: ['10.0.0.300'], usages: ['server'] })
    ).rejects.toThrow('ipAddresses: "10.0.0.300" is not an IPv4 or plain IPv6 address');
  });
});

describe('createServiceAccountKeyPair', () => {
  it('returns a PKIX public key that is the private key’s', async () => {
    const sa = await createServiceAccountKeyPair();
    expect(sa.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(sa.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(publicKeyOfKey(sa.privateKey)).toBe(sa.publicKey);
    const text = openssl('pkey', '-pubin', '-in', file(sa.publicKey), '-noout', '-text').out;
    expect(text).toContain('Public-Key: (2048 bit)');
    const other = await createServiceAccountKeyPair();
    expect(publicKeyOfKey(other.privateKey)).not.toBe(sa.publicKey);
  });
});

describe('validation of user-supplied material', () => {
  it('certificateMatchesKey tells matching pairs from mismatched ones', () => {
    expect(certificateMatchesKey(ca)).toBe(true);
    expect(certificateMatchesKey(server)).toBe(true);
    expect(certificateMatchesKey({ cert: server.cert, key: admin.key })).toBe(false);
    expect(certificateMatchesKey({ cert: ca.cert, key: otherCa.key })).toBe(false);
  });

  it('isCertificateAuthority accepts CAs only', () => {
    expect(isCertificateAuthority(ca.cert)).toBe(true);
    expect(isCertificateAuthority(server.cert)).toBe(false);
  });

  it('isCertificateAuthority refuses CA:TRUE without keyCertSign', () => {
    const keyPath = join(dir, 'no-sign.key');
    const certPath = join(dir, 'no-sign.crt');
    const made = openssl(
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=no-sign', '-days', '1'],
      ...['-addext', 'keyUsage=critical,digitalSignature', '-keyout', keyPath, '-out', certPath]
    );
    expect(made.ok).toBe(true);
    expect(ext(readFileSync(certPath, 'utf8'), 'basicConstraints')).toContain('CA:TRUE');
    expect(isCertificateAuthority(readFileSync(certPath, 'utf8'))).toBe(false);
  });

  it('parseCertificate summarises a certificate', () => {
    const cert = new X509Certificate(admin.cert);
    expect(parseCertificate(admin.cert)).toEqual({
      commonName: 'kubernetes-admin',
      notAfter: new Date(cert.validTo).toISOString(),
      isCA: false,
    });
    expect(parseCertificate(ca.cert)).toMatchObject({ commonName: 'kubernetes', isCA: true });
  });

  it('reads the first certificate of a bundle', () => {
    expect(parseCertificate(`${admin.key}${admin.cert}${ca.cert}`).commonName).toBe('kubernetes-admin');
  });

  it.each<[string, () => string, string]>([
    ['garbage', () => 'not a pem at all', 'certificate: no PEM block found'],
    ['empty input', () => '', 'certificate: empty'],
    [
      'a key instead of a certificate',
      () => ca.key,
      'certificate: expected a PEM "CERTIFICATE" block, found "RSA PRIVATE KEY"',
    ],
    [
      'a corrupt certificate',
      () => '-----BEGIN CERTIFICATE-----\nTUlJQm9uc2Vuc2U=\n-----END CERTIFICATE-----\n',
      'certificate: the CERTIFICATE block is not a valid X.509 certificate (',
    ],
  ])('names what is wrong with %s', (_label, input, message) => {
    let caught: unknown;
    try {
      parseCertificate(input());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidPkiMaterialError);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toMatch(/\n\s+at /);
  });

  it('names what is wrong with a private key', () => {
    expect(() => certificateMatchesKey({ cert: ca.cert, key: ca.cert })).toThrow(
      'private key: expected a PEM "RSA PRIVATE KEY" or "PRIVATE KEY" or "EC PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" block, found "CERTIFICATE"'
    );
    const corrupt = '-----BEGIN RSA PRIVATE KEY-----\nTUlJQm9uc2Vuc2U=\n-----END RSA PRIVATE KEY-----\n';
    expect(() => certificateMatchesKey({ cert: ca.cert, key: corrupt })).toThrow(
      'private key: the "RSA PRIVATE KEY" block is not a valid private key ('
    );
    expect(() => isCertificateAuthority('nope')).toThrow(InvalidPkiMaterialError);
  });
});

/** The shape CAPI's `<cluster>-kubeconfig` has; parsed YAML is checked against it, not trusted. */
interface Kubeconfig {
  'current-context': string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

describe('adminKubeconfig', () => {
  it('is CAPI’s kubeconfig whose embedded material decodes back to the inputs', () => {
    const yaml = adminKubeconfig({
      clusterName: 'prod',
      server: 'https://10.0.0.1:6443',
      caCert: ca.cert,
      clientCert: admin.cert,
      clientKey: admin.key,
    });
    const config = parse(yaml) as Kubeconfig;
    const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
    expect(config).toMatchObject({ apiVersion: 'v1', kind: 'Config', 'current-context': 'prod-admin@prod' });
    expect(config.clusters).toEqual([
      {
        name: 'prod',
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': expect.any(String) },
      },
    ]);
    expect(config.contexts).toEqual([
      { name: 'prod-admin@prod', context: { cluster: 'prod', user: 'prod-admin' } },
    ]);
    expect(config.users).toEqual([{ name: 'prod-admin', user: expect.any(Object) }]);
    expect(decode(config.clusters[0]!.cluster['certificate-authority-data'])).toBe(ca.cert);
    expect(decode(config.users[0]!.user['client-certificate-data'])).toBe(admin.cert);
    expect(decode(config.users[0]!.user['client-key-data'])).toBe(admin.key);
  });

  it('uses the user name given', () => {
    const yaml = adminKubeconfig({
      clusterName: 'c',
      server: 'https://h:6443',
      caCert: ca.cert,
      clientCert: admin.cert,
      clientKey: admin.key,
      userName: 'ops',
    });
    const config = parse(yaml) as Kubeconfig;
    expect(config['current-context']).toBe('ops@c');
    expect(config.users[0]!.name).toBe('ops');
    expect(config.contexts[0]!.context.user).toBe('ops');
  });
});
