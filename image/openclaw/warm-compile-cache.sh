#!/bin/sh
# Build time: OpenClaw's compile cache, made once here instead of in every fresh container.
# Without it each new container (each pod start) compiles OpenClaw's ~5,000 modules on its
# first start and spends about 1.8 s of its first exit writing the cache into /tmp.
#
# The gateway runs here as it will run in the container: user gateway (the cache's entries
# are kept per uid), the image's Node and V8 flags, the image's config (a token of its own),
# until its startup probe says started; SIGTERM then makes Node write every entry. The cache
# is keyed by each module's path relative to the cache (NODE_COMPILE_CACHE_PORTABLE=1) and
# validated by the modules' content hashes, not their times. It is left root-owned and
# read-only: the gateway reads it and writes nothing (Node skips persisting when every entry
# was accepted). The bytes differ from build to build (V8's code cache is not reproducible);
# what the cache holds is fixed by the image's files.
#
# OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED=1 with the exact directory: OpenClaw would
# otherwise re-spawn itself to move the cache, and the supervisor's gateway would be a wrapper.
set -eu
cache=/opt/openclaw/compile-cache
work=$(mktemp -d)
chmod 0755 "$work"
install -d -o gateway -g gateway -m 0700 "$work/home" "$work/state"
install -d -o gateway -g gateway -m 0755 "$cache"
/opt/openclaw/node/bin/node -e '
  const fs = require("node:fs");
  const config = JSON.parse(fs.readFileSync("/sandbox/.openclaw/openclaw.json", "utf8"));
  config.gateway.auth.token = require("node:crypto").randomBytes(32).toString("hex");
  fs.writeFileSync(process.argv[1], JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
' "$work/openclaw.json"
chown gateway:gateway "$work/openclaw.json"

launch() {
  setpriv --reuid gateway --regid gateway --init-groups --inh-caps=-all \
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work/home" \
    OPENCLAW_CONFIG_PATH="$work/openclaw.json" OPENCLAW_STATE_DIR="$work/state" \
    OPENCLAW_SUPERVISOR_MODE=external OPENCLAW_NO_RESPAWN=1 \
    NODE_COMPILE_CACHE="$cache" NODE_COMPILE_CACHE_PORTABLE=1 OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED=1 \
    /usr/local/bin/openclaw gateway run --port 18789 >>"$work/gateway.log" 2>&1 &
  gateway=$!
  launches=$((launches + 1))
}
started() {
  /opt/openclaw/node/bin/node -e '
    fetch("http://127.0.0.1:18789/startupz", { signal: AbortSignal.timeout(2000) })
      .then((r) => r.json()).then((b) => process.exit(b.status === "started" ? 0 : 1), () => process.exit(1));
  '
}
# Has the gateway ended? A zombie still answers kill -0: its state letter says.
ended() {
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  case "$state" in "" | Z | X) return 0 ;; *) return 1 ;; esac
}

# Up to 15 minutes and 5 launches: an arm64 image builds under emulation, where OpenClaw's own
# 5 s start-up limits can end a start (docs/openclaw-image.md, caveats); Node keeps what an
# ended start compiled, so a later one gets further.
launches=0
launch
deadline=$(($(date +%s) + 900))
until started; do
  if ended "$gateway"; then
    wait "$gateway" || true
    if [ "$launches" -ge 5 ]; then
      cat "$work/gateway.log" >&2
      echo "warm-compile-cache: the gateway ended $launches times before it said started" >&2
      exit 1
    fi
    echo "warm-compile-cache: the gateway ended before it said started; launching it again" >&2
    launch
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    kill -KILL "$gateway" 2>/dev/null || true
    cat "$work/gateway.log" >&2
    echo "warm-compile-cache: the gateway never said started in 15 minutes" >&2
    exit 1
  fi
  sleep 1
done
kill -TERM "$gateway"
wait "$gateway" || true
entries=$(find "$cache" -type f | wc -l)
[ "$entries" -gt 1000 ] || { cat "$work/gateway.log" >&2; echo "warm-compile-cache: only $entries cache entries" >&2; exit 1; }
chown -R root:root "$cache"
chmod -R a-w,a+rX "$cache"
rm -rf "$work"
echo "warm-compile-cache: $entries entries in $cache"
