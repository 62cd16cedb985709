#!/usr/bin/env bash
# Build the test image sandbox-supervisor-test:ARCH from image/Dockerfile and the compiled
# supervisor binary, fully offline.
#
#   test/container/build-image.sh [amd64|arm64]     (default: the host architecture)
#
# Steps: make sure Docker runs, make sure the local base image exists (base-image.sh),
# stage a tiny build context (Dockerfile + the binary renamed `supervisor`), then
# `docker build --network none` on top of the base image.
#
# Env: SUPERVISOR_BIN (override the binary path);
#      IMAGE_PREFIX (default sandbox-supervisor): the tag is $IMAGE_PREFIX-test:ARCH, so
#        checkouts that test at the same time on one machine each set their own;
#      IMAGE_TAG (the whole output tag, for one architecture).
# Prints the image tag on its last stdout line; progress goes to stderr.
set -euo pipefail

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

ARCH=${1:-$(dpkg --print-architecture 2>/dev/null || uname -m)}
case "$ARCH" in
  amd64 | x86_64) ARCH=amd64 BIN_ARCH=x64 ;;
  arm64 | aarch64) ARCH=arm64 BIN_ARCH=arm64 ;;
  *) die "unsupported architecture '$ARCH' (use amd64 or arm64)" ;;
esac

BIN=${SUPERVISOR_BIN:-$ROOT/dist/supervisor-linux-$BIN_ARCH}
TAG=${IMAGE_TAG:-${IMAGE_PREFIX:-sandbox-supervisor}-test:$ARCH}

# Check the binary first: it is the cheap, common failure, so report it before any slow
# Docker or debootstrap work.
[ -f "$BIN" ] || die "$BIN not found; build it first: node build.mjs"

"$HERE/ensure-docker.sh"
BASE=$("$HERE/base-image.sh" "$ARCH" | tail -n1)

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-supervisor-ctx.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
CTX="$STAGE/context" # the build log lives next to it, not inside the context
mkdir "$CTX"
cp "$ROOT/image/Dockerfile" "$CTX/Dockerfile"
cp -r "$ROOT/image/files" "$CTX/files"
cp "$BIN" "$CTX/supervisor"
# The supervisor's native addon, installed root-owned and read-only so PID 1 maps it without
# writing it anywhere (a read-only root with noexec tmpfs mounts); it must be the build's.
ADDON="$(dirname "$BIN")/reaper-linux-$BIN_ARCH.node"
[ -f "$ADDON" ] || die "$ADDON not found; build it first: node build.mjs"
mkdir "$CTX/supervisor-lib"
cp "$ADDON" "$CTX/supervisor-lib/"
# The gateway's Node runtime: the same official binary the executables are built on.
NODE_BIN=$(ls "$ROOT"/.cache/node/node-v*-linux-"$BIN_ARCH"/bin/node 2>/dev/null | head -n1)
[ -n "$NODE_BIN" ] || die "no Node runtime for $BIN_ARCH in .cache/node; run: node build.mjs"
cp "$NODE_BIN" "$CTX/node"
mkdir -p "$CTX/preloads" "$CTX/test-gateway"
cp "$ROOT"/preloads/*.js "$CTX/preloads/"
cp "$ROOT/test/gateway/server.js" "$CTX/test-gateway/server.js"
# The fault-injection bundle (tests only; build.mjs writes it beside the executables).
[ -f "$ROOT/dist/supervisor-faults.cjs" ] || die "$ROOT/dist/supervisor-faults.cjs not found; build it first: node build.mjs"
cp "$ROOT/dist/supervisor-faults.cjs" "$CTX/test-gateway/supervisor-faults.cjs"
# COPY keeps the mode, and a later RUN chmod would duplicate the binaries in another layer.
chmod 0755 "$CTX/supervisor" "$CTX/node" "$CTX/supervisor-lib"
chmod 0444 "$CTX"/supervisor-lib/*.node
chmod 0644 "$CTX"/preloads/*.js "$CTX/test-gateway/server.js" "$CTX/test-gateway/supervisor-faults.cjs"

OLD_ID=$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
log "building $TAG from $BASE with $BIN"
start=$SECONDS
# DOCKER_BUILDKIT=0: Debian's docker.io has no buildx; the legacy builder behaves the same
# whatever CLI version is installed. --network none: no network exists for RUN steps.
if ! DOCKER_BUILDKIT=0 docker build --quiet --network none --platform "linux/$ARCH" \
  --build-arg BASE_IMAGE="$BASE" --build-arg TARGETARCH="$ARCH" \
  -t "$TAG" "$CTX" >"$STAGE/build.log" 2>&1; then
  cat "$STAGE/build.log" >&2
  die "docker build failed"
fi
log "built $TAG in $((SECONDS - start))s"
# Each rebuild with a new binary leaves the previous image dangling (one binary-sized
# layer); drop it. Fails harmlessly while a container still uses it.
NEW_ID=$(docker image inspect --format '{{.Id}}' "$TAG")
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then
  docker rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
echo "$TAG"
