// The test gateway is what supervision tests supervise: each behaviour they rely on is pinned
// here against the real process.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Started } from "../helpers/pid1.js";

const SERVER = resolve(import.meta.dirname, "server.js");
const TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const LISTENING = /\[test-gateway\] listening on 127\.0\.0\.1:(\d+) pid (\d+)\n/;

const scratch = mkdtempSync(join(tmpdir(), "test-gateway-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Everything a test starts is killed afterwards, whatever the test did.
const started: Started[] = [];
const strayPids: number[] = [];
afterEach(() => {
  for (const gateway of started.splice(0)) killGroup(gateway.process.pid!);
  for (const pid of strayPids.splice(0)) killQuietly(pid);
});

function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const killGroup = (pid: number): void => killQuietly(-pid);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

/** A free loopback port whose successor is free too (daemon-child listens on port+1). */
async function freePort(): Promise<number> {
  for (;;) {
    const probe = createServer();
    const port = await new Promise<number>((done) =>
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => done(typeof address === "object" && address ? address.port : 0));
      }),
    );
    if (port > 0 && port < 65535 && (await portIsFree(port + 1))) return port;
  }
}

/** The gateway as its own process group, like the supervisor starts it; only PATH plus `env`. */
function startGateway(args: string[], env: Record<string, string> = { OPENCLAW_GATEWAY_TOKEN: TOKEN }): Started {
  const child = spawn(process.execPath, [SERVER, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", OPENCLAW_CONFIG: join(scratch, "absent.json"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const gateway = new Started(child, async (signal) => {
    process.kill(child.pid!, signal);
  });
  started.push(gateway);
  return gateway;
}

async function startListening(env?: Record<string, string>): Promise<{ gateway: Started; port: number }> {
  const port = await freePort();
  const gateway = startGateway(["gateway", "run", "--port", String(port)], env);
  await gateway.waitForOutput(LISTENING, 10_000);
  return { gateway, port };
}

interface Reply {
  status: number;
  body: string;
}

/**
 * One HTTP request on a fresh connection. Fails with code ECONNREFUSED when nothing listens, and
 * with NO_ANSWER when the connection was accepted but no response came within timeoutMs.
 */
function request(
  port: number,
  path: string,
  options: { token?: string; method?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        agent: false,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => done({ status: res.statusCode ?? 0, body }));
      },
    );
    let connected = false;
    req.on("socket", (socket) => socket.on("connect", () => (connected = true)));
    req.setTimeout(options.timeoutMs ?? 5_000, () =>
      req.destroy(Object.assign(new Error("no answer"), { code: connected ? "NO_ANSWER" : "NO_CONNECTION" })),
    );
    req.on("error", fail);
    req.end();
  });
}

const failureCode = (pending: Promise<unknown>): Promise<unknown> =>
  pending.then(
    () => "answered",
    (err: NodeJS.ErrnoException) => err.code,
  );

const json = (reply: Reply): unknown => JSON.parse(reply.body);

describe("health and identity", () => {
  it("answers /health 200 with the token and 401 without or with a wrong one", async () => {
    const { gateway, port } = await startListening();
    const pid = gateway.process.pid!;
    expect(gateway.stdout).toMatch(new RegExp(`listening on 127\\.0\\.0\\.1:${port} pid ${pid}\\n`));
    const ok = await request(port, "/health", { token: TOKEN });
    expect(ok.status).toBe(200);
    expect(json(ok)).toEqual({ ok: true, pid });
    expect((await request(port, "/health")).status).toBe(401);
    expect((await request(port, "/health", { token: "wrong" })).status).toBe(401);
    expect((await request(port, "/whoami")).status).toBe(401);
    expect(gateway.stdout).not.toContain(TOKEN);
  });

  it("listens on 127.0.0.1 only", async () => {
    const { port } = await startListening();
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    const listeners = ["/proc/net/tcp", "/proc/net/tcp6"]
      .flatMap((file) => readFileSync(file, "utf8").trim().split("\n").slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "0A")
      .map((fields) => fields[1]);
    expect(listeners).toEqual([`0100007F:${hexPort}`]);
  });

  it("whoami with the token from the environment", async () => {
    const { gateway, port } = await startListening({
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      NODE_OPTIONS: "--max-old-space-size=128",
    });
    const reply = await request(port, "/whoami", { token: TOKEN });
    expect(json(reply)).toEqual({
      pid: gateway.process.pid,
      uid: process.getuid!(),
      gid: process.getgid!(),
      groups: expect.arrayContaining([process.getgid!()]) as unknown,
      tokenSource: "env",
      nodeOptions: "--max-old-space-size=128",
      hasTokenEnv: true,
      preloadsActive: false,
    });
  });

  it("whoami with the token from the config file, and `--port=N` without `gateway run`", async () => {
    const config = join(scratch, "openclaw.json");
    writeFileSync(config, JSON.stringify({ gateway: { auth: { token: TOKEN } } }));
    const port = await freePort();
    const gateway = startGateway([`--port=${port}`], { OPENCLAW_CONFIG: config });
    await gateway.waitForOutput(LISTENING, 10_000);
    const reply = await request(port, "/whoami", { token: TOKEN });
    expect(json(reply)).toMatchObject({ tokenSource: "config", hasTokenEnv: false, nodeOptions: null });
  });

  it("reports whether the preload guards saw the gateway marker", async () => {
    const safetyNet = join(scratch, "nemoclaw-sandbox-safety-net.js");
    writeFileSync(safetyNet, readFileSync(resolve(import.meta.dirname, "../../preloads/sandbox-safety-net.js")));
    const { gateway, port } = await startListening({
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      NODE_OPTIONS: `--require ${safetyNet}`,
      NEMOCLAW_GATEWAY: "1",
    });
    expect(json(await request(port, "/whoami", { token: TOKEN }))).toMatchObject({ preloadsActive: true });
    expect(gateway.stderr).toMatch(/^\[preload\] sandbox-safety-net active/);
  });

  it.each([
    ["no token anywhere", () => ({})],
    ["an empty token variable", () => ({ OPENCLAW_GATEWAY_TOKEN: "" })],
    [
      "a config without gateway.auth.token",
      () => {
        const config = join(scratch, "no-token.json");
        writeFileSync(config, JSON.stringify({ gateway: { auth: {} } }));
        return { OPENCLAW_CONFIG: config };
      },
    ],
  ])("exits 78 with %s", async (_name, makeEnv: () => Record<string, string>) => {
    const gateway = startGateway(["gateway", "run", "--port", String(await freePort())], makeEnv());
    const finished = await gateway.finished;
    expect(finished.status).toBe(78);
    expect(finished.stdout).toMatch(/^\[test-gateway\] no token configured \(.+\): exit 78\n$/m);
    expect(finished.stdout).not.toMatch(LISTENING);
  });

  it("exits 64 on an unknown mode", async () => {
    const gateway = startGateway(["--port", String(await freePort())], {
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "explode",
    });
    expect((await gateway.finished).status).toBe(64);
  });
});

describe("fault modes", () => {
  it("crash from the environment: exit 1 before listening", async () => {
    const gateway = startGateway(["--port", String(await freePort())], {
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "crash",
    });
    const finished = await gateway.finished;
    expect(finished.status).toBe(1);
    expect(finished.stdout).not.toMatch(LISTENING);
  });

  it("crash with TEST_GATEWAY_DELAY_MS: listens, then exits 1", async () => {
    const { gateway } = await startListening({
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "crash",
      TEST_GATEWAY_DELAY_MS: "300",
    });
    expect((await gateway.finished).status).toBe(1);
  });

  it("exit0 from the environment: exit 0", async () => {
    const gateway = startGateway(["--port", String(await freePort())], {
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "exit0",
    });
    expect((await gateway.finished).status).toBe(0);
  });

  it.each([
    ["crash", 1],
    ["exit0", 0],
  ])("POST /control/%s answers, then exits %i", async (action, status) => {
    const { gateway, port } = await startListening();
    const reply = await request(port, `/control/${action}`, { token: TOKEN, method: "POST" });
    expect(json(reply)).toEqual({ ok: true, action, pid: gateway.process.pid });
    expect((await gateway.finished).status).toBe(status);
  });

  it("control needs the token and POST", async () => {
    const { gateway, port } = await startListening();
    expect((await request(port, "/control/crash", { method: "POST" })).status).toBe(401);
    expect((await request(port, "/control/crash", { token: TOKEN })).status).toBe(405);
    expect((await request(port, "/control/nope", { token: TOKEN, method: "POST" })).status).toBe(404);
    expect(isAlive(gateway.process.pid!)).toBe(true);
  });

  it("hang: connections are accepted, requests never answered", async () => {
    const { gateway, port } = await startListening();
    await request(port, "/control/hang", { token: TOKEN, method: "POST" });
    expect(await failureCode(request(port, "/health", { token: TOKEN, timeoutMs: 1_000 }))).toBe("NO_ANSWER");
    expect(isAlive(gateway.process.pid!)).toBe(true);
  });

  it("hang from the environment", async () => {
    const { port } = await startListening({ OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_MODE: "hang" });
    expect(await failureCode(request(port, "/health", { token: TOKEN, timeoutMs: 1_000 }))).toBe("NO_ANSWER");
  });

  it("deaf: connection refused while the process lives on", async () => {
    const { gateway, port } = await startListening();
    await request(port, "/control/deaf", { token: TOKEN, method: "POST" });
    await gateway.waitForOutput(/deaf: listener closed/);
    expect(await failureCode(request(port, "/health", { token: TOKEN }))).toBe("ECONNREFUSED");
    await sleep(300);
    expect(isAlive(gateway.process.pid!)).toBe(true);
    expect(await failureCode(request(port, "/health", { token: TOKEN }))).toBe("ECONNREFUSED");
  });

  it("slow-start: nothing listens until TEST_GATEWAY_START_DELAY_MS has passed", async () => {
    const port = await freePort();
    const begin = Date.now();
    const gateway = startGateway(["--port", String(port)], {
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "slow-start",
      TEST_GATEWAY_START_DELAY_MS: "800",
    });
    await gateway.waitForOutput(/slow-start: listening in 800 ms/);
    expect(await failureCode(request(port, "/health", { token: TOKEN }))).toBe("ECONNREFUSED");
    await gateway.waitForOutput(LISTENING);
    expect(Date.now() - begin).toBeGreaterThanOrEqual(800);
    expect((await request(port, "/health", { token: TOKEN })).status).toBe(200);
  });

  it.each(["control", "environment"])(
    "daemon-child (%s): the grandchild outlives the gateway's process group and keeps listening on port+1",
    async (how) => {
      const env =
        how === "environment" ? { OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_MODE: "daemon-child" } : undefined;
      const { gateway, port } = await startListening(env);
      let childPid: number;
      if (how === "control") {
        const reply = json(await request(port, "/control/daemon-child", { token: TOKEN, method: "POST" }));
        childPid = (reply as { childPid: number }).childPid;
      } else {
        await gateway.waitForOutput(/daemon-child pid \d+ listening/);
        childPid = Number(/daemon-child pid (\d+) listening/.exec(gateway.stdout)![1]);
      }
      strayPids.push(childPid);
      expect(gateway.stdout).toContain(`daemon-child pid ${childPid} listening on 127.0.0.1:${port + 1}\n`);
      killGroup(gateway.process.pid!);
      expect((await gateway.finished).signal).toBe("SIGKILL");
      expect(isAlive(childPid)).toBe(true);
      const reply = await request(port + 1, "/");
      expect(reply.body).toBe("daemon-child\n");
    },
  );
});

describe("SIGTERM", () => {
  it("by default closes the server and exits 0", async () => {
    const { gateway } = await startListening();
    await gateway.signal("SIGTERM");
    const finished = await gateway.finished;
    expect(finished.status).toBe(0);
    expect(finished.stdout).toContain("[test-gateway] SIGTERM: server closed: exit 0\n");
  });

  it("exits 0 even with a hung request open, and when deaf", async () => {
    const hung = await startListening();
    await request(hung.port, "/control/hang", { token: TOKEN, method: "POST" });
    const pending = failureCode(request(hung.port, "/health", { token: TOKEN, timeoutMs: 10_000 }));
    await sleep(100);
    await hung.gateway.signal("SIGTERM");
    expect((await hung.gateway.finished).status).toBe(0);
    expect(await pending).toBe("ECONNRESET");

    const deaf = await startListening();
    await request(deaf.port, "/control/deaf", { token: TOKEN, method: "POST" });
    await deaf.gateway.signal("SIGTERM");
    expect((await deaf.gateway.finished).status).toBe(0);
  });

  it("ignore-term: SIGTERM changes nothing", async () => {
    const { gateway, port } = await startListening({
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      TEST_GATEWAY_MODE: "ignore-term",
    });
    await gateway.signal("SIGTERM");
    await gateway.waitForOutput(/SIGTERM: ignored/);
    await sleep(200);
    expect((await request(port, "/health", { token: TOKEN })).status).toBe(200);
    expect(isAlive(gateway.process.pid!)).toBe(true);
  });

  it("exit0-on-term (set at run time): exits 0 at once", async () => {
    const { gateway, port } = await startListening();
    await request(port, "/control/exit0-on-term", { token: TOKEN, method: "POST" });
    await gateway.signal("SIGTERM");
    const finished = await gateway.finished;
    expect(finished.status).toBe(0);
    expect(finished.stdout).toContain("[test-gateway] SIGTERM: exit 0\n");
  });
});

describe("OpenClaw's probes, drain and in-process restart", () => {
  it("answers /healthz, /startupz and /readyz without the token, in OpenClaw's shapes; starting for TEST_GATEWAY_STARTUP_MS", async () => {
    const { port } = await startListening({ OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_STARTUP_MS: "600" });
    expect(json(await request(port, "/healthz"))).toEqual({ ok: true, status: "live" });
    const starting = await request(port, "/startupz");
    expect([starting.status, json(starting)]).toEqual([503, { ok: false, status: "starting", pendingReason: "startup-sidecars" }]);
    expect((await request(port, "/readyz")).status).toBe(503);
    await sleep(700);
    const started = await request(port, "/startupz");
    expect([started.status, json(started)]).toEqual([200, { ok: true, status: "started" }]);
    const ready = await request(port, "/readyz");
    expect([ready.status, json(ready)]).toEqual([200, { ready: true, failing: [] }]);
  });

  it("not-ready: /readyz names a failing channel while startup says started", async () => {
    const { port } = await startListening({ OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_MODE: "not-ready" });
    const readiness = await request(port, "/readyz");
    expect([readiness.status, json(readiness)]).toEqual([503, { ready: false, failing: ["channel:test"] }]);
    expect((await request(port, "/startupz")).status).toBe(200);
    await request(port, "/control/ready", { token: TOKEN, method: "POST" });
    expect((await request(port, "/readyz")).status).toBe(200);
  });

  it("drain: on SIGTERM a request in flight completes, new ones get 503, then it exits 0", async () => {
    const { gateway, port } = await startListening({ OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_MODE: "drain" });
    const inFlight = request(port, "/slow?ms=1500", { token: TOKEN });
    await gateway.waitForOutput(/slow request: answering in 1500 ms/);
    await gateway.signal("SIGTERM");
    await sleep(100);
    expect(json(await request(port, "/startupz"))).toMatchObject({ status: "draining" });
    expect((await request(port, "/health", { token: TOKEN })).status).toBe(503);
    expect(await inFlight).toMatchObject({ status: 200 });
    const finished = await gateway.finished;
    expect(finished.status).toBe(0);
    expect(finished.stdout).toContain("SIGTERM: drained, server closed: exit 0");
  });

  it("restart-in-process (SIGUSR2): the listener goes away and comes back under the same pid", async () => {
    const { gateway, port } = await startListening({ OPENCLAW_GATEWAY_TOKEN: TOKEN, TEST_GATEWAY_RESTART_MS: "800" });
    await gateway.signal("SIGUSR2");
    await gateway.waitForOutput(/restarting in process: computing 800 ms/);
    expect(await failureCode(request(port, "/healthz"))).toBe("ECONNREFUSED");
    await gateway.waitForOutput(new RegExp(`listening on 127\\.0\\.0\\.1:${port} pid ${gateway.process.pid}\\n[^]*listening on`), 5000);
    expect(json(await request(port, "/healthz"))).toEqual({ ok: true, status: "live" });
    expect(isAlive(gateway.process.pid!)).toBe(true);
  });
});
