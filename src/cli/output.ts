// What a CLI command prints: results on stdout, problems on stderr, and a failing exit code.

export function out(text: string): void {
  process.stdout.write(text + '\n');
}

export function warn(text: string): void {
  process.stderr.write(text + '\n');
}

/** Says what went wrong and makes the process exit non-zero (without cutting other output short). */
export function fail(text: string): void {
  warn(text);
  process.exitCode = 1;
}
