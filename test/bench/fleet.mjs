// Density benchmark (`npm run bench:fleet`): N test sandboxes (FLEET_SIZE, default 200;
// about 22 MiB each) started FLEET_START_PARALLEL (default 16) at a time, then, printed:
//   start      seconds from the first `docker run` until every gateway is healthy (each
//              one's "is healthy" line in its timestamped log)
//   PID 1      anonymous memory (smaps_rollup) and CPU while idle over FLEET_IDLE_SECONDS
//              (default 60), per sandbox: median and max
//   host       memory per sandbox: the cgroup's usage (docker stats), median
//   status     `sandboxctl status --all` from the health checks, median of FLEET_RUNS
//              (default 5), beside `--full` (an exec per container) once
//   restart    `sandboxctl restart --all --parallel 16`: seconds, and how many came back
// Needs the test image (test/container/build-image.sh) and dist/sandboxctl.cjs (node
// build.mjs --bundle-only). Removes its containers at the end. FLEET_SIZE=4 is the short
// version test/bench/bench-smoke.test.ts runs.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const sandboxctl = join(root, "dist/sandboxctl.cjs");
const size = Number(process.env.FLEET_SIZE ?? 200);
const runs = Number(process.env.FLEET_RUNS ?? 5);
const startParallel = Number(process.env.FLEET_START_PARALLEL ?? 16);
const idleSeconds = Number(process.env.FLEET_IDLE_SECONDS ?? 60);
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const image = process.env.IMAGE_TAG ?? `${process.env.IMAGE_PREFIX ?? "sandbox-supervisor"}-test:${arch}`;
const label = `ssv-fleet-bench=${process.pid}`;
const prefix = `ssv-fleet-bench-${process.pid}`;
const ticksPerSecond = 100;

const docker = (args) => spawnSync("docker", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
const dockerAsync = (args) =>
  new Promise((done) => {
    const child = spawn("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => done({ code, err }));
  });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const names = Array.from({ length: size }, (_, i) => `${prefix}-${i}`);

async function inPool(items, limit, work) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

function sandboxctlRun(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [sandboxctl, "--engine", "docker", ...args, "--json", "--timeout", "600"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let rows;
  try {
    rows = JSON.parse(result.stdout);
  } catch {
    throw new Error(`sandboxctl ${args.join(" ")} failed (${result.status}): ${result.stderr.trim()}`);
  }
  return { seconds, rows };
}

/** When each gateway was first healthy, from its timestamped log; undefined while not yet. */
function healthyAt(name) {
  const logs = docker(["logs", "-t", name]);
  const line = `${logs.stdout}${logs.stderr}`.split("\n").find((l) => / \[supervisor\] gateway pid \d+ is healthy /.test(l));
  return line === undefined ? undefined : Date.parse(line.split(" ")[0]);
}

function pid1Facts(hostPid) {
  const anon = Number(/^Anonymous:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${hostPid}/smaps_rollup`, "utf8"))?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${hostPid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { anonMiB: anon / 1024, ticks: Number(fields[11]) + Number(fields[12]) };
}

async function main() {
  console.log(`fleet: ${size} sandboxes of ${image}, ${startParallel} started at a time, label ${label}`);
  const started = Date.now();
  await inPool(names, startParallel, async (name) => {
    const run = await dockerAsync(["run", "-d", "--name", name, "--network", "none", "--label", label, image]);
    if (run.code !== 0) throw new Error(`docker run ${name}: ${run.err.trim()}`);
  });
  const launched = Date.now();
  const healthy = new Map();
  while (healthy.size < size) {
    if (Date.now() - started > 15 * 60_000) throw new Error(`only ${healthy.size} of ${size} healthy after 15 min`);
    for (const name of names) {
      if (healthy.has(name)) continue;
      const at = healthyAt(name);
      if (at !== undefined) healthy.set(name, at);
    }
    if (healthy.size < size) await sleep(2000);
  }
  const allHealthy = Math.max(...healthy.values());
  console.log(`start      all ${size} started in ${((launched - started) / 1000).toFixed(1)} s; all healthy ${((allHealthy - started) / 1000).toFixed(1)} s after the first docker run`);

  const pids = names.map((name) => Number(docker(["inspect", "-f", "{{.State.Pid}}", name]).stdout.trim()));
  const before = pids.map(pid1Facts);
  await sleep(idleSeconds * 1000);
  const after = pids.map(pid1Facts);
  const anon = after.map((f) => f.anonMiB);
  const cpu = after.map((f, i) => ((f.ticks - before[i].ticks) / ticksPerSecond / idleSeconds) * 100);
  console.log(`PID 1      anonymous memory median ${median(anon).toFixed(1)} MiB, max ${Math.max(...anon).toFixed(1)} MiB; CPU idle over ${idleSeconds} s median ${median(cpu).toFixed(3)}%, max ${Math.max(...cpu).toFixed(3)}% of a core`);

  const stats = docker(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"]).stdout.split("\n").filter((l) => l.startsWith(prefix));
  const toMiB = (text) => {
    const m = /^([\d.]+)\s*([KMG]i?B)/.exec(text);
    if (!m) return NaN;
    return Number(m[1]) * ({ KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 }[m[2]] ?? NaN);
  };
  const usage = stats.map((l) => toMiB(l.split(" ")[1] ?? ""));
  console.log(`host       memory per sandbox (cgroup usage) median ${median(usage).toFixed(1)} MiB over ${usage.length}`);

  await waitForHealthChecks();
  const glances = Array.from({ length: runs }, () => sandboxctlRun(["status", "--all", "--filter", `label=${label}`]));
  const full = sandboxctlRun(["status", "--all", "--filter", `label=${label}`, "--full"]);
  const g = median(glances.map((r) => r.seconds));
  const fromCheck = glances[0].rows.filter((r) => r.source === "health-check").length;
  console.log(`status     --all median ${g.toFixed(2)} s of ${runs} (${glances[0].rows.length} rows, ${fromCheck} from health checks); --full ${full.seconds.toFixed(2)} s (${full.rows.filter((r) => r.ok).length} answered): ${(full.seconds / g).toFixed(1)}x`);

  const restart = sandboxctlRun(["restart", "--all", "--filter", `label=${label}`, "--parallel", "16"]);
  const back = restart.rows.filter((r) => r.ok === true).length;
  console.log(`restart    --all --parallel 16: ${restart.seconds.toFixed(1)} s, ${back} of ${restart.rows.length} healthy again`);
}

/** Docker's own check must have run on every one: status --all reads it. */
async function waitForHealthChecks() {
  for (let waited = 0; waited < 120; waited += 2) {
    const out = docker(["ps", "--filter", `label=${label}`, "--format", "{{.Status}}"]).stdout.trim().split("\n");
    if (out.filter((s) => s.includes("(healthy)")).length === size) return;
    await sleep(2000);
  }
}

try {
  await main();
} finally {
  const ids = docker(["ps", "-aq", "--filter", `label=${label}`]).stdout.trim().split("\n").filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) docker(["rm", "-f", ...ids.slice(i, i + 50)]);
}
