// Soak: N minutes of random restarts, kill -9 of the gateway and of its children, SIGHUP and
// CPU throttling on and off, against one container of the test image, sampled every second
// from the host:
//   - `supervisor health` exits 0  <=>  a gateway proven by identity answers on its port
//     (host side: the one child of PID 1 running as the gateway uid holds the LISTEN socket
//     on the port, by socket inode, and GET /health answers 200 or 401 from inside the
//     container's network namespace);
//   - never two gateways (children of PID 1 with the gateway uid);
//   - PID 1 never restarts (same host pid, start time and Docker restart count);
//   - PID 1's memory (RSS and anonymous memory) at the start and the end.
// Prints the sample counts and every disagreement; exits 1 when a rule was broken.
//
//   node test/soak/soak.mjs [--minutes N] [--image TAG] [--seed N]     (npm run soak: 30 minutes)
//
// Needs root on the host (it reads /proc of the container's processes and enters its network
// namespace with nsenter) and the test image (test/container/build-image.sh).
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const PORT = 18789;
const GATEWAY_UID = 1001;
/** A disagreement that lasts this many samples in a row is a broken rule, not a probe's latency. */
const LASTING_SAMPLES = 3;
/**
 * PID 1's anonymous memory (its heap and buffers) may grow this much between the first and the
 * last minute. RSS is reported but not judged: it also counts shared code pages of the
 * executable, which fault in as more code paths run (11 MB in a 2-minute run) and are no leak.
 */
const MAX_ANON_GROWTH_KB = 8 * 1024;

function docker(args, timeoutMs = 60_000) {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function dockerAsync(args, timeoutMs = 120_000) {
  return new Promise((resolve) => {
    const child = spawn("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function read(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function stat(pid) {
  const text = read(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], startTime: Number(fields[19]) };
}

function uidOf(pid) {
  const match = /^Uid:\s+(\d+)/m.exec(read(`/proc/${pid}/status`) ?? "");
  return match ? Number(match[1]) : undefined;
}

function childrenOf(pid) {
  const pids = [];
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    const text = read(`/proc/${pid}/task/${task}/children`)?.trim();
    if (text) pids.push(...text.split(" ").map(Number));
  }
  return pids;
}

function descendantsOf(pid) {
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf(queue.shift())) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function safeReaddir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Live processes of the gateway uid that PID 1 is the parent of (gateways, and orphans it reaps). */
function gatewayUidChildren(pid1) {
  return childrenOf(pid1).filter((pid) => uidOf(pid) === GATEWAY_UID && !["Z", "X", undefined].includes(stat(pid)?.state));
}

/** Live gateways: those children running the gateway program (orphaned daemon children are not). */
function gateways(pid1) {
  return gatewayUidChildren(pid1).filter((pid) => (read(`/proc/${pid}/cmdline`) ?? "").includes("/test-gateway/server.js"));
}

function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed in between
    }
  }
  return inodes;
}

function listenerInodes(pid1) {
  const hexPort = PORT.toString(16).toUpperCase().padStart(4, "0");
  const inodes = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const line of (read(`/proc/${pid1}/net/${table}`) ?? "").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A" && Number(f[7]) === GATEWAY_UID) inodes.push(f[9]);
    }
  }
  return inodes;
}

/** GET /health from inside the container's network namespace, through one long-lived helper. */
class Prober {
  constructor(pid1) {
    const script =
      "const rl=require('readline').createInterface({input:process.stdin});" +
      `rl.on('line',()=>{const c=new AbortController();const t=setTimeout(()=>c.abort(),2000);` +
      `fetch('http://127.0.0.1:${PORT}/health',{signal:c.signal}).then(r=>r.status,()=>0).then(s=>{clearTimeout(t);console.log(s)})})`;
    this.child = spawn("nsenter", [`--net=/proc/${pid1}/ns/net`, process.execPath, "-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    this.waiting = [];
    let pending = "";
    this.child.stdout.setEncoding("utf8").on("data", (d) => {
      pending += d;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        this.waiting.shift()?.(Number(line));
      }
    });
  }

  status() {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write("probe\n");
    });
  }

  close() {
    this.child.kill();
  }
}

/** The host's own proof: exactly one gateway, holding the listener, answering HTTP. */
async function hostProof(pid1, prober) {
  const live = gateways(pid1);
  if (live.length !== 1) return { ok: false, gateways: live.length, why: `${live.length} gateways` };
  const [gateway] = live;
  const owned = socketInodes(gateway);
  if (!listenerInodes(pid1).some((inode) => owned.has(inode))) return { ok: false, gateways: 1, why: `pid ${gateway} holds no listener on ${PORT}` };
  const status = await prober.status();
  return [200, 401].includes(status) ? { ok: true, gateways: 1, pid: gateway } : { ok: false, gateways: 1, why: `GET /health: ${status || "no answer"}` };
}

function memoryKb(pid1) {
  const text = read(`/proc/${pid1}/status`) ?? "";
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rss: field("VmRSS"), anon: field("RssAnon") };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

// minSamples: a loaded host makes each sample (a docker exec) slower; the soak then runs on
// past `minutes` until it has that many samples, up to twice its length.
export async function runSoak({ minutes = 30, minSamples = 0, image, seed = Date.now(), log = (line) => console.log(line) } = {}) {
  const tag = image ?? `${process.env.IMAGE_PREFIX ?? "sandbox-supervisor"}-test:amd64`;
  let rng = seed % 2 ** 31;
  const random = (n) => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng % n;
  };
  const name = `ssv-soak-${process.pid}-${Date.now().toString(36)}`;
  const run = docker([
    "run", "-d", "--name", name, "--network", "none",
    "-e", "SUPERVISOR_PROBE_INTERVAL=1",
    "-e", "SUPERVISOR_BACKOFF_INITIAL=0.2",
    "-e", "SUPERVISOR_BACKOFF_MAX=2",
    "-e", "SUPERVISOR_STOP_GRACE=3",
    "-e", "SUPERVISOR_QUARANTINE_AFTER=6",
    "-e", "SUPERVISOR_QUARANTINE_WINDOW=60",
    "-e", "SUPERVISOR_PROBATION=5",
    "-e", "SUPERVISOR_STABLE_AFTER=10",
    // Every gateway starts a daemonised child, for kill -9 of children and stray cleanup.
    "-e", "TEST_GATEWAY_MODE=daemon-child",
    tag,
  ]);
  if (run.code !== 0) throw new Error(`docker run ${tag} failed: ${run.stderr.trim()}`);
  const inspect = () => {
    const [pid, startedAt, restarts] = docker(["inspect", "-f", "{{.State.Pid}} {{.State.StartedAt}} {{.RestartCount}}", name]).stdout.trim().split(" ");
    return { pid: Number(pid), startedAt, restarts: Number(restarts) };
  };
  const first = inspect();
  const pid1 = first.pid;
  const pid1Start = stat(pid1)?.startTime;
  const prober = new Prober(pid1);
  const counts = { samples: 0, healthyAgreed: 0, unhealthyAgreed: 0, inTransition: 0, disagreements: 0, lasting: 0, twoGateways: 0, maxGateways: 0, maxOrphans: 0, pid1Restarts: 0 };
  const actions = { restart: 0, hup: 0, killGateway: 0, killChildren: 0, throttle: 0, unthrottle: 0 };
  const disagreements = [];
  const memory = [];
  let streak = 0;
  let throttled = false;
  const inFlight = new Set();
  const began = Date.now();
  const deadline = began + minutes * 60_000;
  const hardDeadline = Date.now() + 2 * minutes * 60_000;
  const goOn = () => Date.now() < deadline || (counts.samples < minSamples && Date.now() < hardDeadline);
  let nextAction = Date.now() + 3000;
  let logText = "";
  try {
    for (let i = 0; goOn(); i++) {
      const tick = Date.now();
      if (tick >= nextAction) {
        nextAction = tick + 2000 + random(4000);
        const action = ["restart", "hup", "killGateway", "killChildren", "throttle"][random(5)];
        const live = gateways(pid1);
        if (action === "restart") {
          const p = dockerAsync(["exec", name, "supervisor", "restart", "--timeout", "60"]);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        } else if (action === "hup") {
          docker(["kill", "--signal", "HUP", name]);
        } else if (action === "killGateway" && live.length > 0) {
          for (const pid of live) spawnSync("kill", ["-9", String(pid)]);
        } else if (action === "killChildren") {
          for (const gateway of live) for (const child of descendantsOf(gateway)) spawnSync("kill", ["-9", String(child)]);
        } else if (action === "throttle") {
          throttled = !throttled;
          docker(["update", "--cpus", throttled ? "0.2" : "2", name]);
          actions[throttled ? "throttle" : "unthrottle"]++;
        }
        if (action !== "throttle") actions[action]++;
      }
      const before = await hostProof(pid1, prober);
      const health = docker(["exec", name, "supervisor", "health"], 15_000);
      const after = await hostProof(pid1, prober);
      counts.samples++;
      counts.maxGateways = Math.max(counts.maxGateways, before.gateways, after.gateways);
      counts.maxOrphans = Math.max(counts.maxOrphans, gatewayUidChildren(pid1).length - gateways(pid1).length);
      if (before.gateways > 1 || after.gateways > 1) counts.twoGateways++;
      const says = health.code === 0;
      if (before.ok !== after.ok) {
        counts.inTransition++;
        streak = 0;
      } else if (says === before.ok) {
        counts[says ? "healthyAgreed" : "unhealthyAgreed"]++;
        streak = 0;
      } else {
        counts.disagreements++;
        streak++;
        if (streak === LASTING_SAMPLES) counts.lasting++;
        disagreements.push(`${new Date().toISOString()} health exit ${health.code} (${health.stdout.trim()}) but host: ${before.ok ? `gateway pid ${before.pid} answers` : before.why}`);
      }
      if (i % 10 === 0) {
        const now = inspect();
        if (now.pid !== pid1 || now.restarts !== first.restarts || now.startedAt !== first.startedAt || stat(pid1)?.startTime !== pid1Start) {
          counts.pid1Restarts++;
          break;
        }
        memory.push({ at: Date.now(), ...memoryKb(pid1) });
      }
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
    await Promise.all([...inFlight]);
  } finally {
    prober.close();
    if (throttled) docker(["update", "--cpus", "2", name]);
    const logs = docker(["logs", name]);
    logText = logs.stdout + logs.stderr;
    docker(["rm", "-f", name]);
  }
  const minuteOf = (from, to) => memory.filter((m) => m.at >= from && m.at < to);
  const start = minuteOf(memory[0]?.at ?? 0, (memory[0]?.at ?? 0) + 60_000);
  const end = minuteOf((memory.at(-1)?.at ?? 0) - 60_000, Infinity);
  const rss = { start: median(start.map((m) => m.rss)), end: median(end.map((m) => m.rss)) };
  const anon = { start: median(start.map((m) => m.anon)), end: median(end.map((m) => m.anon)) };
  const summary = {
    minutes,
    elapsedSeconds: Math.round((Date.now() - began) / 1000),
    seed,
    ...counts,
    actions,
    pid1RssKb: rss,
    pid1AnonKb: anon,
    rssGrowthKb: rss.end - rss.start,
    anonGrowthKb: anon.end - anon.start,
    internalErrors: (logText.match(/internal error/g) ?? []).length,
  };
  log(`soak: ${JSON.stringify(summary)}`);
  for (const line of disagreements.slice(0, 50)) log(`soak: disagreement: ${line}`);
  summary.ok = counts.lasting === 0 && counts.twoGateways === 0 && counts.pid1Restarts === 0 && summary.anonGrowthKb <= MAX_ANON_GROWTH_KB;
  summary.disagreementLines = disagreements;
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { minutes: { type: "string" }, image: { type: "string" }, seed: { type: "string" } } });
  const summary = await runSoak({
    minutes: values.minutes ? Number(values.minutes) : 30,
    image: values.image,
    seed: values.seed ? Number(values.seed) : undefined,
  });
  console.log(summary.ok ? "soak: passed" : "soak: FAILED");
  process.exit(summary.ok ? 0 : 1);
}
