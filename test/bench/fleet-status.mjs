// Fleet benchmark (`npm run bench:fleet`): N sandboxes of the test image (FLEET_SIZE,
// default 200; about 22 MiB each), then `sandboxctl status --all` over them, side by side:
//   glance   the default: state and pid from each container's last HEALTHCHECK run, which
//            the one `inspect` of the listing returns (no exec)
//   full     --full: one `supervisor status` exec per container, --parallel 4 and 16
// Prints medians of FLEET_RUNS (default 5) runs of the glance and one run of each full
// mode, the rows listed, and the ratio. Needs the test image (test/container/build-image.sh)
// and dist/sandboxctl.cjs (node build.mjs --bundle-only). Removes its containers at the end.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const sandboxctl = join(root, "dist/sandboxctl.cjs");
const size = Number(process.env.FLEET_SIZE ?? 200);
const runs = Number(process.env.FLEET_RUNS ?? 5);
const arch = process.arch === "arm64" ? "arm64" : "amd64";
const image = process.env.IMAGE_TAG ?? `${process.env.IMAGE_PREFIX ?? "sandbox-supervisor"}-test:${arch}`;
const label = `ssv-fleet-bench=${process.pid}`;
const prefix = `ssv-fleet-bench-${process.pid}`;

const docker = (args, options = {}) => spawnSync("docker", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function timedStatus(extra) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [sandboxctl, "--engine", "docker", "status", "--all", "--filter", `label=${label}`, "--json", "--timeout", "600", ...extra], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let rows = [];
  try {
    rows = JSON.parse(result.stdout);
  } catch {
    throw new Error(`sandboxctl status failed (${result.status}): ${result.stderr.trim()}`);
  }
  const healthy = rows.filter((r) => r.ok && r.state === "healthy").length;
  const fromCheck = rows.filter((r) => r.source === "health-check").length;
  return { seconds, rows: rows.length, healthy, fromCheck };
}

async function main() {
  console.log(`fleet: ${size} sandboxes of ${image}, label ${label}`);
  const started = Date.now();
  for (let i = 0; i < size; i++) {
    const run = docker(["run", "-d", "--name", `${prefix}-${i}`, "--network", "none", "--label", label, image]);
    if (run.status !== 0) throw new Error(`docker run ${i}: ${run.stderr.trim()}`);
  }
  console.log(`started ${size} in ${((Date.now() - started) / 1000).toFixed(0)} s; waiting for every health check`);
  for (;;) {
    const out = docker(["ps", "--filter", `label=${label}`, "--format", "{{.Status}}"]).stdout.trim().split("\n");
    const checked = out.filter((s) => s.includes("(healthy)")).length;
    if (checked === size) break;
    if (Date.now() - started > 20 * 60_000) throw new Error(`only ${checked} of ${size} healthy after 20 min`);
    await sleep(2000);
  }
  console.log(`all ${size} healthy by Docker's check after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const glances = [];
  for (let i = 0; i < runs; i++) glances.push(timedStatus([]));
  const full4 = timedStatus(["--full", "--parallel", "4"]);
  const full16 = timedStatus(["--full", "--parallel", "16"]);
  const g = median(glances.map((r) => r.seconds));
  console.log(`status --all (glance)      median ${g.toFixed(2)} s of ${runs} runs; rows ${glances[0].rows}, healthy ${glances[0].healthy}, from the health check ${glances[0].fromCheck}`);
  console.log(`status --all --full -P 4   ${full4.seconds.toFixed(2)} s; rows ${full4.rows}, healthy ${full4.healthy}`);
  console.log(`status --all --full -P 16  ${full16.seconds.toFixed(2)} s; rows ${full16.rows}, healthy ${full16.healthy}`);
  console.log(`ratio full (-P 4) / glance: ${(full4.seconds / g).toFixed(1)}x`);
}

try {
  await main();
} finally {
  const ids = docker(["ps", "-aq", "--filter", `label=${label}`]).stdout.trim().split("\n").filter(Boolean);
  for (let i = 0; i < ids.length; i += 50) docker(["rm", "-f", ...ids.slice(i, i + 50)]);
}
