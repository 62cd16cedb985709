// `npm run bench`: this supervisor next to tini and dumb-init, measured in one run,
// interleaved, so a noisy machine hits all three alike. Prints medians and ratios.
//
//   start-to-exec  time from spawning the init until its child's first instruction
//   PID 1 RSS      resident memory of the init while its child sleeps
//   size           bytes of the executable
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const runs = Number(process.env.BENCH_RUNS ?? 40);
const supervisor = process.env.SUPERVISOR_BIN ?? join(root, `dist/supervisor-linux-${process.arch}`);

const inits = [
  { name: "supervisor", file: supervisor, argv: (cmd) => [supervisor, "run", "--", ...cmd] },
  { name: "tini", file: "/usr/bin/tini", argv: (cmd) => ["/usr/bin/tini", "--", ...cmd] },
  { name: "dumb-init", file: "/usr/bin/dumb-init", argv: (cmd) => ["/usr/bin/dumb-init", ...cmd] },
];
for (const init of inits) {
  if (!existsSync(init.file)) {
    console.error(`bench: ${init.file} is missing (${init.name === "supervisor" ? "run node build.mjs" : `apt-get install ${init.name}`})`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), "supervisor-bench-"));
const stamp = join(work, "exec-stamp");
execFileSync("gcc", ["-O2", "-o", stamp, join(import.meta.dirname, "exec-stamp.c")]);

// Each init runs as PID 1 of its own PID namespace, as it would in a container.
const asPid1 = (argv) => ["unshare", ["--pid", "--fork", "--mount-proc", ...argv]];

function startToExecMs(init) {
  const [cmd, args] = asPid1(init.argv([stamp]));
  const before = process.hrtime.bigint();
  const out = spawnSync(cmd, args, { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`${init.name}: ${out.stderr}`);
  return Number(BigInt(out.stdout.trim()) - before) / 1e6;
}

async function pid1RssKb(init) {
  const [cmd, args] = asPid1(init.argv(["sleep", "1"]));
  const child = spawn(cmd, args, { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 600));
  const initPid = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0];
  // RSS counts the executable's touched code pages (page cache, shared, reclaimable) too;
  // the anonymous part is what the process really allocated.
  const rollup = readFileSync(`/proc/${initPid}/smaps_rollup`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(rollup)[1]);
  const sample = { rss: field("Rss"), anon: field("Anonymous") };
  await new Promise((r) => child.on("close", r));
  return sample;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

const latency = Object.fromEntries(inits.map((i) => [i.name, []]));
const rss = Object.fromEntries(inits.map((i) => [i.name, []]));
for (let round = 0; round < runs; round++) {
  for (const init of inits) latency[init.name].push(startToExecMs(init));
}
for (let round = 0; round < 5; round++) {
  for (const init of inits) rss[init.name].push(await pid1RssKb(init));
}

const rows = inits.map((init) => ({
  name: init.name,
  execMedian: median(latency[init.name]),
  execP90: percentile(latency[init.name], 0.9),
  rssMb: median(rss[init.name].map((s) => s.rss)) / 1024,
  anonMb: median(rss[init.name].map((s) => s.anon)) / 1024,
  sizeMb: statSync(init.file).size / 1e6,
}));
const tini = rows.find((r) => r.name === "tini");
const pad = (s, n) => String(s).padStart(n);
console.log(`start-to-exec over ${runs} interleaved runs each, RSS median of 5, each init as PID 1 (unshare)`);
console.log(`${"init".padEnd(12)}${pad("exec p50 ms", 13)}${pad("p90 ms", 9)}${pad("x tini", 8)}${pad("RSS MB", 9)}${pad("x tini", 8)}${pad("anon MB", 9)}${pad("size MB", 10)}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(12)}${pad(r.execMedian.toFixed(2), 13)}${pad(r.execP90.toFixed(2), 9)}${pad((r.execMedian / tini.execMedian).toFixed(1), 8)}` +
      `${pad(r.rssMb.toFixed(1), 9)}${pad((r.rssMb / tini.rssMb).toFixed(0), 8)}${pad(r.anonMb.toFixed(1), 9)}${pad(r.sizeMb.toFixed(2), 10)}`,
  );
}
const arm = join(root, "dist/supervisor-linux-arm64");
if (existsSync(arm)) console.log(`${"(arm64)".padEnd(12)}${pad("", 13 + 9 + 8 + 9 + 8 + 9)}${pad((statSync(arm).size / 1e6).toFixed(2), 10)}`);
