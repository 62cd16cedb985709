#!/usr/bin/env bash
# Build sandbox-supervisor-openclaw:ARCH from image/openclaw/Dockerfile: the sandbox image
# with the real OpenClaw gateway, fully offline for `docker build`.
#
#   test/container/openclaw-image.sh [amd64|arm64]     (default: the host architecture)
#
# Steps:
#   1. the sandbox image (test/container/build-image.sh ARCH), unless BASE_IMAGE names one;
#   2. Node 24 for ARCH and for the host (npm pack node-linux-<arch>, integrity pinned below),
#      cached in .cache/openclaw/node-v<version>-linux-<arch>/;
#   3. OpenClaw: `npm ci --omit=dev` of image/openclaw/package.json + package-lock.json on the
#      host, run by the host's Node 24 (OpenClaw's install scripts refuse older Node), with
#      npm's --cpu/--os/--libc set to ARCH so the prebuilt addons of ARCH are installed. Cached
#      in .cache/openclaw/app-<hash of package.json and lock>-linux-<arch>/, reused when its
#      .complete stamp is there;
#   4. `docker build --network none` of a context that hard-links those caches, skipped when
#      the image already carries the label of the same inputs (base image id, the files in
#      image/openclaw, Node version): a no-op call takes about a second, not a ~40 s rebuild.
#
# The only network access is the npm registry (steps 2 and 3, once per version).
# Env: BASE_IMAGE (skip step 1); IMAGE_PREFIX (default sandbox-supervisor): the tag is
#      $IMAGE_PREFIX-openclaw:ARCH, and step 1 builds $IMAGE_PREFIX-test:ARCH;
#      IMAGE_TAG (the whole output tag, for one architecture).
# Prints the image tag on its last stdout line; progress goes to stderr.
set -euo pipefail

log() { printf 'openclaw-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SRC="$ROOT/image/openclaw"

ARCH=${1:-$(dpkg --print-architecture 2>/dev/null || uname -m)}
case "$ARCH" in
  amd64 | x86_64) ARCH=amd64 NODE_ARCH=x64 ;;
  arm64 | aarch64) ARCH=arm64 NODE_ARCH=arm64 ;;
  *) die "unsupported architecture '$ARCH' (use amd64 or arm64)" ;;
esac
case "$(uname -m)" in
  x86_64) HOST_NODE_ARCH=x64 ;;
  aarch64) HOST_NODE_ARCH=arm64 ;;
  *) die "unsupported host architecture $(uname -m)" ;;
esac

# OpenClaw 2026.9.6 declares node ">=24.16.0 <25 || >=26.1.0". Bumping the version means
# updating both integrities (`npm view node-linux-<arch>@<version> dist.integrity`).
NODE_VERSION=24.21.0
node_integrity() {
  case "$1" in
    x64) echo 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==' ;;
    arm64) echo 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==' ;;
  esac
}

TAG=${IMAGE_TAG:-${IMAGE_PREFIX:-sandbox-supervisor}-openclaw:$ARCH}
CACHE="$ROOT/.cache/openclaw"
mkdir -p "$CACHE"

# Serialise concurrent callers per architecture (they share the caches and the tag).
exec 9>"$CACHE/build-$ARCH.lock"
flock 9

# The official release directory of node-linux-<arch>@NODE_VERSION (bin/node, include/node),
# fetched once and checked against the pinned integrity; prints its path.
fetch_node() {
  local arch=$1 dir="$CACHE/node-v$NODE_VERSION-linux-$1" want tmp filename got
  want=$(node_integrity "$arch")
  if [ -x "$dir/bin/node" ] && [ "$(cat "$dir/.ok" 2>/dev/null)" = "$want" ]; then
    echo "$dir"
    return
  fi
  log "npm pack node-linux-$arch@$NODE_VERSION"
  tmp=$(mktemp -d "$CACHE/tmp-node.XXXXXX")
  # `npm pack` ignores the package's `cpu` field, so any host can fetch either architecture.
  filename=$(cd "$tmp" && npm pack "node-linux-$arch@$NODE_VERSION" --loglevel=error | tail -n1)
  got=$(node -e 'const c = require("node:crypto"), fs = require("node:fs");
    console.log("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' \
    "$tmp/$filename")
  if [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    die "node-linux-$arch@$NODE_VERSION: integrity $got does not match the pinned $want"
  fi
  mkdir "$tmp/x"
  tar -xzf "$tmp/$filename" -C "$tmp/x" --strip-components=1 package/bin/node package/include
  echo "$want" >"$tmp/x/.ok"
  rm -rf "$dir"
  mv "$tmp/x" "$dir"
  rm -rf "$tmp"
  log "node: ${dir#"$ROOT/"}"
  echo "$dir"
}

# `npm ci` of image/openclaw into the cache; prints the app directory.
install_openclaw() {
  local host_node=$1 key dir tmp start
  key=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -c1-12)
  dir="$CACHE/app-$key-linux-$NODE_ARCH"
  if [ -f "$dir/.complete" ]; then
    echo "$dir"
    return
  fi
  tmp=$(mktemp -d "$CACHE/tmp-app.XXXXXX")
  cp "$SRC/package.json" "$SRC/package-lock.json" "$tmp/"
  log "npm ci openclaw for linux-$NODE_ARCH (Node $NODE_VERSION)"
  start=$SECONDS
  # Node 24 first in PATH: npm and every install script run on it. The node-gyp headers are the
  # same release's (the host's npmrc may point nodedir at another Node). allowScripts in
  # package.json runs openclaw's own scripts and denies the rest (see docs/openclaw-image.md).
  if ! (cd "$tmp" && PATH="$host_node/bin:$PATH" npm_config_nodedir="$host_node" \
    npm ci --omit=dev --no-audit --no-fund --loglevel=error --foreground-scripts \
    --os=linux --cpu="$NODE_ARCH" --libc=glibc) >"$tmp/npm.log" 2>&1; then
    cat "$tmp/npm.log" >&2
    rm -rf "$tmp"
    die "npm ci failed"
  fi
  [ -f "$tmp/node_modules/openclaw/openclaw.mjs" ] || { rm -rf "$tmp"; die "npm ci did not install openclaw"; }
  # npm skips unreviewed install scripts with only a warning: after a version bump, fail
  # until package.json's allowScripts has a decision for each new one.
  unreviewed=$(cd "$tmp" && PATH="$host_node/bin:$PATH" npm install-scripts ls --loglevel=error 2>&1)
  case "$unreviewed" in
    "No packages with unreviewed install scripts."*) ;;
    *) rm -rf "$tmp"; die "image/openclaw/package.json: allowScripts lacks a decision: $unreviewed" ;;
  esac
  rm "$tmp/npm.log"
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  # Installs of older pins of this architecture are dead weight (~650 MB each).
  find "$CACHE" -maxdepth 1 -name "app-*-linux-$NODE_ARCH" ! -path "$dir" -exec rm -rf {} +
  log "installed ${dir#"$ROOT/"} in $((SECONDS - start))s ($(du -sh "$dir" | cut -f1))"
  echo "$dir"
}

"$HERE/ensure-docker.sh"
if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=$("$HERE/build-image.sh" "$ARCH" | tail -n1)
fi
docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || die "base image $BASE_IMAGE not found"

# Everything the image is made of; the install cache key covers package.json and the lock.
LABEL_KEY=org.sandbox-supervisor.openclaw-inputs
INPUTS=$({
  echo "$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE") $ARCH node-$NODE_VERSION"
  cd "$SRC" && sha256sum Dockerfile openclaw openclaw.json openclaw-state.sh supervisor-config.json check-native.cjs warm-compile-cache.sh \
    package.json package-lock.json
} | sha256sum | cut -c1-16)
if [ "$(docker image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$TAG" 2>/dev/null)" = "$INPUTS" ]; then
  log "$TAG is up to date (inputs $INPUTS)"
  echo "$TAG"
  exit 0
fi

HOST_NODE=$(fetch_node "$HOST_NODE_ARCH")
TARGET_NODE=$(fetch_node "$NODE_ARCH")
APP=$(install_openclaw "$HOST_NODE")

# The context is hard links into the caches (same filesystem), so staging ~650 MB is instant.
CTX=$(mktemp -d "$CACHE/ctx-$ARCH.XXXXXX")
trap 'rm -rf "$CTX" "$CTX.log"' EXIT
cp "$SRC/Dockerfile" "$SRC/openclaw" "$SRC/openclaw.json" "$SRC/openclaw-state.sh" "$SRC/supervisor-config.json" \
  "$SRC/check-native.cjs" "$SRC/warm-compile-cache.sh" "$CTX/"
cp -al "$TARGET_NODE/bin/node" "$CTX/node"
mkdir "$CTX/app"
cp -al "$APP/package.json" "$APP/package-lock.json" "$APP/node_modules" "$CTX/app/"
chmod 0755 "$CTX/openclaw" "$CTX/warm-compile-cache.sh"
chmod 0644 "$CTX/openclaw.json" "$CTX/openclaw-state.sh" "$CTX/supervisor-config.json" "$CTX/check-native.cjs"

OLD_ID=$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
log "building $TAG from $BASE_IMAGE"
start=$SECONDS
# The same builder settings as build-image.sh: legacy builder, no network for RUN steps.
if ! DOCKER_BUILDKIT=0 docker build --quiet --network none --platform "linux/$ARCH" \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --label "$LABEL_KEY=$INPUTS" -t "$TAG" "$CTX" >"$CTX.log" 2>&1; then
  cat "$CTX.log" >&2
  die "docker build failed"
fi
log "built $TAG in $((SECONDS - start))s ($(docker image inspect --format '{{.Size}}' "$TAG" | numfmt --to=si)B)"
NEW_ID=$(docker image inspect --format '{{.Id}}' "$TAG")
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then
  docker rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
echo "$TAG"
