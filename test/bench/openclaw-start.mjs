// OpenClaw start-up bench (`npm run bench:openclaw`): how soon a container's OpenClaw says
// `/startupz` `started`, and how quickly the first gateway of a fresh container exits on a
// restart. Interleaved, OPENCLAW_START_RUNS rounds (default 3), each round:
//   fresh       `docker run -d` of a new supervised container
//   second      `docker start` of that same container after `docker stop` (it has run before)
//   bare        `docker run -d` of a new container whose entrypoint is `openclaw gateway run`
//               as user gateway, with the supervisor's gatewayCommand environment
// Each time runs from just before the engine command until a poller inside the container
// (the image's Node, started by `docker exec` as soon as the engine returns, the same way
// for all three) sees `{"status":"started"}`. Then, on the round's first container, before
// it is stopped: `supervisor restart`, and from its timestamped log the time from OpenClaw's
// "completed cleanly" line to the supervisor's `gateway.exit`.
// Prints the medians and the ratios fresh/second and supervised/bare. Needs the OpenClaw
// image (test/container/openclaw-image.sh); removes its containers at the end.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const runs = Number(process.env.OPENCLAW_START_RUNS ?? 3);
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const image = process.env.IMAGE_TAG ?? `${process.env.IMAGE_PREFIX ?? "sandbox-supervisor"}-openclaw:${arch}`;
const prefix = `ssv-openclaw-start-${process.pid}`;
const port = 18789;
const made = [];

const docker = (args, timeout = 600_000) => {
  const result = spawnSync("docker", args, { encoding: "utf8", timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")} failed (${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Polls every 50 ms for up to 5 minutes; prints the wall-clock ms when it saw "started".
const POLLER = `
const deadline = Date.now() + 300000;
(async () => {
  while (Date.now() < deadline) {
    try {
      const r = await fetch("http://127.0.0.1:${port}/startupz");
      if ((await r.json()).status === "started") { console.log(Date.now()); return; }
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  process.exit(1);
})();`;

/** Seconds from `started` (ms since the epoch) until the container's OpenClaw said started. */
function startedAfter(name, started) {
  const seen = Number(docker(["exec", name, "/opt/openclaw/node/bin/node", "-e", POLLER]).trim());
  return (seen - started) / 1000;
}

function runContainer(name, extra) {
  made.push(name);
  const started = Date.now();
  docker(["run", "-d", "--name", name, "--network", "none", ...extra]);
  return startedAfter(name, started);
}

function supervised(name) {
  return runContainer(name, [image]);
}

function bare(name) {
  // What the supervisor's gatewayCommand sets (image/openclaw/supervisor-config.json) and the
  // token it would hand over; the rest (OPENCLAW_CONFIG_PATH, OPENCLAW_SUPERVISOR_MODE) is the image's.
  const token = randomBytes(32).toString("hex");
  return runContainer(name, [
    "--user", "gateway", "--entrypoint", "/usr/bin/env", image,
    `OPENCLAW_GATEWAY_TOKEN=${token}`, "OPENCLAW_STATE_DIR=/home/gateway/.openclaw-state",
    "NODE_COMPILE_CACHE=/opt/openclaw/compile-cache", "NODE_COMPILE_CACHE_PORTABLE=1", "OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED=1",
    "/usr/local/bin/openclaw", "gateway", "run", "--port", String(port),
  ]);
}

function second(name) {
  docker(["stop", name]);
  const started = Date.now();
  docker(["start", name]);
  return startedAfter(name, started);
}

/** Seconds from OpenClaw's clean-shutdown line to the supervisor's gateway.exit, first restart. */
function firstExit(name) {
  docker(["exec", name, "supervisor", "restart"]);
  const result = spawnSync("docker", ["logs", "-t", name], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const lines = `${result.stdout}\n${result.stderr}`.split("\n");
  const at = (pattern) => {
    const line = lines.find((l) => pattern.test(l));
    return line === undefined ? NaN : Date.parse(line.split(" ")[0]);
  };
  return (at(/\] gateway pid \d+ .*\(expected: /) - at(/completed cleanly/)) / 1000;
}

function main() {
  console.log(`openclaw start: ${runs} interleaved rounds of ${image}`);
  const fresh = [], warm = [], plain = [], exits = [];
  try {
    for (let round = 0; round < runs; round++) {
      const name = `${prefix}-${round}`;
      fresh.push(supervised(name));
      plain.push(bare(`${name}-bare`));
      exits.push(firstExit(name));
      warm.push(second(name));
      console.log(`round ${round + 1}: fresh ${fresh.at(-1).toFixed(2)} s, bare ${plain.at(-1).toFixed(2)} s, first exit ${exits.at(-1).toFixed(2)} s, second ${warm.at(-1).toFixed(2)} s`);
      spawnSync("docker", ["rm", "-f", name, `${name}-bare`], { stdio: "ignore" });
    }
  } finally {
    if (made.length > 0) spawnSync("docker", ["rm", "-f", ...made], { stdio: "ignore" });
  }
  const m = { fresh: median(fresh), second: median(warm), bare: median(plain), firstExit: median(exits) };
  console.log(`/startupz started, median of ${runs}: fresh ${m.fresh.toFixed(2)} s, second ${m.second.toFixed(2)} s, bare ${m.bare.toFixed(2)} s`);
  console.log(`fresh / second ${(m.fresh / m.second).toFixed(3)}×, supervised / bare ${(m.fresh / m.bare).toFixed(3)}×`);
  console.log(`first restart: clean-shutdown line to gateway exit ${m.firstExit.toFixed(2)} s (median)`);
}

main();
