// The random and byte-level parts of a k0s join token; the shapes are in src/domain/join-token.ts.
import { randomInt } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

import { TOKEN_ALPHABET, TOKEN_ID_LENGTH, TOKEN_SECRET_LENGTH } from '../domain/join-token.js';

export interface BootstrapToken {
  id: string;
  secret: string;
}

/** A fresh `<id>.<secret>` pair from a CSPRNG. */
export function newBootstrapToken(): BootstrapToken {
  return { id: randomText(TOKEN_ID_LENGTH), secret: randomText(TOKEN_SECRET_LENGTH) };
}

function randomText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return text;
}

/** k0s's token file: base64 of the kubeconfig gzipped at level 9, as `k0s token create` writes it. */
export function encodeTokenFile(kubeconfig: string): string {
  return gzipSync(Buffer.from(kubeconfig, 'utf8'), { level: 9 }).toString('base64');
}

export function decodeTokenFile(token: string): string {
  return gunzipSync(Buffer.from(token.trim(), 'base64')).toString('utf8');
}
