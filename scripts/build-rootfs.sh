#!/usr/bin/env bash
# Builds (once) and caches the Debian bookworm root filesystem that the proving ground's SSH hosts
# boot from (each host mounts it read-only as the lower layer of its own overlayfs).
#
#   scripts/build-rootfs.sh            build if missing; print the rootfs path on stdout
#   scripts/build-rootfs.sh --path     print the path it would have, build nothing
#
# Cache: ${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}/rootfs/bookworm-<hash of the recipe>.
# Logs go to stderr; stdout carries only the path, so callers can do P=$(scripts/build-rootfs.sh).
# Needs root (debootstrap, chroot). Idempotent and safe to run concurrently (flock).
set -euo pipefail

SUITE=bookworm
VARIANT=minbase
PACKAGES=openssh-server,sudo,iproute2,curl,ca-certificates,procps
# Bump when the post-debootstrap steps below change, so that cached images are rebuilt.
RECIPE_REV=1
USER_NAME=k0sflow

CACHE_DIR="${K0SFLOW_CACHE:-$HOME/.cache/k0sflow}/rootfs"
HASH=$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" "$RECIPE_REV" | sha256sum | cut -c1-12)
TARGET="$CACHE_DIR/$SUITE-$HASH"
MARKER=.k0sflow-rootfs

log() { printf 'build-rootfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ "${1:-}" == "--path" ]]; then
  echo "$TARGET"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap and chroot need it)"

# Fast path, no lock needed: a completed image is only ever renamed into place whole.
if [[ -f "$TARGET/$MARKER" ]]; then
  log "cached: $TARGET"
  echo "$TARGET"
  exit 0
fi

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock 9

if [[ -f "$TARGET/$MARKER" ]]; then # built by someone else while we waited for the lock
  log "cached: $TARGET"
  echo "$TARGET"
  exit 0
fi

# Unmount whatever a (possibly crashed) debootstrap left mounted under a directory, then delete it.
# Never rm -rf a tree that still has mounts in it: that would delete through /proc, /sys or a bind.
remove_tree() {
  local dir=$1 m
  [[ -e "$dir" ]] || return 0
  # Deepest first.
  while read -r m; do
    [[ -n "$m" ]] && umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '{ gsub(/\\040/, " ", $2); if ($2 == d || index($2, d "/") == 1) print $2 }' /proc/self/mounts | sort -r)
  if awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    die "$dir still has mounts; not deleting it"
  fi
  rm -rf --one-file-system "$dir"
}

# The mirror the machine's own apt uses for $SUITE (deb822 .sources or one-line .list files).
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    # Paragraphs separated by blank lines; pick the first deb stanza whose Suites contain $SUITE.
    awk -v suite="$SUITE" '
      function flush() {
        if (uris != "" && types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no") {
          split(uris, u, /[ \t]+/); print u[1]; found = 1; exit
        }
        uris = ""; types = ""; suites = ""; enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "uris:"    { sub(/^[^:]*:[ \t]*/, ""); uris = $0 }
      tolower($1) == "types:"   { sub(/^[^:]*:[ \t]*/, ""); types = $0 }
      tolower($1) == "suites:"  { sub(/^[^:]*:[ \t]*/, ""); suites = $0 }
      tolower($1) == "enabled:" { sub(/^[^:]*:[ \t]*/, ""); enabled = tolower($0) }
      END { if (!found) flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    # deb [opts] URI SUITE COMPONENTS...
    awk -v suite="$SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f"
  done
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  log "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends debootstrap >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update >&2
    apt-get install -y --no-install-recommends debootstrap >&2
  fi
}

start=$(date +%s.%N)
ensure_debootstrap
MIRROR=$(find_mirror | head -n1)
MIRROR=${K0SFLOW_DEBIAN_MIRROR:-$MIRROR}
[[ -n "$MIRROR" ]] || die "no apt source for '$SUITE' found in /etc/apt/sources.list{,.d/}; set K0SFLOW_DEBIAN_MIRROR"

# Leftovers of builds that crashed.
for stale in "$CACHE_DIR"/.tmp-*; do
  [[ -e "$stale" ]] || continue
  log "removing stale $stale"
  remove_tree "$stale"
done

TMP=$(mktemp -d "$CACHE_DIR/.tmp-$SUITE-$HASH-XXXXXX")
trap 'remove_tree "$TMP" || true' EXIT
chmod 0755 "$TMP"

log "debootstrap $SUITE ($VARIANT, +$PACKAGES) from $MIRROR into $TMP"
debootstrap --variant="$VARIANT" --include="$PACKAGES" "$SUITE" "$TMP" "$MIRROR" >&2 ||
  die "debootstrap failed (see $TMP/debootstrap/debootstrap.log if it is still there)"
t_boot=$(date +%s.%N)

# Each host generates its own host keys at start; an image must not carry any.
rm -f "$TMP"/etc/ssh/ssh_host_*

# Non-root user with passwordless sudo ('*' = no password usable, but not a locked account, so
# sshd lets it in with a key whatever UsePAM says).
chroot "$TMP" /usr/sbin/useradd --create-home --shell /bin/bash --user-group "$USER_NAME"
chroot "$TMP" /usr/sbin/usermod --password '*' "$USER_NAME"
printf '%s ALL=(ALL:ALL) NOPASSWD: ALL\n' "$USER_NAME" >"$TMP/etc/sudoers.d/$USER_NAME"
chmod 0440 "$TMP/etc/sudoers.d/$USER_NAME"
chroot "$TMP" /usr/sbin/visudo -c -q -f "/etc/sudoers.d/$USER_NAME" || die "bad sudoers drop-in"

# Keys only; no DNS in the proving ground, so no reverse lookups.
cat >"$TMP/etc/ssh/sshd_config.d/k0sflow.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
EOF

# Smaller image: no downloaded .debs, no apt lists.
rm -rf "$TMP"/var/cache/apt/archives/*.deb "$TMP"/var/lib/apt/lists/* "$TMP"/debootstrap
echo "k0sflow-proving-ground" >"$TMP/etc/hostname"
printf 'suite=%s variant=%s packages=%s recipe=%s mirror=%s built=%s\n' \
  "$SUITE" "$VARIANT" "$PACKAGES" "$RECIPE_REV" "$MIRROR" "$(date -u +%FT%TZ)" >"$TMP/$MARKER"

# debootstrap mounts nothing it leaves behind on success, but be sure before the rename.
if awk -v d="$TMP" 'index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
  die "mounts left under $TMP"
fi
mv -T "$TMP" "$TARGET"
trap - EXIT

end=$(date +%s.%N)
size=$(du -sh "$TARGET" | cut -f1)
log "built $TARGET ($size) in $(awk "BEGIN{printf \"%.1f\", $end - $start}") s (debootstrap $(awk "BEGIN{printf \"%.1f\", $t_boot - $start}") s)"
echo "$TARGET"
