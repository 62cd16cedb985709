#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) to build and test the supervisor: the Debian
# packages below, the npm dependencies (with their native builds), and a Docker engine.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
# The container test bed (docker.io, debootstrap, qemu for arm64), the cross toolchain for
# the arm64 addon and base binary, the tools the supervisor drives (setpriv, capsh, chattr),
# tini/dumb-init to benchmark against (and strace, to count the programs a boot runs), and
# Podman (with runc) for sandboxctl's second engine.
packages=(docker.io debootstrap qemu-user-static binfmt-support gcc g++ make python3
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross util-linux libcap2-bin e2fsprogs procps
  tini dumb-init strace podman runc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "prepare-host: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Podman's defaults do not fit this kind of host (no crun, no systemd cgroup manager, hard
# rlimits below its default ulimits); ours are the only engine settings it needs.
if ! cmp -s test/container/files/containers.conf /etc/containers/containers.conf; then
  echo "prepare-host: writing /etc/containers/containers.conf" >&2
  install -D -m 0644 test/container/files/containers.conf /etc/containers/containers.conf
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "prepare-host: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
# npm 11 holds back install scripts it was not told to allow: check the native ones built.
node -e "require('node-pty')" || { echo "prepare-host: node-pty did not build" >&2; exit 1; }

test/container/ensure-docker.sh
