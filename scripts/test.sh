#!/usr/bin/env bash
# All the tests, from a fresh machine: install what is missing, static checks, then jest's unit and
# integration projects (the proving ground starts once, in jest's global setup). Ends with the plain
# line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .proving-ground
results=.proving-ground/jest-results.json
rm -f "$results"

bash scripts/install.sh || { echo "install failed"; echo "0 passed, 1 failed"; exit 1; }

checks_failed=0
check() {
  local name=$1; shift
  local start=$SECONDS
  if "$@" > ".proving-ground/check-$name.log" 2>&1; then
    echo "check $name: ok ($((SECONDS - start))s)"
  else
    echo "check $name: FAILED ($((SECONDS - start))s)"; tail -n 40 ".proving-ground/check-$name.log"
    checks_failed=$((checks_failed + 1))
  fi
}
# Caches outside the repo, keyed by content, so a warm run re-checks only what changed. ESLint's is not
# used: its type-aware rules can depend on files other than the one cached.
cache="${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}/checks"
mkdir -p "$cache"
check typecheck npx tsc --noEmit -p . --incremental --tsBuildInfoFile "$cache/tsbuildinfo"
check lint npx eslint .
check format npx prettier --check . --cache --cache-strategy content --cache-location "$cache/prettier"
check crds npm run --silent gen:crds -- --check

NODE_OPTIONS=--experimental-vm-modules npx jest --ci --runInBand --json --outputFile="$results" "$@"
jest_status=$?

node -e '
  const fs = require("fs");
  const checksFailed = Number(process.argv[2]);
  let passed = 0, failed = 0;
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    passed = r.numPassedTests;
    failed = r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
  } catch { failed += 1; }
  console.log(`${passed} passed, ${failed + checksFailed} failed`);
' "$results" "$checks_failed"

[ "$jest_status" -eq 0 ] && [ "$checks_failed" -eq 0 ]
