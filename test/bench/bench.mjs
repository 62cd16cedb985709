// `npm run bench`, part 1: the supervisor's start-up next to the Node binary it is built on
// and next to tini, measured in one run, interleaved (so a noisy machine hits all alike),
// medians and ratios. Every init runs as PID 1 of its own PID namespace, timed from its exec
// by pid1-probe.c (see there).
//
//   start-up        `supervisor run -- true` vs `node -e 0` (same Node) vs `tini -- true`
//   boot            `supervisor boot -- true` vs `supervisor run -- true`, in the test image's
//                   root file system (root, locked posture, CAP_LINUX_IMMUTABLE), the
//                   programs a boot executes besides the command (strace -f -e execve), and
//                   where the difference goes: wall time in system calls of each (strace -f
//                   -c -w, the calls that cost most, fsync among them), the functions each
//                   compiles by module, and both with nothing to compile and no fsync
//                   (boot-floor.mjs)
//   signal window   SIGTERM sent at growing delays after PID 1's exec: from which delay on
//                   none is lost (passed to the child, which dies of it)
//   run-mode memory anonymous and resident memory of PID 1 while its child sleeps
//
// Env: BENCH_RUNS (start-up rounds, default 40), SUPERVISOR_BIN, IMAGE_PREFIX (test image).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compiledByModule, prepareFloor, printCompiled, supervisorExecArgv } from "./boot-floor.mjs";

const root = resolve(import.meta.dirname, "../..");
const runs = Number(process.env.BENCH_RUNS ?? 40);
const arch = process.arch;
const supervisor = process.env.SUPERVISOR_BIN ?? join(root, `dist/supervisor-linux-${arch}`);
const nodeDir = readdirSync(join(root, ".cache/node")).find((d) => d.startsWith("node-v") && d.endsWith(`-linux-${arch}`));
const node = nodeDir && join(root, ".cache/node", nodeDir, "bin/node");
for (const [what, file, fix] of [
  ["supervisor", supervisor, "node build.mjs"],
  ["node", node ?? ".cache/node/node-v*/bin/node", "node build.mjs"],
  ["tini", "/usr/bin/tini", "apt-get install tini"],
  ["strace", "/usr/bin/strace", "apt-get install strace"],
]) {
  if (!existsSync(file)) {
    console.error(`bench: ${file} (${what}) is missing: ${fix}`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), "supervisor-bench-"));
const probe = join(work, "pid1-probe");
execFileSync("gcc", ["-O2", "-o", probe, join(import.meta.dirname, "pid1-probe.c")]);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.9 * xs.length))];
const pad = (s, n) => String(s).padStart(n);

/** Exec-to-exit of PID 1, in ms; throws unless it exited 0. */
function lifeMs(argv, rootDir) {
  const out = spawnSync(probe, [...(rootDir ? ["--root", rootDir] : []), "time", ...argv], { encoding: "utf8" });
  const [status, micros] = out.stdout.trim().split(" ").map(Number);
  if (out.status !== 0 || status !== 0) throw new Error(`${argv.join(" ")}: status ${status ?? out.status}: ${out.stderr.trim()}`);
  return micros / 1000;
}

/** Interleaved rounds of each command; prints medians, p90 and ratios to the reference row. */
function compare(title, rows, reference, rootDir) {
  const times = rows.map(() => []);
  for (let round = 0; round < runs; round++) rows.forEach((row, i) => times[i].push(lifeMs(row.argv, rootDir)));
  const ref = median(times[rows.findIndex((r) => r.name === reference)]);
  console.log(`\n${title} (exec to exit of PID 1, ${runs} interleaved runs each)`);
  console.log(`${"".padEnd(30)}${pad("p50 ms", 9)}${pad("p90 ms", 9)}   x ${reference}`);
  rows.forEach((row, i) => {
    console.log(`${row.name.padEnd(30)}${pad(median(times[i]).toFixed(1), 9)}${pad(p90(times[i]).toFixed(1), 9)}${pad((median(times[i]) / ref).toFixed(2), 7)}`);
  });
  return Object.fromEntries(rows.map((row, i) => [row.name, median(times[i])]));
}

// --- start-up ---------------------------------------------------------------------------
compare(
  "start-up",
  [
    { name: "supervisor run -- true", argv: [supervisor, "run", "--", "/bin/true"] },
    { name: "node -e 0", argv: [node, "-e", "0"] },
    { name: "tini -- true", argv: ["/usr/bin/tini", "--", "/bin/true"] },
  ],
  "node -e 0",
);

// --- boot in the image's root file system --------------------------------------------
/** The test image's root file system, unpacked (build-image.sh builds the image offline). */
function imageRootfs() {
  const image = spawnSync(join(root, "test/container/build-image.sh"), [arch === "x64" ? "amd64" : "arm64"], {
    encoding: "utf8",
    env: { ...process.env, SUPERVISOR_BIN: supervisor },
  });
  if (image.status !== 0) return { skipped: `no test image (${image.stderr.trim().split("\n").pop()})` };
  const tag = image.stdout.trim().split("\n").pop();
  const id = execFileSync("docker", ["create", tag], { encoding: "utf8" }).trim();
  const dir = join(work, "rootfs");
  try {
    execFileSync("sh", ["-c", `mkdir ${dir} && docker export ${id} | tar -x -C ${dir}`]);
  } finally {
    execFileSync("docker", ["rm", id], { stdio: "ignore" });
  }
  return { dir };
}

/** Programs a command's process tree executes besides its first exec and the final command. */
function programsExecuted(argv, rootDir) {
  const trace = join(work, "execve.trace");
  execFileSync("strace", ["-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", trace, probe, "--root", rootDir, "time", ...argv], { stdio: "ignore" });
  const execs = readFileSync(trace, "utf8")
    .split("\n")
    .filter((line) => / = 0$/.test(line))
    .map((line) => /execve\("([^"]+)"/.exec(line)?.[1])
    .filter((file) => file !== undefined);
  // execs: the probe itself, the supervisor, then what it runs, the command last.
  return execs.slice(2, -1).map((file) => file.split("/").pop());
}

/**
 * Wall time in system calls of a command's whole process tree (strace -f -c -w: blocking
 * calls such as fsync count what they waited), median of `rounds` runs per call name.
 */
function syscallTime(argv, rootDir, rounds = 5) {
  const byCall = {};
  for (let i = 0; i < rounds; i++) {
    const summary = join(work, "syscalls.summary");
    execFileSync("strace", ["-f", "-c", "-w", "-qq", "-o", summary, probe, "--root", rootDir, "time", ...argv], { stdio: "ignore" });
    for (const line of readFileSync(summary, "utf8").split("\n")) {
      // % time, seconds, usecs/call, calls, [errors,] syscall
      const fields = line.trim().split(/\s+/);
      if (fields.length < 5 || !/^[0-9.]+$/.test(fields[0]) || !/^[a-z_0-9]+$/.test(fields.at(-1)) || fields.at(-1) === "total") continue;
      (byCall[fields.at(-1)] ??= []).push({ ms: Number(fields[1]) * 1000, calls: Number(fields[3]) });
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.entries(byCall).map(([call, seen]) => [call, { ms: med(seen.map((s) => s.ms)), calls: med(seen.map((s) => s.calls)) }]));
}

/** Calls that wait (for events, other threads, the child): their wall time is not work. */
const WAITING = new Set(["epoll_pwait", "epoll_wait", "futex", "wait4", "waitid", "poll", "ppoll", "select", "pselect6", "nanosleep", "clock_nanosleep", "rt_sigtimedwait", "rt_sigsuspend", "pause"]);

function printSyscallDifference(allBoot, allRun) {
  const working = (t) => Object.fromEntries(Object.entries(t).filter(([call]) => !WAITING.has(call)));
  const boot = working(allBoot);
  const run = working(allRun);
  const total = (t) => Object.values(t).reduce((sum, c) => sum + c.ms, 0);
  console.log(
    `time in system calls that work, waits left out (strace -f -c -w, median of 5, tracing slows both): boot ${total(boot).toFixed(1)} ms, run ${total(run).toFixed(1)} ms`,
  );
  const rows = Object.keys({ ...boot, ...run })
    .map((call) => ({ call, boot: boot[call] ?? { ms: 0, calls: 0 }, run: run[call] ?? { ms: 0, calls: 0 } }))
    .sort((a, b) => b.boot.ms - b.run.ms - (a.boot.ms - a.run.ms))
    .slice(0, 8);
  for (const r of rows) {
    console.log(`  ${r.call.padEnd(16)} boot ${r.boot.ms.toFixed(2).padStart(7)} ms in ${String(r.boot.calls).padStart(5)} calls   run ${r.run.ms.toFixed(2).padStart(7)} ms in ${String(r.run.calls).padStart(5)}`);
  }
}

/** What the boot costs beyond `run` once compiling, then fsync, are taken out (boot-floor.mjs). */
function bootFloor(rootDir) {
  const floor = prepareFloor({
    rootDir,
    node,
    bundle: join(root, `build/bundle/supervisor-linux-${arch}.cjs`),
    fullBundle: join(root, "dist/supervisor.cjs"),
    execArgv: supervisorExecArgv(join(root, "build.mjs")),
    work,
  });
  for (const mode of ["boot", "run"]) {
    lifeMs(floor.train(mode), rootDir);
    lifeMs(floor.logged(mode), rootDir);
  }
  console.log("");
  printCompiled(compiledByModule(floor.functionLog("boot"), floor.fullBundle), compiledByModule(floor.functionLog("run"), floor.fullBundle));
  compare(
    "the boot with nothing to compile (a code cache of all each ran), then with fsync a no-op too",
    [
      { name: "boot, all cached", argv: floor.cached("boot") },
      { name: "boot, all cached, no fsync", argv: floor.cachedNoFsync("boot") },
      { name: "run, all cached", argv: floor.cached("run") },
    ],
    "run, all cached",
    rootDir,
  );
}

const rootfs = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0 ? imageRootfs() : { skipped: "no Docker" };
if (rootfs.dir) {
  try {
    const inImage = "/usr/local/bin/supervisor";
    compare(
      "boot in the test image's root file system (root, locked posture, CAP_LINUX_IMMUTABLE)",
      [
        { name: "supervisor boot -- true", argv: [inImage, "boot", "--", "/bin/true"] },
        { name: "supervisor run -- true", argv: [inImage, "run", "--", "/bin/true"] },
      ],
      "supervisor run -- true",
      rootfs.dir,
    );
    const helpers = programsExecuted([inImage, "boot", "--", "/bin/true"], rootfs.dir);
    const counts = {};
    for (const name of helpers) counts[name] = (counts[name] ?? 0) + 1;
    const list = Object.entries(counts).map(([name, n]) => (n > 1 ? `${name} x${n}` : name)).join(", ");
    console.log(`programs a boot executes besides the command: ${helpers.length}${list ? ` (${list})` : ""}`);
    printSyscallDifference(syscallTime([inImage, "boot", "--", "/bin/true"], rootfs.dir), syscallTime([inImage, "run", "--", "/bin/true"], rootfs.dir));
    bootFloor(rootfs.dir);
  } finally {
    spawnSync("chattr", ["-R", "-i", join(rootfs.dir, "sandbox")]);
  }
} else {
  console.log(`\nboot: skipped, ${rootfs.skipped}`);
}

// --- signal-loss window -------------------------------------------------------------
// Each TERM lands at a fixed delay after exec; whether it is caught depends on how far that
// one start got, which a busy machine stretches. So: the delay from which at least half are
// caught (the typical window) and the first from which none was lost (the worst seen).
const STEP_MS = 2;
const MAX_MS = 80;
const TRIALS = 5;
/** How many of TRIALS TERMs sent `delayMs` after exec were lost (the child was not killed by it). */
function lost(argv, delayMs) {
  let count = 0;
  for (let i = 0; i < TRIALS; i++) {
    const out = spawnSync(probe, ["term", String(Math.round(delayMs * 1000)), ...argv], { encoding: "utf8" });
    if (out.stdout.trim() !== "143") count++;
  }
  return count;
}
function lossWindow(argv) {
  let typical;
  let firstSafe = 0;
  for (let delay = 0; delay <= MAX_MS; delay += STEP_MS) {
    const n = lost(argv, delay);
    if (typical === undefined && n <= TRIALS / 2) typical = delay;
    if (n > 0) firstSafe = delay + STEP_MS;
  }
  const show = (ms) => (ms === undefined || ms > MAX_MS ? `> ${MAX_MS}` : String(ms)).padStart(8);
  return `${show(typical)}${show(firstSafe)}`;
}
const sleeper = ["/bin/sleep", "0.15"];
const nodeFirstLine = "process.on('SIGTERM',()=>process.exit(143));setTimeout(()=>{},150)";
console.log(`\nsignal-loss window: SIGTERM at 0-${MAX_MS} ms after PID 1's exec, every ${STEP_MS} ms, ${TRIALS} each`);
console.log(`${"".padEnd(40)}${pad("half ms", 8)}${pad("all ms", 8)}  (caught from)`);
console.log(`${"supervisor run -- sleep".padEnd(40)}${lossWindow([supervisor, "run", "--", ...sleeper])}`);
console.log(`${"node, a handler on its first line".padEnd(40)}${lossWindow([node, "-e", nodeFirstLine])}`);
console.log(`${"tini -- sleep".padEnd(40)}${lossWindow(["/usr/bin/tini", "--", ...sleeper])}`);

// --- run-mode memory ------------------------------------------------------------------
async function pid1Memory(argv) {
  const child = spawn("unshare", ["--pid", "--fork", "--mount-proc", ...argv], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 600));
  const initPid = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0];
  // RSS counts the executable's touched code pages (page cache, shared, reclaimable) too;
  // the anonymous part is what the process really allocated.
  const rollup = readFileSync(`/proc/${initPid}/smaps_rollup`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(rollup)[1]) / 1024;
  const sample = { rss: field("Rss"), anon: field("Anonymous") };
  await new Promise((r) => child.on("close", r));
  return sample;
}
const inits = [
  { name: "supervisor run", argv: [supervisor, "run", "--", "sleep", "1"], file: supervisor },
  { name: "tini", argv: ["/usr/bin/tini", "--", "sleep", "1"], file: "/usr/bin/tini" },
];
const memory = inits.map(() => []);
for (let round = 0; round < 5; round++) for (const [i, init] of inits.entries()) memory[i].push(await pid1Memory(init.argv));
console.log(`\nPID 1 memory while its child sleeps (median of 5), and executable size`);
console.log(`${"".padEnd(30)}${pad("anon MB", 9)}${pad("RSS MB", 9)}${pad("size MB", 9)}`);
inits.forEach((init, i) => {
  const med = (key) => median(memory[i].map((s) => s[key])).toFixed(1);
  console.log(`${init.name.padEnd(30)}${pad(med("anon"), 9)}${pad(med("rss"), 9)}${pad((statSync(init.file).size / 1e6).toFixed(1), 9)}`);
});

rmSync(work, { recursive: true, force: true });
