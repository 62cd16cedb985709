#!/usr/bin/env bash
# The main job on a fresh machine: build the supervisor and the sandbox image, start a
# sandbox whose PID 1 is the supervisor (boot chain, then the embedded default gateway:
# the test gateway of test/gateway/server.js), and show it at work.
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

echo "== docker run -d --network none --cap-add LINUX_IMMUTABLE --name $name $image"
docker run -d --network none --cap-add LINUX_IMMUTABLE --name "$name" "$image" >/dev/null
for _ in $(seq 1 100); do
  docker exec "$name" supervisor health >/dev/null 2>&1 && break
  sleep 0.1
done
echo "== boot log:"
docker logs "$name" 2>&1
echo "== supervisor status:"
docker exec "$name" supervisor status
echo "== processes (PID 1 is the supervisor, the gateway runs as user gateway):"
docker exec "$name" ps -eo pid,ppid,user,args
echo "== the sandbox user's login shell has the token; the gateway accepts it:"
docker exec -u sandbox "$name" bash -lc \
  'node -e "fetch(\"http://127.0.0.1:18789/health\",{headers:{authorization:\"Bearer \"+process.env.OPENCLAW_GATEWAY_TOKEN}}).then(r=>console.log(\"GET /health:\",r.status))"'
echo "== supervisor restart:"
docker exec "$name" supervisor restart
if [ "${KEEP:-0}" = 1 ]; then
  echo "== left running: docker exec $name supervisor status; docker stop $name"
  exit 0
fi
echo "== docker stop:"
docker stop "$name" >/dev/null
echo "exit status: $(docker inspect -f '{{.State.ExitCode}}' "$name")"
docker rm "$name" >/dev/null
