// Supervision benchmark, part of `npm run bench`: `supervisor boot` as PID 1 of a PID
// namespace on a scratch root, supervising the test gateway (as user nobody).
//
//   restart overhead   `restart` over the control socket minus the gateway's own start
//                      time (spawn → listening), measured alternately, medians
//   crash → relaunch   kill -9 of the gateway → new gateway process (backoff set to 0),
//                      and → the supervisor reports it healthy
//   PID 1 RSS          before and after 100 restarts
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";

const root = resolve(import.meta.dirname, "../..");
const supervisor = process.env.SUPERVISOR_BIN ?? join(root, `dist/supervisor-linux-${process.arch}`);
const rounds = Number(process.env.BENCH_RUNS ?? 20);
const restartsForRss = Number(process.env.BENCH_RSS_RESTARTS ?? 100);
const port = 30000 + Math.floor(Math.random() * 20000);
const gatewayScript = join(root, "test/gateway/server.js");

const scratch = mkdtempSync(join(tmpdir(), "supervise-bench-"));
// The gateway runs as nobody and must reach its script, config and staged guards.
chmodSync(scratch, 0o755);
const dirs = Object.fromEntries(["config", "data", "tmp", "run", "state"].map((d) => [d, join(scratch, d)]));
for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
chmodSync(dirs.run, 0o700);
const config = `${JSON.stringify({ gateway: { auth: { token: "" } } }, null, 2)}\n`;
writeFileSync(join(dirs.config, "openclaw.json"), config);
writeFileSync(join(dirs.config, ".config-hash"), `${createHash("sha256").update(config).digest("hex")}  openclaw.json\n`);
// The gateway runs as nobody: it must be able to read its script.
const gatewayCopy = join(scratch, "server.js");
cpSync(gatewayScript, gatewayCopy);
const settingsFile = join(scratch, "settings.json");
writeFileSync(
  settingsFile,
  JSON.stringify({
    configDir: dirs.config,
    dataDir: dirs.data,
    preloadSourceDir: join(root, "preloads"),
    tmpDir: dirs.tmp,
    runDir: dirs.run,
    stateDir: dirs.state,
    sandboxUser: "nobody",
    gatewayUser: "nobody",
    gatewayCommand: [process.execPath, gatewayCopy, "--port", "{port}"],
    gatewayPort: port,
    backoffInitialSeconds: 0,
    quarantineAfter: 1000,
  }),
);
const socketPath = join(dirs.run, "control.sock");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.9 * xs.length))];

/** One request over the control socket; resolves with the final message. */
function control(request) {
  return new Promise((resolveAnswer, reject) => {
    const socket = net.connect(socketPath, () => socket.write(`${JSON.stringify(request)}\n`));
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk;
      for (const line of buffer.split("\n").slice(0, -1)) {
        const message = JSON.parse(line);
        if (!("progress" in message)) resolveAnswer(message);
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
    });
    socket.on("error", reject);
  });
}

/** The gateway's own start: spawn → its "listening" line. */
function gatewayOwnStartMs() {
  return new Promise((resolveTime, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [gatewayScript, "--port", String(port + 1)], {
      env: { PATH: process.env.PATH, OPENCLAW_GATEWAY_TOKEN: "b".repeat(64) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening on")) {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        child.kill("SIGTERM");
        child.on("close", () => resolveTime(ms));
      }
    });
    child.on("error", reject);
  });
}

function childrenOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

const unshare = spawn("unshare", ["--pid", "--fork", "--mount-proc", supervisor, "boot"], {
  env: { PATH: process.env.PATH, SUPERVISOR_CONFIG: settingsFile, OPENCLAW_CONFIG: join(dirs.config, "openclaw.json") },
  stdio: ["ignore", "ignore", "pipe"],
});
let log = "";
unshare.stderr.on("data", (d) => (log += d));
let pid1;
try {
  for (let i = 0; i < 500 && pid1 === undefined; i++) {
    pid1 = childrenOf(unshare.pid)[0];
    if (pid1 === undefined) await sleep(10);
  }
  const waitHealthy = async (notPid) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      // Until the socket exists (just after start) a connection error only means "not yet".
      const answer = await control({ op: "status" }).catch(() => undefined);
      const status = answer?.status;
      if (status?.state === "healthy" && status.gateway.pid !== notPid) return status;
      if (Date.now() > deadline) throw new Error(`gateway not healthy within 30 s:\n${log}`);
      await sleep(2);
    }
  };
  await waitHealthy();

  const own = [];
  const restart = [];
  for (let i = 0; i < rounds; i++) {
    own.push(await gatewayOwnStartMs());
    const started = process.hrtime.bigint();
    const { result } = await control({ op: "restart", timeoutMs: 30_000 });
    if (!result.ok) throw new Error(`restart failed: ${JSON.stringify(result)}\n${log}`);
    restart.push(Number(process.hrtime.bigint() - started) / 1e6);
  }

  const toSpawn = [];
  const toHealthy = [];
  for (let i = 0; i < rounds; i++) {
    const { status } = await control({ op: "status" });
    const victim = childrenOf(pid1)[0];
    const killed = process.hrtime.bigint();
    process.kill(victim, "SIGKILL");
    while (!childrenOf(pid1).some((p) => p !== victim)) await sleep(0);
    toSpawn.push(Number(process.hrtime.bigint() - killed) / 1e6);
    await waitHealthy(status.gateway.pid);
    toHealthy.push(Number(process.hrtime.bigint() - killed) / 1e6);
  }

  const rssBefore = rssKb(pid1);
  for (let i = 0; i < restartsForRss; i++) {
    const { result } = await control({ op: "restart", timeoutMs: 30_000 });
    if (!result.ok) throw new Error(`restart failed: ${JSON.stringify(result)}`);
  }
  const rssAfter = rssKb(pid1);

  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`\nsupervision (${rounds} rounds, supervisor boot as PID 1 of a PID namespace, test gateway on Node ${process.version})`);
  console.log(`${"".padEnd(34)}${"p50 ms".padStart(8)}${"p90 ms".padStart(8)}`);
  console.log(`${"gateway's own start".padEnd(34)}${f(median(own))}${f(p90(own))}`);
  console.log(`${"restart (control socket)".padEnd(34)}${f(median(restart))}${f(p90(restart))}`);
  console.log(`${"restart beyond own start".padEnd(34)}${f(median(restart) - median(own))}`);
  console.log(`${"crash → relaunched (no backoff)".padEnd(34)}${f(median(toSpawn))}${f(p90(toSpawn))}`);
  console.log(`${"crash → healthy again".padEnd(34)}${f(median(toHealthy))}${f(p90(toHealthy))}`);
  console.log(`PID 1 RSS: ${(rssBefore / 1024).toFixed(1)} MB before, ${(rssAfter / 1024).toFixed(1)} MB after ${restartsForRss} more restarts (${((rssAfter - rssBefore) / 1024).toFixed(1)} MB)`);
} finally {
  try {
    process.kill(pid1 ?? unshare.pid, pid1 ? "SIGTERM" : "SIGKILL");
  } catch {
    process.stderr.write(`supervisor already gone:\n${log}`);
  }
  await new Promise((r) => unshare.on("close", r));
  // The locked posture made the config directory immutable (root here has the capability).
  spawnSync("chattr", ["-R", "-i", dirs.config]);
  rmSync(scratch, { recursive: true, force: true });
}
