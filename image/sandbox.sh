#!/usr/bin/env bash
# The main job on a fresh machine: build the supervisor and the image, then start a
# sandbox container with the supervisor as PID 1 and show it at work.
#
#   image/sandbox.sh            start, show, stop again
#   KEEP=1 image/sandbox.sh     leave the container running (name: sandbox-supervisor)
set -euo pipefail
cd "$(dirname "$0")/.."
test/container/prepare-host.sh
node build.mjs
arch=$(dpkg --print-architecture)
image=$(test/container/build-image.sh "$arch" | tail -n1)
name=sandbox-supervisor
docker rm -f "$name" >/dev/null 2>&1 || true

echo "== docker run -d --network none --name $name $image  (default command: sleep infinity)"
docker run -d --network none --name "$name" "$image" >/dev/null
sleep 1
echo "== processes in the container (PID 1 is the supervisor):"
docker exec "$name" ps -o pid,ppid,pgid,user,args
echo "== an orphan is reaped: before/after zombies"
docker exec "$name" sh -c '(sleep 0.1 &); sleep 0.5; grep -l "^State:.Z" /proc/[0-9]*/status | wc -l'
if [ "${KEEP:-0}" = 1 ]; then
  echo "== left running: docker exec -it $name bash; docker stop $name"
  exit 0
fi
echo "== docker stop (TERM is passed on to the child):"
time docker stop "$name" >/dev/null
echo "exit status: $(docker inspect -f '{{.State.ExitCode}}' "$name")"
docker rm "$name" >/dev/null
