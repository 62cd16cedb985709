#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine. Idempotent: installs docker.io when
# the CLI/daemon are missing, starts dockerd when no engine answers, waits until it does.
#
# The test hosts have no bridge networking and no image registry, so dockerd runs with
# --bridge=none --iptables=false and every container must use --network none.
#
# Env: DOCKERD_LOG (default /var/log/sandbox-supervisor-dockerd.log),
#      DOCKERD_WAIT_S (default 30).
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/sandbox-supervisor-dockerd.log}
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-30}

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
  exit 0
fi

# Installing packages and starting the daemon need root; re-run through sudo if possible.
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n -E "$0" "$@"
fi

if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

# Parallel callers (test workers) must not race to start two daemons: serialise, then
# re-check. A dockerd that is already starting only needs waiting for.
exec 9>/run/sandbox-supervisor-ensure-docker.lock
flock 9
if engine_up; then
  exit 0
elif pgrep -x dockerd >/dev/null 2>&1; then
  log "dockerd is running but not answering yet; waiting"
else
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid + nohup: the daemon must outlive this script and the test process group.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$DOCKERD_WAIT_S"); do
  if engine_up; then
    log "engine ready"
    exit 0
  fi
  sleep 1
done
tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
die "no Docker engine answered within ${DOCKERD_WAIT_S}s (see $DOCKERD_LOG)"
