#!/usr/bin/env bash
# Build (or reuse) the Debian bookworm base image for the container tests.
#
#   test/container/base-image.sh [amd64|arm64]     (default: the host architecture)
#
# There is no image registry on the test hosts, so the base image is made locally:
# debootstrap --variant=minbase into a directory, tar it, `docker import` it. Everything the
# image build needs later (setpriv, capsh, chattr, useradd, ps) is included here, because
# `docker build --network none` cannot apt-get anything.
#
# Caching (idempotent, safe to call from parallel test workers thanks to flock):
#   1. the image tag exists with the current recipe label  -> nothing to do (~1 s);
#   2. the rootfs tarball is in $CACHE_DIR                   -> docker import only
#      (covers a restarted dockerd with a wiped image store);
#   3. otherwise debootstrap (~25 s amd64, a few minutes for arm64 under qemu).
# The recipe hash (suite + package list) is part of the tarball name and an image label,
# so changing the package list rebuilds instead of reusing a stale rootfs.
#
# Env: SANDBOX_SUPERVISOR_CACHE (default /var/cache/sandbox-supervisor),
#      DEBIAN_MIRROR (default: the mirror this host's apt uses, else deb.debian.org).
# Prints the image tag on its last stdout line; progress goes to stderr.
set -euo pipefail

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# debootstrap, mount and binfmt registration need root; re-run through sudo if possible.
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n -E "$0" "$@"
fi

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

ARCH=${1:-$(dpkg --print-architecture 2>/dev/null || uname -m)}
case "$ARCH" in
  amd64 | x86_64) ARCH=amd64 QEMU_NAME=x86_64 UNAME_M=x86_64 ;;
  arm64 | aarch64) ARCH=arm64 QEMU_NAME=aarch64 UNAME_M=aarch64 ;;
  *) die "unsupported architecture '$ARCH' (use amd64 or arm64)" ;;
esac

SUITE=bookworm
# minbase already has util-linux (setpriv), passwd (useradd/groupadd/usermod), bash,
# e2fsprogs (chattr) on bookworm; list them anyway so a suite change cannot drop them.
INCLUDE=libcap2-bin,e2fsprogs,procps,bash,ca-certificates,util-linux,passwd
TAG="sandbox-supervisor-base:${SUITE}-${ARCH}"
CACHE_DIR=${SANDBOX_SUPERVISOR_CACHE:-/var/cache/sandbox-supervisor}
RECIPE=$(printf '%s\n' "$SUITE" "$INCLUDE" "minbase" "v1" | sha256sum | cut -c1-12)
TARBALL="$CACHE_DIR/rootfs-${SUITE}-${ARCH}-${RECIPE}.tar"
LABEL_KEY=org.sandbox-supervisor.base-recipe

apt_install() {
  log "installing $* (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

host_arch() { dpkg --print-architecture 2>/dev/null || echo unknown; }

# Foreign-architecture containers (and debootstrap's second stage) run through qemu-user,
# registered with the F flag so it works in containers without a qemu binary.
ensure_binfmt() {
  [ "$ARCH" = "$(host_arch)" ] && return 0
  "$HERE/qemu-binfmt.sh" "$QEMU_NAME"
}

# "<architecture> <recipe>" of the existing image, empty if there is none. The architecture
# is checked too: an image claiming the host's architecture cannot run with --platform.
image_id() {
  docker image inspect --format \
    "{{ .Architecture }} {{ index .Config.Labels \"$LABEL_KEY\" }}" "$TAG" 2>/dev/null || true
}

# Smoke test: the image starts and reports the expected machine (proves qemu for arm64).
verify_image() {
  local got
  got=$(docker run --rm --network none --platform "linux/$ARCH" "$TAG" uname -m) ||
    die "cannot run $TAG"
  [ "$got" = "$UNAME_M" ] || die "$TAG reports uname -m '$got', expected '$UNAME_M'"
}

# Temporary dirs (partial rootfs, docker-load bundle) are removed on any exit.
CLEANUP=()
cleanup() {
  local d
  for d in "${CLEANUP[@]}"; do rm -rf --one-file-system "$d"; done
}
trap cleanup EXIT

"$HERE/ensure-docker.sh"
ensure_binfmt
mkdir -p "$CACHE_DIR"

# Serialise concurrent callers per architecture; the second one finds the image ready.
exec 9>"$CACHE_DIR/base-${ARCH}.lock"
flock 9

if [ "$(image_id)" = "$ARCH $RECIPE" ]; then
  verify_image
  log "$TAG is up to date (recipe $RECIPE)"
  echo "$TAG"
  exit 0
fi

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  MIRROR=$("$HERE/debian-mirror.sh")
  WORK=$(mktemp -d "$CACHE_DIR/rootfs-${ARCH}.XXXXXX")
  CLEANUP+=("$WORK") # the partial rootfs goes away in any case; the tarball is the cache
  log "debootstrap $SUITE $ARCH from $MIRROR (include: $INCLUDE)"
  start=$SECONDS
  # No --foreign: with the binfmt entry registered, debootstrap runs the second stage in
  # the chroot through qemu by itself.
  debootstrap --arch="$ARCH" --variant=minbase --include="$INCLUDE" \
    "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (full log above)"
  }
  log "debootstrap took $((SECONDS - start))s"
  # Slim the image: downloaded .debs and apt lists are not needed at run time.
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  # Docker provides /dev, /proc and /sys; device nodes in an image layer are just noise.
  tar -C "$WORK/rootfs" --numeric-owner --xattrs \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$WORK/rootfs.tar" .
  mv "$WORK/rootfs.tar" "$TARBALL"
  log "cached rootfs: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi

# Not `docker import --platform`: engines without multi-platform support (Debian's
# docker.io 20.10, non-experimental) ignore it and label the image with the host
# architecture, so `docker run --platform linux/arm64` then tries to pull from a registry.
# Instead hand `docker load` a one-layer image in `docker save` format whose config states
# the architecture. The layer is the cached rootfs tarball itself (hard link, no copy).
load_image() {
  local dir diff_id created variant=""
  dir=$(mktemp -d "$CACHE_DIR/load-${ARCH}.XXXXXX")
  CLEANUP+=("$dir")
  mkdir "$dir/layer"
  ln "$TARBALL" "$dir/layer/layer.tar" 2>/dev/null || cp "$TARBALL" "$dir/layer/layer.tar"
  diff_id=$(sha256sum "$TARBALL" | cut -d' ' -f1)
  created=$(date -u -r "$TARBALL" +%Y-%m-%dT%H:%M:%SZ)
  if [ "$ARCH" = arm64 ]; then variant='"variant":"v8",'; fi
  cat >"$dir/config.json" <<JSON
{"architecture":"$ARCH","os":"linux",$variant"created":"$created",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "Cmd":["/bin/bash"],"Labels":{"$LABEL_KEY":"$RECIPE"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"$created","created_by":"debootstrap --variant=minbase --include=$INCLUDE $SUITE"}]}
JSON
  cat >"$dir/manifest.json" <<JSON
[{"Config":"config.json","RepoTags":["$TAG"],"Layers":["layer/layer.tar"]}]
JSON
  tar -C "$dir" -cf - manifest.json config.json layer | docker load >/dev/null
}

log "loading $TARBALL as $TAG"
OLD_ID=$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
load_image
# A stale image (old recipe or wrong architecture) lost its tag: drop it if unused.
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$(docker image inspect --format '{{.Id}}' "$TAG")" ]; then
  docker rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
verify_image
log "$TAG ready"
echo "$TAG"
