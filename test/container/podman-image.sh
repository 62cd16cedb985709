#!/usr/bin/env bash
# Make a Docker image available to Podman, for the Podman tests.
#
#   test/container/podman-image.sh TAG      e.g. sandbox-supervisor-test:amd64
#
# There is no registry on the test hosts, so images move with `docker save | podman load`.
# Both engines name an image by the digest of its config, so equal ids mean the same image:
# the transfer only happens when Podman lacks it or has an older build (idempotent, ~1 s
# when up to date, a few seconds per 100 MB otherwise). Podman stores an unqualified name
# under localhost/; that name is printed on the last stdout line, progress goes to stderr.
set -euo pipefail

log() { printf 'podman-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

TAG=${1:?usage: podman-image.sh TAG}
command -v podman >/dev/null || die "podman not found: run test/container/prepare-host.sh"
DOCKER_ID=$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null) ||
  die "no Docker image $TAG (build it first, e.g. test/container/build-image.sh)"
DOCKER_ID=${DOCKER_ID#sha256:}
# Podman stores an unqualified name (no registry host before the first slash) as localhost/.
first=${TAG%%/*}
if [ "$first" != "$TAG" ] && [[ $first == *.* || $first == *:* || $first == localhost ]]; then
  NAME=$TAG
else
  NAME=localhost/$TAG
fi

podman_id() { podman image inspect --format '{{.Id}}' "$NAME" 2>/dev/null || true; }

# Parallel test workers loading the same tag would both pay for the transfer.
exec 9>"/run/sandbox-supervisor-podman-image.lock"
flock 9

OLD_ID=$(podman_id)
if [ "$OLD_ID" != "$DOCKER_ID" ]; then
  log "docker save $TAG | podman load"
  start=$SECONDS
  docker save "$TAG" | podman load --quiet >/dev/null || die "podman load of $TAG failed"
  [ "$(podman_id)" = "$DOCKER_ID" ] ||
    die "podman has $NAME as $(podman_id), Docker has ${DOCKER_ID}: the transfer did not take"
  log "loaded $NAME in $((SECONDS - start))s"
  # The previous build lost its name; drop it unless a container still uses it.
  [ -z "$OLD_ID" ] || podman rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
echo "$NAME"
