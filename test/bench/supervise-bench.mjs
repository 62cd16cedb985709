// Supervision benchmark, part of `npm run bench`: `supervisor boot` as PID 1 of a PID
// namespace on a scratch root, supervising a gateway as user nobody.
//
// With the test gateway (test/gateway/server.js, a Node server):
//   restart overhead   `restart` over the control socket minus the gateway's own start
//                      time (spawn → listening), measured alternately, medians
//   crash → relaunch   kill -9 of the gateway → new gateway process (backoff set to 0),
//                      and → the supervisor reports it healthy
// With tiny-gateway.c (starts in about a millisecond, so the supervisor is what is measured):
//   restart            `restart` over the control socket, medians
//   PID 1 memory       anonymous memory (smaps_rollup) idle after boot, after
//                      BENCH_WARM_RESTARTS (default 100) restarts, and after
//                      BENCH_SOAK_RESTARTS (default 1000) more
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";

const root = resolve(import.meta.dirname, "../..");
const supervisor = process.env.SUPERVISOR_BIN ?? join(root, `dist/supervisor-linux-${process.arch}`);
const rounds = Number(process.env.BENCH_RUNS ?? 20);
const soakRestarts = Number(process.env.BENCH_SOAK_RESTARTS ?? 1000);
const warmRestarts = Number(process.env.BENCH_WARM_RESTARTS ?? 100);
const gatewayScript = join(root, "test/gateway/server.js");

const scratch = mkdtempSync(join(tmpdir(), "supervise-bench-"));
// The gateway runs as nobody and must reach its program, config and staged guards.
chmodSync(scratch, 0o755);
const tinyGateway = join(scratch, "tiny-gateway.bin");
execFileSync("gcc", ["-O2", "-o", tinyGateway, join(import.meta.dirname, "tiny-gateway.c")]);
const gatewayCopy = join(scratch, "server.js");
cpSync(gatewayScript, gatewayCopy);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.9 * xs.length))];
const msSince = (t) => Number(process.hrtime.bigint() - t) / 1e6;

function childrenOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

/** Anonymous and resident memory of a process, in MB; `malloc` is the main arena ([heap]). */
export function memoryMb(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(rollup)[1]) / 1024;
  const heap = /\[heap\]\n(?:[A-Z].*\n)*?Anonymous:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps`, "utf8"));
  return { anon: field("Anonymous"), rss: field("Rss"), malloc: heap ? Number(heap[1]) / 1024 : 0 };
}

/** `supervisor boot` as PID 1 of a fresh PID namespace, on its own scratch root and port. */
async function bootSupervisor(name, gatewayCommand, healthMode = "probes") {
  const port = 30000 + Math.floor(Math.random() * 20000);
  const base = join(scratch, name);
  const dirs = Object.fromEntries(["config", "data", "tmp", "run", "state", "gateway-config"].map((d) => [d, join(base, d)]));
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  chmodSync(base, 0o755);
  chmodSync(dirs.run, 0o700);
  const config = `${JSON.stringify({ gateway: { auth: { token: "" } } }, null, 2)}\n`;
  writeFileSync(join(dirs.config, "openclaw.json"), config);
  writeFileSync(join(dirs.config, ".config-hash"), `${createHash("sha256").update(config).digest("hex")}  openclaw.json\n`);
  const settingsFile = join(base, "settings.json");
  writeFileSync(
    settingsFile,
    JSON.stringify({
      configDir: dirs.config,
      dataDir: dirs.data,
      preloadSourceDir: join(root, "preloads"),
      tmpDir: dirs.tmp,
      runDir: dirs.run,
      stateDir: dirs.state,
      gatewayConfigDir: dirs["gateway-config"],
      healthMode,
      sandboxUser: "daemon",
      gatewayUser: "nobody",
      gatewayCommand,
      gatewayPort: port,
      backoffInitialSeconds: 0,
      quarantineAfter: 1000,
    }),
  );
  const socketPath = join(dirs.run, "control.sock");
  const unshare = spawn("unshare", ["--pid", "--fork", "--mount-proc", supervisor, "boot"], {
    env: { PATH: process.env.PATH, SUPERVISOR_CONFIG: settingsFile, OPENCLAW_CONFIG: join(dirs.config, "openclaw.json") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  unshare.stderr.on("data", (d) => (log += d));
  let pid1;
  for (let i = 0; i < 500 && pid1 === undefined; i++) {
    pid1 = childrenOf(unshare.pid)[0];
    if (pid1 === undefined) await sleep(10);
  }

  /** One request over the control socket; resolves with the final message. */
  const control = (request) =>
    new Promise((resolveAnswer, reject) => {
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
  const restart = async () => {
    const { result } = await control({ op: "restart", timeoutMs: 30_000 });
    if (!result.ok) throw new Error(`restart failed: ${JSON.stringify(result)}\n${log}`);
  };
  const stop = async () => {
    try {
      process.kill(pid1 ?? unshare.pid, pid1 ? "SIGTERM" : "SIGKILL");
    } catch {
      process.stderr.write(`supervisor already gone:\n${log}`);
    }
    await new Promise((r) => unshare.on("close", r));
    // The locked posture made the config directory immutable (root here has the capability).
    spawnSync("chattr", ["-R", "-i", dirs.config]);
  };
  await waitHealthy().catch(async (error) => {
    await stop();
    throw error;
  });
  return { pid1, port, control, waitHealthy, restart, stop };
}

/** The gateway's own start: spawn → its "listening" line. */
function gatewayOwnStartMs(port) {
  return new Promise((resolveTime, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [gatewayScript, "--port", String(port)], {
      env: { PATH: process.env.PATH, OPENCLAW_GATEWAY_TOKEN: "b".repeat(64) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("listening on")) {
        const ms = msSince(started);
        child.kill("SIGTERM");
        child.on("close", () => resolveTime(ms));
      }
    });
    child.on("error", reject);
  });
}

const f = (x) => x.toFixed(1).padStart(8);
try {
  const node = await bootSupervisor("node-gateway", [process.execPath, gatewayCopy, "--port", "{port}"]);
  try {
    const own = [];
    const restart = [];
    for (let i = 0; i < rounds; i++) {
      own.push(await gatewayOwnStartMs(node.port + 1));
      const started = process.hrtime.bigint();
      await node.restart();
      restart.push(msSince(started));
    }
    const toSpawn = [];
    const toHealthy = [];
    for (let i = 0; i < rounds; i++) {
      const { status } = await node.control({ op: "status" });
      const victim = childrenOf(node.pid1)[0];
      const killed = process.hrtime.bigint();
      process.kill(victim, "SIGKILL");
      while (!childrenOf(node.pid1).some((p) => p !== victim)) await sleep(0);
      toSpawn.push(msSince(killed));
      await node.waitHealthy(status.gateway.pid);
      toHealthy.push(msSince(killed));
    }
    console.log(`\nsupervision (${rounds} rounds, supervisor boot as PID 1 of a PID namespace, test gateway on Node ${process.version})`);
    console.log(`${"".padEnd(34)}${"p50 ms".padStart(8)}${"p90 ms".padStart(8)}`);
    console.log(`${"gateway's own start".padEnd(34)}${f(median(own))}${f(p90(own))}`);
    console.log(`${"restart (control socket)".padEnd(34)}${f(median(restart))}${f(p90(restart))}`);
    console.log(`${"restart beyond own start".padEnd(34)}${f(median(restart) - median(own))}`);
    console.log(`${"crash → relaunched (no backoff)".padEnd(34)}${f(median(toSpawn))}${f(p90(toSpawn))}`);
    console.log(`${"crash → healthy again".padEnd(34)}${f(median(toHealthy))}${f(p90(toHealthy))}`);
  } finally {
    await node.stop();
  }

  // It answers 200 to anything, not OpenClaw's probe contracts: plain HTTP health.
  const tiny = await bootSupervisor("tiny-gateway", [tinyGateway, "--port", "{port}"], "http");
  try {
    await sleep(1000);
    const idle = memoryMb(tiny.pid1);
    // The first restarts compile the restart path and fill V8's and malloc's pools once;
    // growth is also measured from after them, where only a leak or fragmentation grows.
    for (let i = 0; i < warmRestarts; i++) await tiny.restart();
    await sleep(1000);
    const warm = memoryMb(tiny.pid1);
    const restart = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < soakRestarts; i++) {
      const t = process.hrtime.bigint();
      await tiny.restart();
      restart.push(msSince(t));
    }
    const soakSeconds = msSince(started) / 1000;
    await sleep(1000);
    const after = memoryMb(tiny.pid1);
    const signed = (mb) => `${mb >= 0 ? "+" : ""}${mb.toFixed(1)} MB`;
    console.log(`\nPID 1 with a gateway that starts in ~1 ms (tiny-gateway.c): restart p50 ${median(restart).toFixed(1)} ms, p90 ${p90(restart).toFixed(1)} ms`);
    console.log(
      `PID 1 anonymous memory: ${idle.anon.toFixed(1)} MB idle, ${warm.anon.toFixed(1)} MB after ${warmRestarts} restarts, ` +
        `${after.anon.toFixed(1)} MB after ${soakRestarts} more (${soakSeconds.toFixed(0)} s): ` +
        `${signed(after.anon - warm.anon)} over the ${soakRestarts}, ${signed(after.anon - idle.anon)} from idle; RSS ${idle.rss.toFixed(1)} → ${after.rss.toFixed(1)} MB; ` +
        `of it malloc's main heap ${idle.malloc.toFixed(1)} → ${warm.malloc.toFixed(1)} → ${after.malloc.toFixed(1)} MB`,
    );
  } finally {
    await tiny.stop();
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
