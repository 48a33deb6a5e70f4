// A pod's files on this machine: what its volumes mount is written under WORKDIR/root/<path in the
// pod>, with the same paths the pod spec and the k0s config use; certificates the double makes go
// to WORKDIR/pki/<name>/ (a copy of the mounted CA and what it signs).
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Pki } from '../pki.js';
import { NotReadyYet } from './pod-spec.js';

export class PodFiles {
  readonly root: string;

  constructor(
    readonly workDir: string,
    private readonly files: Map<string, Buffer>
  ) {
    this.root = join(workDir, 'root');
  }

  /** Wipes WORKDIR and writes the mounted files. */
  materialize(): void {
    rmSync(this.workDir, { recursive: true, force: true });
    for (const [path, content] of this.files) {
      const file = this.local(path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, content, { mode: 0o600 });
    }
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** The machine's path of a file the pod must have mounted (else the pod waits). */
  need(path: string): string {
    if (!this.files.has(path)) throw new NotReadyYet(`${path} is not mounted in the pod`);
    return this.local(path);
  }

  /** The machine's path for a path in the pod. */
  local(path: string): string {
    return join(this.root, path);
  }

  /** A PKI in WORKDIR/pki/NAME whose CA is the mounted pair (so what it issues chains to it). */
  async pki(name: string, caCert: string, caKey: string): Promise<Pki> {
    const dir = join(this.workDir, 'pki', name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(this.need(caCert), join(dir, 'ca.crt'));
    copyFileSync(this.need(caKey), join(dir, 'ca.key'));
    return Pki.create(dir, name);
  }
}
