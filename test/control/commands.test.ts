import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildSync } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { controlCommand, type CommandIO, type ControlCommandName, type LockTuning } from "../../supervisor/control/commands.js";
import { startControlServer, type ControlServer } from "../../supervisor/control/server.js";
import type { ControlHandler, ControlResult, RestartRequest, StatusReport } from "../../supervisor/supervise/control-contract.js";

const ROOT = resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "control-commands-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const REPORT: StatusReport = {
  state: "healthy",
  gateway: { pid: 4242, startTime: 123456, uid: 999, startedAt: "2025-01-01T00:00:00.000Z", uptimeSeconds: 65 },
  restarts: 1,
  crashes: 0,
  failedBoots: 0,
  inProcessRestarts: 0,
  probationAt: null,
  breaker: { tripped: false, uncleanBoots: 0, windowSeconds: 300 },
  lastExit: { description: "exited with 0", at: "2025-01-01T00:00:00.000Z", expected: true },
  detail: null,
  capabilities: { gatewayKept: [], supervisorKept: [] },
  mode: "root",
  posture: "locked",
  readiness: { ready: true, failing: [] },
  drain: null,
};
const NEW_GATEWAY = { pid: 5151, startTime: 777, uid: 999 };
const FAST_LOCK: LockTuning = { staleMs: 2_000, updateMs: 1_000, retryMs: 50 };

function fakeHandler(overrides: Partial<ControlHandler> = {}): ControlHandler {
  return {
    async restart(_request, progress) {
      progress("stopping gateway pid 4242");
      progress("waiting for gateway pid 5151 to listen on port 18789");
      return { ok: true, gateway: NEW_GATEWAY };
    },
    async startIfStopped(_request, progress) {
      progress("waiting for gateway pid 5151 to listen on port 18789");
      return { ok: true, gateway: NEW_GATEWAY };
    },
    async stop(progress) {
      progress("SIGTERM to gateway pid 4242");
      return { ok: true, gateway: REPORT.gateway };
    },
    status: () => REPORT,
    ...overrides,
  };
}

interface Captured extends CommandIO {
  out: () => string;
  err: () => string;
}

let counter = 0;
const servers: ControlServer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function freshRunDir(): string {
  const base = join(scratch, `case-${++counter}`);
  mkdirSync(base);
  return join(base, "run");
}

function captureIO(runDir: string, lock: LockTuning = FAST_LOCK): Captured {
  let out = "";
  let err = "";
  return {
    socketPath: join(runDir, "control.sock"),
    lockPath: join(runDir, "restart.lock"),
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    stopGraceMs: 0,
    restartDrainMs: 0,
    lock,
    out: () => out,
    err: () => err,
  };
}

/** A real server with a fake handler in a fresh run directory, and streams to read. */
async function setUp(handler: ControlHandler = fakeHandler()): Promise<Captured> {
  const runDir = freshRunDir();
  const io = captureIO(runDir);
  servers.push(await startControlServer(io.socketPath, handler, { log: () => {} }));
  return io;
}

async function run(command: ControlCommandName, args: string[], io: Captured): Promise<{ code: number; out: string; err: string }> {
  const code = await controlCommand(command, args, io, "USAGE\n");
  return { code, out: io.out(), err: io.err() };
}

describe("supervisor restart", () => {
  it("prints progress on stderr as it arrives and the new pid on stdout, exit 0", async () => {
    const seen: RestartRequest[] = [];
    const io = await setUp(
      fakeHandler({
        async restart(req, progress) {
          seen.push(req);
          progress("stopping gateway pid 4242");
          progress("launching gateway\nas user gateway");
          return { ok: true, gateway: NEW_GATEWAY };
        },
      }),
    );
    expect(await run("restart", ["--expect-pid", "4242", "--expect-start-time", "123456"], io)).toEqual({
      code: 0,
      out: "restarted: gateway pid 5151\n",
      err: "restart: stopping gateway pid 4242\nrestart: launching gateway as user gateway\n",
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.expect).toEqual({ pid: 4242, startTime: 123456 });
    // The lock wait comes out of the same budget: what is left goes to the supervisor.
    expect(seen[0]!.timeoutMs).toBeGreaterThan(59_000);
    expect(seen[0]!.timeoutMs).toBeLessThanOrEqual(60_000);
  });

  it("with --json prints one JSON line and no progress at all", async () => {
    const io = await setUp();
    expect(await run("restart", ["--json", "--timeout", "5"], io)).toEqual({
      code: 0,
      out: '{"ok":true,"pid":5151,"startTime":777}\n',
      err: "",
    });
  });

  it("names the failed layer in one line: exit 1, 3 for busy, 4 for unavailable", async () => {
    const cases: Array<[ControlResult, number]> = [
      [{ ok: false, layer: "health timeout", message: "gateway pid 5151 did not answer on port 18789 within 60 s" }, 1],
      [{ ok: false, layer: "guards missing", message: "refusing unguarded gateway relaunch" }, 1],
      [{ ok: false, layer: "stale request", message: "pid 1 with start time 2 is not the running gateway" }, 1],
      [{ ok: false, layer: "busy", message: "a stop is under way" }, 3],
      [{ ok: false, layer: "unavailable", message: "the supervisor is shutting down" }, 4],
    ];
    for (const [result, code] of cases) {
      if (result.ok) continue;
      const io = await setUp(fakeHandler({ restart: async () => result }));
      expect(await run("restart", [], io)).toEqual({ code, out: "", err: `restart failed (${result.layer}): ${result.message}\n` });
      const json = await setUp(fakeHandler({ restart: async () => result }));
      expect(await run("restart", ["--json"], json)).toEqual({
        code,
        out: `${JSON.stringify({ ok: false, layer: result.layer, message: result.message })}\n`,
        err: "",
      });
    }
  });

  it("is unavailable (exit 4) when there is no supervisor", async () => {
    const missing = captureIO(freshRunDir());
    expect(await run("restart", [], missing)).toEqual({
      code: 4,
      out: "",
      err: `restart failed (unavailable): supervisor runtime directory ${join(missing.lockPath, "..")} not found: is PID 1 the sandbox supervisor?\n`,
    });
    const runDir = freshRunDir();
    mkdirSync(runDir, { mode: 0o700 });
    const noSocket = captureIO(runDir);
    expect(await run("restart", [], noSocket)).toEqual({
      code: 4,
      out: "",
      err: `restart failed (unavailable): supervisor control socket ${noSocket.socketPath} not found: is PID 1 the sandbox supervisor?\n`,
    });
    expect(statSync(noSocket.lockPath).mode & 0o777).toBe(0o600);
  });

  it("runs concurrent restarts one at a time", async () => {
    let running = 0;
    let most = 0;
    const io = await setUp(
      fakeHandler({
        async restart() {
          most = Math.max(most, ++running);
          await sleep(150);
          running--;
          return { ok: true, gateway: NEW_GATEWAY };
        },
      }),
    );
    const others = [captureIO(join(io.socketPath, "..")), captureIO(join(io.socketPath, ".."))];
    const codes = await Promise.all([io, ...others].map((each) => controlCommand("restart", ["--timeout", "10"], each)));
    expect(codes).toEqual([0, 0, 0]);
    expect(most).toBe(1);
  });

  it("answers busy (exit 3) when another restart holds the lock for the whole timeout", async () => {
    const io = await setUp();
    const holder = await holdLock(io.lockPath, FAST_LOCK);
    const started = Date.now();
    const result = await run("restart", ["--timeout", "3"], io);
    const elapsed = Date.now() - started;
    expect(result.code).toBe(3);
    expect(result.err).toBe(`restart failed (busy): another restart holds ${io.lockPath}; gave up after waiting 3 s\n`);
    // Refreshed by a live holder, the lock never went stale although it is older than staleMs.
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(holder.exitCode).toBe(null);
  });

  it("takes over the lock of a restart that was SIGKILLed, once it is stale", async () => {
    const io = await setUp();
    const holder = await holdLock(io.lockPath, FAST_LOCK);
    const exited = new Promise((done) => holder.once("exit", done));
    holder.kill("SIGKILL");
    await exited;
    expect(lstatSync(`${io.lockPath}.lock`).isDirectory()).toBe(true);
    const started = Date.now();
    const result = await run("restart", ["--timeout", "20"], io);
    expect(result).toMatchObject({ code: 0, out: "restarted: gateway pid 5151\n" });
    // proper-lockfile stamps a fresh lock up to 1 s into the future, hence the slack.
    expect(Date.now() - started).toBeLessThan(FAST_LOCK.staleMs + 3_000);
    expect(existsSync(`${io.lockPath}.lock`)).toBe(false);
  });
});

/** A separate process that takes the restart lock the way `supervisor restart` does. */
async function holdLock(lockPath: string, tuning: LockTuning): Promise<ChildProcess> {
  const script = `require("proper-lockfile").lock(process.argv[1], { stale: ${tuning.staleMs}, update: ${tuning.updateMs}, realpath: false })
    .then(() => { process.stdout.write("locked\\n"); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ["-e", script, lockPath], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await new Promise((done) => child.stdout!.once("data", done));
  return child;
}

describe("supervisor status", () => {
  it("prints aligned lines, exit 0", async () => {
    const io = await setUp();
    const result = await run("status", [], io);
    expect(result.code).toBe(0);
    expect(result.err).toBe("");
    expect(result.out).toMatch(/^state {9}healthy\nreadiness {5}ready\ngateway {7}pid 4242 \(start time 123456, uid 999\)\nuptime {8}1m 5s /);
  });

  it("with --json prints the report as one JSON line, exit 0 whatever the state", async () => {
    const quarantined: StatusReport = { ...REPORT, state: "quarantined", gateway: null, detail: "5 crashes in 60 s" };
    const io = await setUp(fakeHandler({ status: () => quarantined }));
    const result = await run("status", ["--json"], io);
    expect(result.code).toBe(0);
    expect(result.out.endsWith("\n")).toBe(true);
    expect(result.out.indexOf("\n")).toBe(result.out.length - 1);
    // The report, and ok: an answer came (the state says whether the gateway is well).
    expect(JSON.parse(result.out)).toEqual({ ...quarantined, ok: true });
  });

  it("is unavailable (exit 4) without a supervisor, as text or JSON", async () => {
    const io = captureIO(freshRunDir());
    const message = `supervisor control socket ${io.socketPath} not found: is PID 1 the sandbox supervisor?`;
    expect(await run("status", [], io)).toEqual({ code: 4, out: "", err: `status failed (unavailable): ${message}\n` });
    const json = captureIO(freshRunDir());
    const jsonMessage = `supervisor control socket ${json.socketPath} not found: is PID 1 the sandbox supervisor?`;
    expect(await run("status", ["--json"], json)).toEqual({
      code: 4,
      out: `${JSON.stringify({ ok: false, layer: "unavailable", message: jsonMessage })}\n`,
      err: "",
    });
  });
});

describe("supervisor health", () => {
  it("exits 0 iff the state is healthy", async () => {
    expect(await run("health", [], await setUp())).toEqual({ code: 0, out: "healthy: gateway pid 4242\n", err: "" });
    const states: Array<[StatusReport, string]> = [
      [{ ...REPORT, state: "unhealthy", detail: "3 probes failed: connection refused" }, "not healthy: unhealthy: 3 probes failed: connection refused\n"],
      [{ ...REPORT, state: "starting", detail: null }, "not healthy: starting\n"],
      [{ ...REPORT, state: "stopped", gateway: null, detail: "stopped on request" }, "not healthy: stopped: stopped on request\n"],
    ];
    for (const [report, line] of states) {
      expect(await run("health", [], await setUp(fakeHandler({ status: () => report })))).toEqual({ code: 1, out: line, err: "" });
    }
  });

  it("exits 4 when the supervisor cannot be reached", async () => {
    const io = captureIO(freshRunDir());
    const result = await run("health", [], io);
    expect(result.code).toBe(4);
    expect(result.err).toMatch(/^health failed \(unavailable\): supervisor control socket .* not found/);
  });
});

describe("supervisor start", () => {
  it("prints started with the pid when a gateway was launched, already started with the state when not", async () => {
    const launched = await setUp();
    expect(await run("start", [], launched)).toEqual({
      code: 0,
      out: "started: gateway pid 5151\n",
      err: "start: waiting for gateway pid 5151 to listen on port 18789\n",
    });
    const running = await setUp(fakeHandler({ startIfStopped: async () => ({ ok: true, gateway: NEW_GATEWAY, alreadyStarted: "unhealthy" }) }));
    expect(await run("start", [], running)).toEqual({ code: 0, out: "already started: gateway unhealthy, pid 5151\n", err: "" });
    const due = await setUp(fakeHandler({ startIfStopped: async () => ({ ok: true, gateway: null, alreadyStarted: "backing-off" }) }));
    expect(await run("start", ["--json"], due)).toEqual({
      code: 0,
      out: '{"ok":true,"started":false,"state":"backing-off","pid":null,"startTime":null}\n',
      err: "",
    });
    expect((await run("start", ["--json"], await setUp())).out).toBe('{"ok":true,"started":true,"state":"healthy","pid":5151,"startTime":777}\n');
  });

  it("passes its timeout, takes the restart lock, and fails like restart", async () => {
    const seen: number[] = [];
    const io = await setUp(
      fakeHandler({
        startIfStopped: async (request) => {
          seen.push(request.timeoutMs);
          return { ok: false, layer: "busy", message: "a stop is under way" };
        },
      }),
    );
    expect(await run("start", ["--timeout", "7"], io)).toEqual({ code: 3, out: "", err: "start failed (busy): a stop is under way\n" });
    expect(seen[0]).toBeGreaterThan(6_000);
    expect(seen[0]).toBeLessThanOrEqual(7_000);
    expect((await run("start", ["--timeout", "0"], await setUp())).code).toBe(2);
  });
});

describe("supervisor stop", () => {
  it("prints stopped, exit 0; progress on stderr", async () => {
    expect(await run("stop", [], await setUp())).toEqual({ code: 0, out: "stopped\n", err: "stop: SIGTERM to gateway pid 4242\n" });
    expect(await run("stop", ["--json"], await setUp())).toEqual({ code: 0, out: '{"ok":true}\n', err: "" });
  });

  it("fails like restart", async () => {
    const busy = await setUp(fakeHandler({ stop: async () => ({ ok: false, layer: "busy", message: "a restart is under way" }) }));
    expect(await run("stop", [], busy)).toEqual({ code: 3, out: "", err: "stop failed (busy): a restart is under way\n" });
  });
});

describe("usage", () => {
  it("exits 2 with one line and the hint, before contacting anything", async () => {
    let asked = 0;
    const io = await setUp(
      fakeHandler({
        status: () => (asked++, REPORT),
        restart: async () => (asked++, { ok: true, gateway: null }),
      }),
    );
    const cases: Array<[ControlCommandName, string[], string]> = [
      ["restart", ["--timeout", "0"], "restart: --timeout '0': expected a whole number of seconds from 1 to 3600"],
      ["restart", ["--expect-pid", "5"], "restart: --expect-pid and --expect-start-time go together"],
      ["status", ["--verbos"], "status: unknown option '--verbos', did you mean '--verbose'?"],
      ["health", ["now"], "health: unexpected argument 'now', expected no arguments"],
    ];
    for (const [command, args, message] of cases) {
      const each = captureIO(join(io.socketPath, ".."));
      const result = await run(command, args, each);
      expect(result.code).toBe(2);
      expect(result.out).toBe("");
      expect(result.err.startsWith(`supervisor: ${message}`)).toBe(true);
      expect(result.err.endsWith(`\nTry 'supervisor ${command} --help'.\n`)).toBe(true);
      expect(result.err.split("\n")).toHaveLength(3);
    }
    expect(asked).toBe(0);
    expect(existsSync(io.lockPath)).toBe(false);
  });

  it("prints the usage for --help", async () => {
    expect(await run("stop", ["--help"], captureIO(freshRunDir()))).toEqual({ code: 0, out: "USAGE\n", err: "" });
  });
});

describe("the command entry point (bundled, as run in a container)", () => {
  // Outside the 0700 scratch directory, so that an unprivileged child can read the bundle.
  let binDir = "";
  let bundle = "";
  let emptyConfig = "";
  afterAll(() => rmSync(binDir, { recursive: true, force: true }));
  beforeAll(() => {
    binDir = mkdtempSync(join(tmpdir(), "control-bin-"));
    bundle = join(binDir, "control.cjs");
    emptyConfig = join(binDir, "config.json");
    const entry = join(binDir, "entry.ts");
    writeFileSync(
      entry,
      `import { runControlCommandLine } from ${JSON.stringify(join(ROOT, "supervisor/control/commands.ts"))};
       runControlCommandLine(process.argv.slice(2));`,
    );
    buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", outfile: bundle, logLevel: "error" });
    writeFileSync(emptyConfig, "{}\n");
    chmodSync(binDir, 0o755);
    chmodSync(bundle, 0o644);
    chmodSync(emptyConfig, 0o644);
  });

  function cli(args: string[], env: NodeJS.ProcessEnv, uid?: number): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((done) => {
      const child = spawn(process.execPath, [bundle, ...args], {
        env: { PATH: process.env.PATH, SUPERVISOR_CONFIG: emptyConfig, ...env },
        stdio: ["ignore", "pipe", "pipe"],
        ...(uid === undefined ? {} : { uid, gid: uid }),
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (err += chunk));
      child.on("close", (code) => done({ code, out, err }));
    });
  }

  it("finds the socket through the settings (SUPERVISOR_RUN_DIR)", async () => {
    const io = await setUp();
    const runDir = join(io.socketPath, "..");
    const result = await cli(["status", "--json"], { SUPERVISOR_RUN_DIR: runDir });
    expect(result).toEqual({ code: 0, out: `${JSON.stringify({ ...REPORT, ok: true })}\n`, err: "" });
    expect((await cli(["health"], { SUPERVISOR_RUN_DIR: runDir })).code).toBe(0);
    expect(await cli(["restart", "--json"], { SUPERVISOR_RUN_DIR: runDir })).toEqual({
      code: 0,
      out: '{"ok":true,"pid":5151,"startTime":777}\n',
      err: "",
    });
  });

  it("releases the restart lock when interrupted, without cancelling the supervisor's restart", async () => {
    let asked = 0;
    let finished = false;
    const io = await setUp(
      fakeHandler({
        async restart() {
          asked++;
          await sleep(500);
          finished = true;
          return { ok: true, gateway: NEW_GATEWAY };
        },
      }),
    );
    const child = spawn(process.execPath, [bundle, "restart"], {
      env: { PATH: process.env.PATH, SUPERVISOR_CONFIG: emptyConfig, SUPERVISOR_RUN_DIR: join(io.socketPath, "..") },
      stdio: "ignore",
    });
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((done) => child.once("exit", (_code, signal) => done(signal)));
    while (asked === 0) await sleep(10);
    expect(existsSync(`${io.lockPath}.lock`)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe("SIGINT");
    expect(existsSync(`${io.lockPath}.lock`)).toBe(false);
    expect(finished).toBe(false);
    await sleep(600);
    expect(finished).toBe(true);
  });

  it("exits 78 on bad settings and 2 on usage errors, usage first", async () => {
    expect(await cli(["status"], { SUPERVISOR_RUN_DIR: "relative" })).toEqual({
      code: 78,
      out: "",
      err: '[supervisor] SUPERVISOR_RUN_DIR="relative": expected an absolute path\n',
    });
    const usage = await cli(["status", "--bogus"], { SUPERVISOR_RUN_DIR: "relative" });
    expect(usage.code).toBe(2);
    expect(usage.err).toBe("supervisor: status: unknown option '--bogus', expected one of --json, --verbose, --quiet\nTry 'supervisor status --help'.\n");
    const json = await cli(["status", "--json", "--bogus"], { SUPERVISOR_RUN_DIR: "relative" });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toEqual({ ok: false, layer: "usage", message: "status: unknown option '--bogus', expected one of --json, --verbose, --quiet" });
    const settings = await cli(["status", "--json"], { SUPERVISOR_RUN_DIR: "relative" });
    expect(settings.code).toBe(78);
    expect(JSON.parse(settings.out)).toEqual({ ok: false, layer: "settings", message: 'SUPERVISOR_RUN_DIR="relative": expected an absolute path' });
  });

  it.runIf(process.geteuid?.() === 0)("tells a non-root caller to run as root (exit 4)", async () => {
    const io = await setUp();
    const runDir = join(io.socketPath, "..");
    const status = await cli(["status"], { SUPERVISOR_RUN_DIR: runDir }, 65534);
    expect(status).toEqual({
      code: 4,
      out: "",
      err: `status failed (unavailable): permission denied on ${io.socketPath} (ask as its owner: docker exec --user root ..., or the container's own user in non-root mode)\n`,
    });
    const restart = await cli(["restart"], { SUPERVISOR_RUN_DIR: runDir }, 65534);
    expect(restart).toEqual({
      code: 4,
      out: "",
      err: `restart failed (unavailable): permission denied on ${io.lockPath} (ask as its owner: docker exec --user root ..., or the container's own user in non-root mode)\n`,
    });
  });
});
