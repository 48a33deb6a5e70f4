// Certificates for the proving ground's clusters, made with openssl (node:crypto cannot sign X.509).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

export interface CertPaths {
  cert: string;
  key: string;
}

export interface CertRequest {
  /** File stem in the PKI directory: NAME.crt, NAME.key. */
  name: string;
  cn: string;
  org?: string;
  /** IP and DNS subject alternative names (server certificates). */
  ips?: string[];
  dns?: string[];
  usage: 'server' | 'client' | 'both';
}

/** A CA in `dir` (ca.crt, ca.key) that signs leaf certificates. ECDSA P-256 keys throughout. */
export class Pki {
  readonly ca: CertPaths;

  private constructor(readonly dir: string) {
    this.ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  }

  static async create(dir: string, caName: string): Promise<Pki> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pki = new Pki(dir);
    if (!existsSync(pki.ca.cert)) {
      await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
      await openssl(
        [
          'req',
          '-x509',
          '-new',
          '-key',
          'ca.key',
          '-subj',
          `/CN=${caName}`,
          '-days',
          '3650',
          '-sha256',
          '-out',
          'ca.crt',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
        ],
        dir
      );
    }
    return pki;
  }

  caPem(): string {
    return readFileSync(this.ca.cert, 'utf8');
  }

  async issue(req: CertRequest): Promise<CertPaths> {
    const { name } = req;
    const paths = { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
    const subject = `${req.org ? `/O=${req.org}` : ''}/CN=${req.cn}`;
    const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[req.usage];
    const sans = [...(req.ips ?? []).map((ip) => `IP:${ip}`), ...(req.dns ?? []).map((d) => `DNS:${d}`)];
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${eku}`,
      ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
    ];
    writeFileSync(join(this.dir, `${name}.ext`), ext.join('\n') + '\n');
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], this.dir);
    await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], this.dir);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-sha256',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      this.dir
    );
    return paths;
  }

  /** An RSA key pair for signing service-account tokens: NAME.key, NAME.pub. */
  async serviceAccountKey(name = 'sa'): Promise<{ key: string; pub: string }> {
    const key = join(this.dir, `${name}.key`);
    const pub = join(this.dir, `${name}.pub`);
    await openssl(
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`],
      this.dir
    );
    await openssl(['pkey', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`], this.dir);
    return { key, pub };
  }
}

/** A kubeconfig file with embedded client certificate. */
export function writeKubeconfig(
  file: string,
  opts: { server: string; caPem: string; cert: string; key: string; name: string }
): void {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const content = `apiVersion: v1
kind: Config
clusters:
- name: ${opts.name}
  cluster:
    server: ${opts.server}
    certificate-authority-data: ${b64(opts.caPem)}
users:
- name: ${opts.name}-admin
  user:
    client-certificate-data: ${b64(readFileSync(opts.cert, 'utf8'))}
    client-key-data: ${b64(readFileSync(opts.key, 'utf8'))}
contexts:
- name: ${opts.name}
  context:
    cluster: ${opts.name}
    user: ${opts.name}-admin
current-context: ${opts.name}
`;
  writeFileSync(file, content, { mode: 0o600 });
}
