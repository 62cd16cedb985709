import { spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { request } from "../../supervisor/control/client.js";
import { startControlServer, type ControlServer, type ControlServerOptions } from "../../supervisor/control/server.js";
import type { ControlHandler, ControlResult, StatusReport } from "../../supervisor/supervise/control-contract.js";

const scratch = mkdtempSync(join(tmpdir(), "control-server-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const REPORT: StatusReport = {
  state: "healthy",
  gateway: { pid: 4242, startTime: 123456, uid: 999, startedAt: "2025-01-01T00:00:00.000Z", uptimeSeconds: 5 },
  restarts: 0,
  crashes: 0,
  failedBoots: 0,
  inProcessRestarts: 0,
  probationAt: null,
  breaker: { tripped: false, uncleanBoots: 0, windowSeconds: 300 },
  lastExit: null,
  detail: null,
  capabilities: { gatewayKept: [], supervisorKept: [] },
  mode: "root",
  posture: "locked",
  readiness: { ready: true, failing: [] },
  drain: null,
};

const NEW_GATEWAY = { pid: 5151, startTime: 999, uid: 999 };

/** A supervise loop stand-in: restart reports two steps, then succeeds. */
function fakeHandler(overrides: Partial<ControlHandler> = {}): ControlHandler {
  return {
    async restart(_request, progress) {
      progress("stopping gateway pid 4242");
      await sleep(20);
      progress("launching gateway");
      await sleep(20);
      return { ok: true, gateway: NEW_GATEWAY };
    },
    async startIfStopped() {
      return { ok: true, gateway: NEW_GATEWAY };
    },
    async stop() {
      return { ok: true, gateway: null };
    },
    status: () => REPORT,
    ...overrides,
  };
}

let counter = 0;
const servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: ControlHandler, options: ControlServerOptions = {}): Promise<{ server: ControlServer; path: string; logged: string[] }> {
  const path = join(scratch, `case-${++counter}`, "run", "control.sock");
  mkdirSync(join(scratch, `case-${counter}`));
  const logged: string[] = [];
  const server = await startControlServer(path, handler, { log: (line) => logged.push(line), ...options });
  servers.push(server);
  return { server, path, logged };
}

/** Connects, sends `data` as is, and collects what comes back until the server closes. */
function raw(path: string, data: string | Buffer, waitMs = 5_000): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    const socket = createConnection(path);
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ lines: text.split("\n").filter((line) => line !== ""), closed });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on("error", () => {});
    socket.on("connect", () => {
      if (data.length > 0) socket.write(data);
    });
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("close", () => done(true));
  });
}

async function status(path: string): Promise<unknown> {
  return request(path, { op: "status" }, () => {});
}

describe("control server: answers", () => {
  it("delivers restart progress lines in order, then the result", async () => {
    const seen: Array<{ timeoutMs: number; expect?: unknown }> = [];
    const { path } = await serve(
      fakeHandler({
        async restart(req, progress) {
          seen.push(req);
          progress("stopping gateway pid 4242");
          await sleep(20);
          progress("launching gateway");
          return { ok: true, gateway: NEW_GATEWAY };
        },
      }),
    );
    const progress: string[] = [];
    const final = await request(path, { op: "restart", timeoutMs: 30_000, expect: { pid: 4242, startTime: 123456 } }, (m) => progress.push(m));
    expect(progress).toEqual(["stopping gateway pid 4242", "launching gateway"]);
    expect(final).toEqual({ result: { ok: true, gateway: NEW_GATEWAY } });
    expect(seen).toEqual([{ timeoutMs: 30_000, expect: { pid: 4242, startTime: 123456 } }]);
  });

  it("answers status and health with the handler's report, and stop with its result", async () => {
    const { path } = await serve(fakeHandler());
    expect(await status(path)).toEqual({ status: REPORT });
    expect(await request(path, { op: "health" }, () => {})).toEqual({ status: REPORT });
    expect(await request(path, { op: "stop" }, () => {})).toEqual({ result: { ok: true, gateway: null } });
  });

  it("answers 20 concurrent status requests", async () => {
    const { path } = await serve(fakeHandler());
    const answers = await Promise.all(Array.from({ length: 20 }, () => status(path)));
    expect(answers).toHaveLength(20);
    for (const answer of answers) expect(answer).toEqual({ status: REPORT });
  });

  it("turns handler failures into unavailable answers (thrown, rejected, status)", async () => {
    const { path } = await serve(
      fakeHandler({
        restart() {
          throw new Error("setpriv exploded\nsecond line");
        },
        stop: () => Promise.reject(new Error("stop went wrong")),
        status() {
          throw new Error("no report");
        },
      }),
    );
    expect(await request(path, { op: "restart", timeoutMs: 1000 }, () => {})).toEqual({
      result: { ok: false, layer: "unavailable", message: "the supervisor failed to handle the request: setpriv exploded" },
    });
    expect(await request(path, { op: "stop" }, () => {})).toEqual({
      result: { ok: false, layer: "unavailable", message: "the supervisor failed to handle the request: stop went wrong" },
    });
    expect(await status(path)).toEqual({
      result: { ok: false, layer: "unavailable", message: "the supervisor failed to report its status: no report" },
    });
  });

  it("answers unavailable when the handler's result cannot be encoded", async () => {
    const { path } = await serve(fakeHandler({ restart: async () => ({ ok: true, gateway: { pid: 1n } }) as never }));
    const final = await request(path, { op: "restart", timeoutMs: 1000 }, () => {});
    expect(final).toMatchObject({ result: { ok: false, layer: "unavailable" } });
    expect(await status(path)).toEqual({ status: REPORT });
  });

  it("passes a failed layer through unchanged", async () => {
    const failed: ControlResult = { ok: false, layer: "guards missing", message: "refusing unguarded gateway relaunch" };
    const { path } = await serve(fakeHandler({ restart: async () => failed }));
    expect(await request(path, { op: "restart", timeoutMs: 1000 }, () => {})).toEqual({ result: failed });
  });

  it("answers a client that half-closes after its request line", async () => {
    const { path } = await serve(fakeHandler());
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      const socket = createConnection(path, () => socket.end('{"op":"restart","timeoutMs":1000}\n'));
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
    });
    expect(answer.trim().split("\n").map((line) => JSON.parse(line))).toEqual([
      { progress: "stopping gateway pid 4242" },
      { progress: "launching gateway" },
      { result: { ok: true, gateway: NEW_GATEWAY } },
    ]);
  });
});

describe("control server: abuse", () => {
  it("answers a garbage line with bad request and serves the next client", async () => {
    const { path, logged } = await serve(fakeHandler());
    const answer = await raw(path, "GET / HTTP/1.1\r\n\r\n");
    expect(answer.closed).toBe(true);
    expect(answer.lines.map((line) => JSON.parse(line))).toEqual([
      { result: { ok: false, layer: "bad request", message: 'request is not valid JSON: expected one line like {"op":"status"}' } },
    ]);
    expect(logged).toEqual(["control: rejected request: request is not valid JSON: expected one line like {\"op\":\"status\"}"]);
    expect(await status(path)).toEqual({ status: REPORT });
  });

  it("answers an invalid request with what was wrong", async () => {
    const { path } = await serve(fakeHandler());
    const answer = await raw(path, '{"op":"restart","timeoutMs":0}\n');
    expect(JSON.parse(answer.lines[0]!)).toEqual({
      result: { ok: false, layer: "bad request", message: "timeoutMs must be an integer from 1 to 3600000 (milliseconds), got 0" },
    });
  });

  it("closes a 1 MiB line without a newline as a bad request and stays up", async () => {
    const { path } = await serve(fakeHandler());
    const answer = await raw(path, Buffer.alloc(1024 * 1024, "a"));
    expect(answer.closed).toBe(true);
    expect(answer.lines.map((line) => JSON.parse(line))).toEqual([
      { result: { ok: false, layer: "bad request", message: "request line longer than 65536 bytes" } },
    ]);
    expect(await status(path)).toEqual({ status: REPORT });
  });

  it("accepts a request line of exactly the limit and refuses one byte more", async () => {
    const { path } = await serve(fakeHandler(), { maxRequestBytes: 64 });
    const exact = `{"op":"status"}${" ".repeat(64 - 15)}`;
    expect((await raw(path, `${exact}\n`)).lines.map((l) => JSON.parse(l))).toEqual([{ status: REPORT }]);
    const over = await raw(path, `${exact} \n`);
    expect(JSON.parse(over.lines[0]!).result.message).toBe("request line longer than 64 bytes");
  });

  it("closes a connection that sends nothing after the idle limit", async () => {
    const { path } = await serve(fakeHandler(), { idleMs: 200 });
    const started = Date.now();
    const answer = await raw(path, "");
    expect(answer.closed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(JSON.parse(answer.lines[0]!)).toEqual({
      result: { ok: false, layer: "bad request", message: "no complete request line within 0.2 s" },
    });
  });

  it("closes a connection that never finishes its line after the idle limit", async () => {
    const { path } = await serve(fakeHandler(), { idleMs: 200 });
    const answer = await raw(path, '{"op":"sta');
    expect(answer.closed).toBe(true);
    expect(JSON.parse(answer.lines[0]!).result.message).toBe("no complete request line within 0.2 s");
  });

  it("refuses a request that ends without its newline", async () => {
    const { path } = await serve(fakeHandler());
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      const socket = createConnection(path, () => socket.end('{"op":"status"}'));
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
    });
    expect(JSON.parse(answer).result).toEqual({
      ok: false,
      layer: "bad request",
      message: "connection closed before a complete request line (a request ends with a newline)",
    });
  });

  it("lets a restart finish when its client disconnects halfway, and keeps serving", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let completed = false;
    const { path } = await serve(
      fakeHandler({
        async restart(_req, progress) {
          progress("stopping gateway pid 4242");
          await gate;
          progress("launching gateway"); // the client is gone by now
          completed = true;
          return { ok: true, gateway: NEW_GATEWAY };
        },
      }),
    );
    await new Promise<void>((resolve) => {
      const socket = createConnection(path, () => socket.write('{"op":"restart","timeoutMs":60000}\n'));
      socket.on("data", () => {
        socket.destroy();
        resolve();
      });
    });
    await sleep(50);
    release();
    await sleep(50);
    expect(completed).toBe(true);
    expect(await status(path)).toEqual({ status: REPORT });
  });

  it("answers busy beyond the connection limit and serves again once connections close", async () => {
    const { path, logged } = await serve(fakeHandler(), { maxConnections: 2, idleMs: 60_000 });
    const idle = [createConnection(path), createConnection(path)];
    await Promise.all(idle.map((socket) => new Promise((resolve) => socket.once("connect", resolve))));
    await sleep(50);
    expect(await status(path)).toEqual({
      result: { ok: false, layer: "busy", message: "the supervisor is already serving 2 control requests; try again" },
    });
    expect(logged).toContain("control: rejected request: busy (2 connections already open)");
    for (const socket of idle) socket.destroy();
    await sleep(50);
    expect(await status(path)).toEqual({ status: REPORT });
  });

  it("logs at most one line per interval about rejected requests, with a count", async () => {
    const { server, path, logged } = await serve(fakeHandler(), { logIntervalMs: 60_000 });
    await Promise.all(Array.from({ length: 30 }, () => raw(path, "garbage\n")));
    expect(logged).toHaveLength(1);
    await server.close();
    expect(logged).toHaveLength(2);
    expect(logged[1]).toMatch(/^control: rejected request: request is not valid JSON.* \(and 28 more in the last 60 s\)$/);
  });
});

describe("control server: socket file", () => {
  it("creates the directory 0700 and the socket 0600, and removes the socket on close", async () => {
    const { server, path } = await serve(fakeHandler());
    const dir = lstatSync(join(path, ".."));
    expect(dir.isDirectory()).toBe(true);
    expect(dir.mode & 0o7777).toBe(0o700);
    expect(dir.uid).toBe(process.geteuid!());
    const socket = lstatSync(path);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o7777).toBe(0o600);
    await server.close();
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });

  it("repairs a directory of its own with a wider mode, and moves a symlink in its place aside, so the socket is always there", async () => {
    const base = join(scratch, `case-${++counter}`);
    mkdirSync(join(base, "open"), { recursive: true });
    chmodSync(join(base, "open"), 0o755);
    const repaired = await startControlServer(join(base, "open", "control.sock"), fakeHandler());
    expect(lstatSync(join(base, "open")).mode & 0o7777).toBe(0o700);
    await repaired.close();
    mkdirSync(join(base, "real"), { mode: 0o755 });
    symlinkSync(join(base, "real"), join(base, "link"));
    const moved = await startControlServer(join(base, "link", "control.sock"), fakeHandler());
    expect(lstatSync(join(base, "link")).isDirectory()).toBe(true);
    expect(lstatSync(join(base, "real")).mode & 0o7777).toBe(0o755);
    expect(readdirSync(base).some((name) => name.startsWith(".link.untrusted-"))).toBe(true);
    await moved.close();
  });

  it("refuses to replace a file that is not a socket", async () => {
    const base = join(scratch, `case-${++counter}`);
    mkdirSync(join(base, "run"), { recursive: true, mode: 0o700 });
    const path = join(base, "run", "control.sock");
    writeFileSync(path, "precious");
    await expect(startControlServer(path, fakeHandler())).rejects.toThrow(
      `refusing to replace ${path}: it is a regular file, not a socket; remove it`,
    );
    expect(readFileSync(path, "utf8")).toBe("precious");
  });

  it("replaces the stale socket of a dead supervisor but not a live one", async () => {
    const base = join(scratch, `case-${++counter}`);
    mkdirSync(join(base, "run"), { recursive: true, mode: 0o700 });
    const path = join(base, "run", "control.sock");
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    await expect(startControlServer(path, fakeHandler())).rejects.toThrow(`another process is already serving control socket ${path}`);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await startControlServer(path, fakeHandler(), { log: () => {} });
    servers.push(server);
    expect(await status(path)).toEqual({ status: REPORT });
  });
});

describe("control client", () => {
  it("says what to do when there is no socket", async () => {
    const path = join(scratch, "nowhere", "control.sock");
    expect(await status(path)).toEqual({
      result: { ok: false, layer: "unavailable", message: `supervisor control socket ${path} not found: is PID 1 the sandbox supervisor?` },
    });
  });

  it("gives up when no answer comes in time", async () => {
    const { path } = await serve(fakeHandler({ restart: () => new Promise(() => {}) }));
    const started = Date.now();
    const final = await request(path, { op: "restart", timeoutMs: 1000 }, () => {}, 200);
    expect(final).toEqual({ result: { ok: false, layer: "unavailable", message: "no answer from the supervisor within 0.2 s" } });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reports a connection closed without an answer", async () => {
    const base = join(scratch, `case-${++counter}`);
    mkdirSync(base);
    const path = join(base, "mute.sock");
    const { createServer } = await import("node:net");
    const mute = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => mute.listen(path, resolve));
    try {
      expect(await status(path)).toEqual({
        result: { ok: false, layer: "unavailable", message: "the supervisor closed the connection without an answer" },
      });
    } finally {
      mute.close();
    }
  });
});
