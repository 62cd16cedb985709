#!/usr/bin/env bash
# Prepares a fresh Debian bookworm machine (as root, with Node >= 20 and npm) to build and
# test the supervisor: the Debian packages below, qemu 10 from bookworm-backports with its
# binfmt entry, Podman's engine config, the npm dependencies (with their native builds), and
# a running Docker engine. Only the npm registry and the Debian mirrors need to be reachable.
# Idempotent and quiet: installs only what is missing, prints a line only when it acts.
#
# Env: PREPARE_HOST_CHROOT=1  only what lands in the file system (packages, config, npm ci):
#      skip registering binfmt and starting dockerd, which are kernel and process state that
#      a chroot shares with its host (test/fresh-host/ uses this).
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf 'prepare-host: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (installs Debian packages)"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null &&
  command -v npm >/dev/null ||
  die "Node >= 20 with npm is required first (found: $(node --version 2>/dev/null || echo none))"

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg run instead of failing on its lock.
APT=(apt-get -o DPkg::Lock::Timeout=600)

# The container test bed (docker.io; podman with runc, as crun refuses this kind of host's
# hybrid cgroups; debootstrap), the cross toolchain and arm64 C library headers for the
# arm64 addon, the native build of node-pty (g++, make, python3), the tools the supervisor
# drives (setpriv, capsh, chattr, ps), tini/dumb-init to benchmark against, and strace to
# count the programs a boot runs (npm run bench) and the files the reaper opens; man to
# render the generated manual pages.
packages=(docker.io podman runc debootstrap gcc g++ make python3
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  util-linux libcap2-bin e2fsprogs procps tini dumb-init strace man-db)
# qemu-user 7.2 (bookworm) lacks openat2, which OpenClaw needs on arm64; bookworm-backports
# has 10. qemu-user holds the static emulators, qemu-user-binfmt the binfmt.d entries, and
# qemu-user-static (transitional there) the qemu-*-static names that build.mjs runs.
BACKPORTS=bookworm-backports QEMU_MIN=1:10
backports=(qemu-user qemu-user-binfmt qemu-user-static)

# The installed version of a package, empty when it is not installed.
installed_version() {
  dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p' || true
}

if ! grep -rqs "$BACKPORTS" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  log "adding $BACKPORTS to apt sources"
  cat >/etc/apt/sources.list.d/$BACKPORTS.sources <<EOF
Types: deb
URIs: $(test/container/debian-mirror.sh)
Suites: $BACKPORTS
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
for p in "${backports[@]}"; do
  v=$(installed_version "$p")
  [ -n "$v" ] && dpkg --compare-versions "$v" ge "$QEMU_MIN" || missing+=("$p/$BACKPORTS")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  # apt's output (debconf notices included) is shown only when it fails.
  apt_log=$(mktemp)
  if ! { "${APT[@]}" update -qq && "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get failed (output above)"
  fi
  rm -f "$apt_log"
fi

# Podman: plain `podman run` must work here. runc (crun is not installed), cgroupfs (no
# systemd), no default ulimits (Podman's exceed the hard RLIMIT_NOFILE/NPROC of such
# hosts, and runc then fails with "error setting rlimits"), and no network by default
# (there is no bridge; tests pass --network none anyway). A drop-in leaves the machine's
# own containers.conf alone and is read after it.
PODMAN_CONF=/etc/containers/containers.conf.d/sandbox-supervisor.conf
podman_conf='# Written by sandbox-supervisor test/container/prepare-host.sh
[containers]
default_ulimits = []
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"'
if [ "$(cat "$PODMAN_CONF" 2>/dev/null)" != "$podman_conf" ]; then
  log "writing $PODMAN_CONF"
  mkdir -p "$(dirname "$PODMAN_CONF")"
  printf '%s\n' "$podman_conf" >"$PODMAN_CONF"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  log "npm ci"
  # node-gyp (node-pty) would download Node's headers from nodejs.org, which such machines
  # cannot reach; the headers installed with Node are the same.
  node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  if [ -f "$node_prefix/include/node/node.h" ] && [ "$(npm config get nodedir)" = "undefined" ]; then
    export npm_config_nodedir=$node_prefix
  fi
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
# npm 11 holds back install scripts it was not told to allow: check the native ones built.
node -e "require('node-pty')" || die "node-pty did not build"

[ "${PREPARE_HOST_CHROOT:-0}" = 1 ] && exit 0
case "$(uname -m)" in
  x86_64) test/container/qemu-binfmt.sh aarch64 ;;
  aarch64) test/container/qemu-binfmt.sh x86_64 ;;
esac
test/container/ensure-docker.sh
