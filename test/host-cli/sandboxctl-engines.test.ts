// sandboxctl (dist/sandboxctl.cjs) against real containers of the test image, once through
// Docker and once through Podman, with the same expectations: every command works the same
// against both engines. stop/start round trip, status of several containers and --all,
// logs' flags, signal's check of PID 1, and `ok` in every --json answer. The Podman half is
// skipped only when podman is absent (the reason is printed); CI installs it.
// Build first: node build.mjs (the image) and node build.mjs --bundle-only (the bundle).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dockerAvailable, waitFor } from "../helpers/docker.js";
import { podmanMissing, testEngine, tracker, waitForLogIn, type EngineName, type TestEngine } from "./engines.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SANDBOXCTL = join(ROOT, "dist", "sandboxctl.cjs");
const LISTENING = "[test-gateway] listening on 127.0.0.1:18789";
const BUILD_TIMEOUT_MS = 15 * 60_000;

const scratch = mkdtempSync(join(tmpdir(), "sandboxctl-engines-"));
/** sandboxctl's XDG_RUNTIME_DIR: its host locks go to <xdg>/sandboxctl. */
const xdg = join(scratch, "xdg");
mkdirSync(xdg, { mode: 0o700 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  kill(signal: NodeJS.Signals): void;
  stdout(): string;
  done: Promise<Ended>;
}

function startSandboxctl(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [SANDBOXCTL, ...args], {
    env: { ...process.env, XDG_RUNTIME_DIR: xdg, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const done = new Promise<Ended>((resolvePromise) => child.on("close", (code) => resolvePromise({ code, stdout, stderr })));
  return { kill: (signal) => child.kill(signal), stdout: () => stdout, done };
}

/** One JSON object per line of stdout, and nothing else there. */
function jsonOf(result: Ended): Record<string, unknown> {
  expect(result.stdout.endsWith("\n") && result.stdout.trim().split("\n").length === 1, result.stdout).toBe(true);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

interface Report {
  state: string;
  mode?: string;
  gateway: { pid: number } | null;
  restarts: number;
}

const podmanWhyNot = podmanMissing();
if (podmanWhyNot !== undefined) console.warn(`[sandboxctl-engines] Podman tests skipped: ${podmanWhyNot}`);

const ENGINES: Array<{ name: EngineName; skip: boolean }> = [
  { name: "docker", skip: !dockerAvailable() },
  { name: "podman", skip: !dockerAvailable() || podmanWhyNot !== undefined },
];

for (const { name, skip } of ENGINES) {
  describe.skipIf(skip)(`sandboxctl --engine ${name}`, () => {
    const engine: TestEngine = testEngine(name);
    const containers = tracker(engine, `ssv-ctl-${name}`);
    afterEach(() => containers.removeAll());
    const sandboxctl = (args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Ended> => startSandboxctl(["--engine", name, ...args], env).done;

    async function status(container: string): Promise<Report> {
      const result = await sandboxctl(["status", container, "--json"]);
      expect(result.code, result.stderr).toBe(0);
      return jsonOf(result) as unknown as Report;
    }

    /** A container of the test image, its gateway healthy. */
    async function sandbox(runArgs: readonly string[] = []): Promise<string> {
      const container = await engine.start(containers.next(), [...runArgs, engine.image()]);
      await waitForLogIn(engine, container, LISTENING);
      await waitFor(async () => (await status(container)).state === "healthy", 30_000, 100);
      return container;
    }

    /** A container of the same image whose PID 1 is sleep, not the supervisor. */
    function plain(runArgs: readonly string[] = []): Promise<string> {
      return engine.start(containers.next(), [...runArgs, "--entrypoint", "/bin/sleep", engine.image(), "600"]);
    }

    beforeAll(() => {
      if (!existsSync(SANDBOXCTL)) throw new Error(`${SANDBOXCTL} not found: run node build.mjs --bundle-only`);
    });

    it(`has the test image`, () => expect(engine.image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

    it("stop and start round-trip: stopped until start, then a new healthy gateway; start leaves a running one alone", async () => {
      const container = await sandbox();
      const before = await status(container);

      const stopped = await sandboxctl(["stop", container]);
      expect([stopped.code, stopped.stdout], stopped.stderr).toEqual([0, "stopped\n"]);
      expect(await status(container)).toMatchObject({ state: "stopped", gateway: null });
      const unhealthy = await sandboxctl(["health", container, "--json"]);
      expect(unhealthy.code).toBe(1);
      expect(jsonOf(unhealthy)).toMatchObject({ ok: true, healthy: false, state: "stopped", pid: null });

      const started = await sandboxctl(["start", container]);
      expect(started.code, started.stderr).toBe(0);
      const pid = Number(/^started: gateway pid (\d+)\n$/.exec(started.stdout)?.[1]);
      expect(started.stderr).toContain(`start: launched gateway pid ${pid}; waiting until it is healthy\n`);
      expect(started.stderr).not.toContain("restart");
      expect(await status(container)).toMatchObject({ state: "healthy", gateway: { pid }, restarts: before.restarts + 1 });

      // Already started: nothing changes.
      const again = await sandboxctl(["start", container, "--json"]);
      expect(again.code, again.stderr).toBe(0);
      expect(jsonOf(again)).toMatchObject({ ok: true, started: false, state: "healthy", pid });
      const text = await sandboxctl(["start", container]);
      expect([text.code, text.stdout]).toEqual([0, `already started: gateway healthy, pid ${pid}\n`]);
      expect(await status(container)).toMatchObject({ gateway: { pid }, restarts: before.restarts + 1 });

      expect(jsonOf(await sandboxctl(["stop", container, "--json"]))).toEqual({ ok: true });
      const json = await sandboxctl(["start", container, "--json"]);
      expect([json.code, json.stderr]).toEqual([0, ""]);
      const answer = jsonOf(json);
      expect(answer).toMatchObject({ ok: true, started: true, state: "healthy", pid: expect.any(Number) });
      expect(await status(container)).toMatchObject({ state: "healthy", gateway: { pid: answer.pid } });
      const quiet = await sandboxctl(["stop", container, "--quiet"]);
      expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, "", ""]);
    });

    it("status --all lists exactly the sandboxes among three sandboxes and one plain container", async () => {
      const label = `ssv-ctl-run=${name}-${process.pid}-${Date.now()}`;
      const sandboxes = await Promise.all([1, 2, 3].map(() => sandbox(["--label", label])));
      const other = await plain(["--label", label]);
      // status --all sorts names as people do (f2 before f10), as the engine lists them.
      const sorted = [...sandboxes].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));

      const table = await sandboxctl(["status", "--all", "--filter", `label=${label}`]);
      expect([table.code, table.stderr]).toEqual([0, ""]);
      const lines = table.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^CONTAINER +STATE +PID +UPTIME +RESTARTS +CRASHES +MODE +DETAIL$/);
      expect(lines.slice(1).map((line) => line.split(/ +/).slice(0, 2))).toEqual(sorted.map((c) => [c, "healthy"]));
      // Every column starts where its header does.
      const pidColumn = lines[0]!.indexOf("PID");
      for (const line of lines.slice(1)) expect(line.slice(pidColumn)).toMatch(/^\d+ /);

      const json = await sandboxctl(["status", "--all", "--filter", `label=${label}`, "--json"]);
      expect([json.code, json.stderr]).toEqual([0, ""]);
      const array = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(array.map((entry) => entry.container)).toEqual(sorted);
      for (const entry of array) expect(entry).toMatchObject({ ok: true, state: "healthy", id: expect.stringMatching(/^[0-9a-f]{64}$/), mode: "root" });

      // Without a filter: other sandboxes of the host may show up, the plain container never.
      const everything = await sandboxctl(["status", "--all", "--json"]);
      const names = (JSON.parse(everything.stdout) as Array<{ container: string }>).map((entry) => entry.container);
      expect(names).toEqual(expect.arrayContaining(sandboxes));
      expect(names).not.toContain(other);

      // Named ones, the plain one among them: its row says why, the exit status too.
      const named = await sandboxctl(["status", sandboxes[0]!, other, "--json"]);
      expect(named.code).toBe(4);
      const [first, second] = JSON.parse(named.stdout) as Array<Record<string, unknown>>;
      expect(first).toMatchObject({ ok: true, container: sandboxes[0], state: "healthy" });
      expect(second).toMatchObject({ ok: false, container: other, layer: "unavailable", message: expect.stringContaining("is PID 1 the sandbox supervisor?") });
    });

    it("logs passes --tail/-n, --timestamps/-t, --since and --follow to the engine", async () => {
      const container = await sandbox();
      const all = await sandboxctl(["logs", container]);
      expect(all.code).toBe(0);
      expect(all.stdout + all.stderr).toContain(LISTENING);
      const last = await sandboxctl(["logs", container, "-n", "1"]);
      expect(last.code).toBe(0);
      expect((last.stdout + last.stderr).trimEnd().split("\n")).toHaveLength(1);
      expect((await sandboxctl(["logs", container, "--tail", "all"])).stdout).toBe(all.stdout);
      const stamped = await sandboxctl(["logs", container, "-t", "--tail", "3"]);
      const stampedLines = (stamped.stdout + stamped.stderr).trimEnd().split("\n");
      expect(stampedLines).toHaveLength(3);
      for (const line of stampedLines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) /);
      const future = await sandboxctl(["logs", container, "--since", "2999-01-01T00:00:00Z"]);
      expect([future.code, future.stdout, future.stderr]).toEqual([0, "", ""]);
      expect((await sandboxctl(["logs", container, "--since", "1h"])).stdout).toContain(LISTENING);

      // --follow: a restart's lines arrive while it runs; Ctrl-C ends it with 130.
      const follow = startSandboxctl(["--engine", name, "logs", container, "--follow", "--tail", "0"]);
      expect((await sandboxctl(["restart", container])).code).toBe(0);
      await waitFor(() => follow.stdout().includes(LISTENING), 30_000, 50);
      follow.kill("SIGINT");
      expect((await follow.done).code).toBe(130);
    });

    it("signal refuses a container whose PID 1 is not the supervisor: exit 4, one line, nothing sent", async () => {
      const other = await plain();
      const refused = await sandboxctl(["signal", other, "HUP"]);
      expect([refused.code, refused.stdout]).toEqual([4, ""]);
      expect(refused.stderr).toBe(`sandboxctl: container ${other} does not run the supervisor as PID 1 (it runs /bin/sleep); SIGHUP was not sent\n`);
      const json = await sandboxctl(["signal", other, "TERM", "--json"]);
      expect(json.code).toBe(4);
      expect(jsonOf(json)).toMatchObject({ ok: false, layer: "unavailable" });
      // sleep dies of a HUP or TERM: still running means nothing was sent.
      expect((await engine.cli(["inspect", "--format", "{{.State.Status}}", other])).stdout.trim()).toBe("running");

      const container = await sandbox();
      const before = await status(container);
      const sent = await sandboxctl(["signal", container, "HUP", "--json"]);
      expect([sent.code, sent.stderr]).toEqual([0, ""]);
      expect(jsonOf(sent)).toEqual({ ok: true, signal: "SIGHUP" });
      await waitFor(async () => {
        const after = await status(container);
        return after.state === "healthy" && after.gateway?.pid !== before.gateway!.pid;
      }, 30_000, 100);
    });

    it("reaches the hardened non-root shape (--user 1000:1000 --cap-drop ALL --read-only --tmpfs /tmp): status and restart", async () => {
      const container = await sandbox(["--user", "1000:1000", "--cap-drop", "ALL", "--read-only", "--tmpfs", "/tmp", "--security-opt", "no-new-privileges"]);
      const before = await status(container);
      expect(before).toMatchObject({ state: "healthy", mode: "non-root" });
      const restarted = await sandboxctl(["restart", container, "--json"]);
      expect(restarted.code, restarted.stderr).toBe(0);
      const pid = jsonOf(restarted).pid as number;
      expect(pid).not.toBe(before.gateway!.pid);
      expect(await status(container)).toMatchObject({ state: "healthy", gateway: { pid } });
      const table = await sandboxctl(["status", "--all"]);
      expect(table.stdout).toMatch(new RegExp(`^${container} +healthy `, "m"));
    });

    it.runIf(name === "podman")("under the default engine (docker), names a Podman container and the way to reach it", async () => {
      const other = await plain();
      const result = await startSandboxctl(["status", other], { SANDBOXCTL_ENGINE: "" }).done;
      expect([result.code, result.stderr]).toEqual([
        3,
        `sandboxctl: container ${other} is not running (no such container in docker; podman has one by that name: add --engine podman, or set SANDBOXCTL_ENGINE=podman)\n`,
      ]);
      const gone = await startSandboxctl(["status", `${other}-gone`], { SANDBOXCTL_ENGINE: "" }).done;
      expect([gone.code, gone.stderr]).toEqual([3, `sandboxctl: container ${other}-gone is not running (no such container)\n`]);
    });

    it("token answers at once, exit 4, for a container whose PID 1 is not the supervisor", async () => {
      const other = await plain();
      const started = Date.now();
      const refused = await sandboxctl(["token", other]);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect([refused.code, refused.stdout]).toEqual([4, ""]);
      expect(refused.stderr).toBe(`sandboxctl: container ${other} does not run the supervisor as PID 1 (it runs /bin/sleep): it has no gateway token\n`);
    });

    it("answers every success under --json with ok: true, and restart, health, token as with docker", async () => {
      const container = await sandbox();
      const restarted = jsonOf(await sandboxctl(["restart", container, "--json"]));
      expect(restarted).toMatchObject({ ok: true, pid: expect.any(Number) });
      expect(jsonOf(await sandboxctl(["status", container, "--json"]))).toMatchObject({ ok: true, state: "healthy", gateway: { pid: restarted.pid } });
      const healthy = await sandboxctl(["health", container, "--json"]);
      expect(healthy.code).toBe(0);
      expect(jsonOf(healthy)).toEqual({ ok: true, healthy: true, state: "healthy", pid: restarted.pid, detail: null });
      expect(jsonOf(await sandboxctl(["version", "--json"]))).toMatchObject({ ok: true, program: "sandboxctl" });
      expect(jsonOf(await sandboxctl(["help", "logs", "--json"]))).toMatchObject({ ok: true, help: expect.stringContaining("Usage: sandboxctl logs") });

      const text = await sandboxctl(["health", container]);
      expect([text.code, text.stdout]).toEqual([0, `healthy: gateway pid ${String(restarted.pid)}\n`]);
      const token = await sandboxctl(["token", container]);
      expect([token.code, token.stderr]).toEqual([0, ""]);
      expect(token.stdout).toMatch(/^[0-9a-f]{64}\n$/);

      const missing = await sandboxctl(["status", `${container}-gone`]);
      expect([missing.code, missing.stderr]).toEqual([3, `sandboxctl: container ${container}-gone is not running (no such container)\n`]);
      const missingJson = await sandboxctl(["restart", `${container}-gone`, "--json"]);
      expect(missingJson.code).toBe(3);
      expect(jsonOf(missingJson)).toEqual({ ok: false, layer: "not running", message: `container ${container}-gone is not running (no such container)` });
    });

    it(`is chosen by SANDBOXCTL_ENGINE=${name} when --engine is not given`, async () => {
      const container = await sandbox();
      const result = await startSandboxctl(["health", container], { SANDBOXCTL_ENGINE: name }).done;
      expect([result.code, result.stderr]).toEqual([0, ""]);
      const wrong = await startSandboxctl(["health", container, "--json"], { SANDBOXCTL_ENGINE: "lxc" }).done;
      expect(wrong.code).toBe(2);
      expect(jsonOf(wrong)).toEqual({ ok: false, layer: "usage", message: "health: SANDBOXCTL_ENGINE='lxc': expected docker or podman" });
    });
  });
}
