#!/usr/bin/env bash
# Replay the host preparation and the native build on a fresh machine: a bookworm chroot
# debootstrapped with --variant=minbase, so a package that prepare-host.sh forgets cannot
# hide behind one this machine already has.
#
#   test/fresh-host/fresh-host.sh          replay, then remove the chroot
#   test/fresh-host/fresh-host.sh --keep   leave the chroot; its path is the last stdout line
#
# The fresh machine is minbase plus what README's machine brings besides Debian: this
# machine's Node install (Node >= 20 with npm and headers, its global npmrc) and its network
# setup (resolv.conf, the local CA certificates an egress proxy may need). Inside, as root and
# with a clean environment: `PREPARE_HOST_CHROOT=1 test/container/prepare-host.sh` (everything
# except registering binfmt and starting dockerd, which are state a chroot shares with its
# host), then `node build.mjs --bundle-only`, which compiles the addon for x64 and arm64.
#
# Caches (never the chroot itself, which is unpacked fresh each time): the minbase tarball,
# apt's downloaded .debs and npm's download cache, all in $SANDBOX_SUPERVISOR_CACHE. Every
# mount lives in a private mount namespace, so nothing is left mounted whatever happens.
#
# Env: SANDBOX_SUPERVISOR_CACHE (default /var/cache/sandbox-supervisor), DEBIAN_MIRROR.
set -euo pipefail

log() { printf 'fresh-host: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot, mounts)"
KEEP=0
case "${1:-}" in
  --keep) KEEP=1 ;;
  "") ;;
  *) die "usage: fresh-host.sh [--keep]" ;;
esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${SANDBOX_SUPERVISOR_CACHE:-/var/cache/sandbox-supervisor}
mkdir -p "$CACHE/fresh-host-apt" "$CACHE/fresh-host-npm"

# Everything below runs in a private mount namespace: its mounts vanish with it.
if [ -z "${FRESH_HOST_IN_NS:-}" ]; then
  exec unshare --mount --propagation private env FRESH_HOST_IN_NS=1 "$0" "$@"
fi

# One replay at a time: concurrent ones would fight over the shared apt archive lock.
exec 9>"$CACHE/fresh-host.lock"
flock 9

command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
ARCH=$(dpkg --print-architecture)
SUITE=bookworm
# ca-certificates comes with any Node install (the Debian and NodeSource packages depend on it).
INCLUDE=ca-certificates
RECIPE=$(printf '%s\n' "$SUITE" "$INCLUDE" minbase v1 | sha256sum | cut -c1-12)
TARBALL=$CACHE/fresh-host-$SUITE-$ARCH-$RECIPE.tar

step_start=$SECONDS
step() { log "$1 ($((SECONDS - step_start))s)"; step_start=$SECONDS; }

if [ ! -s "$TARBALL" ]; then
  tmp=$(mktemp -d "$CACHE/fresh-host-debootstrap.XXXXXX")
  trap 'rm -rf --one-file-system "$tmp"' EXIT
  mirror=$("$REPO/test/container/debian-mirror.sh")
  if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp/rootfs" "$mirror" \
    >"$tmp/log" 2>&1; then
    tail -n 30 "$tmp/log" >&2
    die "debootstrap failed (log above)"
  fi
  rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
  tar -C "$tmp/rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$TARBALL"
  rm -rf --one-file-system "$tmp"
  trap - EXIT
  step "debootstrap $SUITE minbase from $mirror"
fi

WORK=$(mktemp -d "$CACHE/fresh-host.XXXXXX")
ROOTFS=$WORK/rootfs
MOUNTS=(proc dev sys var/cache/apt/archives root/.npm)
# The chroot goes away unless it is kept after a success. Unmount first: the cache bind
# mounts are on the same file system, so rm --one-file-system would empty the caches.
cleanup() {
  local rc=$? i
  [ "$rc" -eq 0 ] && [ "$KEEP" = 1 ] && return
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    if mountpoint -q "$ROOTFS/${MOUNTS[i]}"; then umount -R "$ROOTFS/${MOUNTS[i]}"; fi
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
mkdir "$ROOTFS"
tar -C "$ROOTFS" --numeric-owner -xf "$TARBALL"

# This machine's Node install: the prefix that holds the running node (bin, headers, npm).
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
(cd "$node_prefix" && tar -cf - bin/node bin/npm bin/npx include/node lib/node_modules/npm) |
  tar -C "$ROOTFS$node_prefix" -xf -
global_npmrc=$(npm config get globalconfig)
if [ -f "$global_npmrc" ]; then
  mkdir -p "$ROOTFS$(dirname "$global_npmrc")"
  cp "$global_npmrc" "$ROOTFS$global_npmrc"
fi
# Its network setup: name resolution and locally added CA certificates.
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
if [ -d /usr/local/share/ca-certificates ]; then
  cp -r /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
fi
# Packages may install services, but nothing may start in a chroot (the host's dockerd...).
printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
chmod +x "$ROOTFS/usr/sbin/policy-rc.d"

# The checkout as git sees it (tracked and new files, not node_modules, build or caches).
mkdir "$ROOTFS/src"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -C "$ROOTFS/src" -xf -

mount -t proc proc "$ROOTFS/proc"
mount --rbind /dev "$ROOTFS/dev"
mount -t sysfs sys "$ROOTFS/sys"
mount --bind "$CACHE/fresh-host-apt" "$ROOTFS/var/cache/apt/archives"
mkdir -p "$ROOTFS/root/.npm"
mount --bind "$CACHE/fresh-host-npm" "$ROOTFS/root/.npm"
step "fresh chroot $ROOTFS"

in_chroot() {
  chroot "$ROOTFS" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
in_chroot update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the chroot"
in_chroot bash -c 'cd /src && PREPARE_HOST_CHROOT=1 test/container/prepare-host.sh' ||
  die "prepare-host.sh failed on the fresh machine"
step "prepare-host.sh"
in_chroot bash -c 'cd /src && node build.mjs --bundle-only' >&2 ||
  die "node build.mjs --bundle-only failed on the fresh machine"
step "node build.mjs --bundle-only"
for arch in x64 arm64; do
  [ -s "$ROOTFS/src/build/native/reaper-linux-$arch.node" ] || die "no build/native/reaper-linux-$arch.node"
done
# Keep the .deb cache to what the mirror still has.
in_chroot apt-get autoclean -qq >/dev/null 2>&1 || true
log "ok: both addons built on a fresh $SUITE"
[ "$KEEP" = 1 ] && echo "$ROOTFS"
exit 0
