// Log lines of the pod TEST DOUBLE (stdout, which `up` sends to DIR/logs/pod-double.log).
export function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} pod-double (test double): ${msg}\n`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
