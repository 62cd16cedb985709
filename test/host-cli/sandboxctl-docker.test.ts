// sandboxctl (dist/sandboxctl.cjs, run by the host's node) against real containers of the
// test image: restart, status, health, token, logs, signal; exit statuses for stopped
// containers and images without a supervisor; the host lock; Ctrl-C during a restart; the
// sanitized environments. Build first: node build.mjs (the image) and
// node build.mjs --bundle-only (dist/sandboxctl.cjs).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, startContainer, waitFor } from "../helpers/docker.js";
import { bootGateway as bootGatewayIn, configToken, containerTracker, hostPid, LISTENING, logs, waitForHealthy, waitForLog } from "../helpers/sandbox-container.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SANDBOXCTL = join(ROOT, "dist", "sandboxctl.cjs");
const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-ctl");
const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, runArgs);

const scratch = mkdtempSync(join(tmpdir(), "sandboxctl-"));
/** sandboxctl's XDG_RUNTIME_DIR: its host locks go to <xdg>/sandboxctl. */
const xdg = join(scratch, "xdg");
mkdirSync(xdg, { mode: 0o700 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Slow-starting gateways make a restart last long enough to watch it. */
const slowStart = (ms: number) => ["-e", "TEST_GATEWAY_MODE=slow-start", "-e", `TEST_GATEWAY_START_DELAY_MS=${ms}`];

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  endedAt: number;
}

interface Running {
  child: ChildProcess;
  startedAt: number;
  done: Promise<Ended>;
  stderr: () => string;
}

/** Starts `node dist/sandboxctl.cjs ARGS`; `detached` makes it a process group leader, like a shell job. */
function start(args: string[], options: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): Running {
  const child = spawn(process.execPath, [SANDBOXCTL, ...args], {
    env: options.env ?? { ...process.env, XDG_RUNTIME_DIR: xdg },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const startedAt = Date.now();
  const done = new Promise<Ended>((resolvePromise) =>
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr, endedAt: Date.now() })),
  );
  return { child, startedAt, done, stderr: () => stderr };
}

function sandboxctl(args: string[], env?: NodeJS.ProcessEnv): Promise<Ended> {
  return start(args, { env }).done;
}

async function status(name: string): Promise<StatusReport> {
  const result = await sandboxctl(["status", name, "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

const waitHealthy = (name: string, notPid?: number, timeoutMs?: number) => waitForHealthy(name, status, notPid, timeoutMs);

/** Live (non-zombie) processes of the gateway user in the container. */
async function gatewayUserProcesses(name: string): Promise<number[]> {
  const result = await exec(name, ["ps", "-u", "gateway", "-o", "pid=,stat="]);
  return result.stdout
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().split(/\s+/)[1]!.startsWith("Z"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** `supervisor restart` processes inside the container, seen from the host's /proc. */
function restartsRunningIn(pidNamespace: string): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0] === "/usr/local/bin/supervisor" && argv[1] === "restart" && readlinkSync(`/proc/${entry}/ns/pid`) === pidNamespace) count++;
    } catch {
      // Gone meanwhile.
    }
  }
  return count;
}

async function containerId(name: string): Promise<string> {
  return (await docker(["inspect", "-f", "{{.Id}}", name])).stdout.trim();
}

describe.skipIf(!dockerAvailable())("sandboxctl against containers (amd64)", () => {
  const image = () => ensureTestImage("amd64");

  beforeAll(() => {
    if (!existsSync(SANDBOXCTL)) throw new Error(`${SANDBOXCTL} not found: run node build.mjs --bundle-only`);
  });

  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("restarts the gateway: progress on stderr, the new pid on stdout, exit 0; --json and --quiet", async () => {
    const name = await bootGateway(image());
    const before = await waitHealthy(name);
    const result = await sandboxctl(["restart", name]);
    expect(result.code, result.stderr).toBe(0);
    const newPid = Number(/^restarted: gateway pid (\d+)\n$/.exec(result.stdout)?.[1]);
    expect(newPid).not.toBe(before.gateway!.pid);
    expect(result.stderr).toContain(`restart: stopping gateway pid ${before.gateway!.pid} (drain budget 330s)\n`);
    expect(await status(name)).toMatchObject({ state: "healthy", gateway: { pid: newPid }, restarts: before.restarts + 1 });

    const json = await sandboxctl(["restart", name, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe("");
    const answer = JSON.parse(json.stdout) as { ok: boolean; pid: number };
    expect(json.stdout.trim().split("\n")).toHaveLength(1);
    expect(answer).toMatchObject({ ok: true, pid: expect.any(Number) });
    expect(answer.pid).not.toBe(newPid);

    const quiet = await sandboxctl(["restart", name, "--quiet"]);
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, "", ""]);
    expect((await status(name)).restarts).toBe(before.restarts + 3);
    expect(await gatewayUserProcesses(name)).toEqual([(await status(name)).gateway!.pid]);
  });

  it("relays status and health, and prints the container's log", async () => {
    const name = await bootGateway(image());
    const report = await waitHealthy(name);
    const text = await sandboxctl(["status", name]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^state {9}healthy\nreadiness {5}ready\ngateway {7}pid ${report.gateway!.pid} `));
    const health = await sandboxctl(["health", name]);
    expect([health.code, health.stdout]).toEqual([0, `healthy: gateway pid ${report.gateway!.pid}\n`]);
    const quiet = await sandboxctl(["health", name, "--quiet"]);
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, "", ""]);
    expect((await exec(name, ["supervisor", "stop"])).code).toBe(0);
    const stopped = await sandboxctl(["health", name]);
    expect([stopped.code, stopped.stdout]).toEqual([1, "not healthy: stopped: stopped on request; 'supervisor restart' starts it again\n"]);
    const log = await sandboxctl(["logs", name, "--tail", "all"]);
    expect(log.code).toBe(0);
    expect(log.stdout + log.stderr).toContain(LISTENING);
    expect(log.stdout + log.stderr).toBe(await logs(name));
  });

  it("exits 3 with one line for a stopped or missing container, and still shows a stopped one's log", async () => {
    const name = await bootGateway(image());
    await docker(["stop", "-t", "30", name]);
    for (const command of ["restart", "status", "health", "token"]) {
      const result = await sandboxctl([command, name]);
      expect([result.code, result.stdout, result.stderr], command).toEqual([3, "", `sandboxctl: container ${name} is not running (exited)\n`]);
    }
    const signal = await sandboxctl(["signal", name, "HUP"]);
    expect(signal.code).toBe(3);
    const json = await sandboxctl(["restart", name, "--json"]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, layer: "not running", message: `container ${name} is not running (exited)` });
    const missing = await sandboxctl(["restart", "ssv-ctl-no-such-container"]);
    expect([missing.code, missing.stderr]).toEqual([3, "sandboxctl: container ssv-ctl-no-such-container is not running (no such container)\n"]);
    const log = await sandboxctl(["logs", name]);
    expect(log.code).toBe(0);
    expect(log.stdout + log.stderr).toContain("received SIGTERM");
    expect((await sandboxctl(["logs", "ssv-ctl-no-such-container"])).code).toBe(3);
  });

  it("exits 4 when the container has no supervisor: PID 1 is something else, or the binary is missing", async () => {
    const name = track();
    await startContainer(name, ["--entrypoint", "/bin/sleep", image(), "300"]);
    const noSocket = await sandboxctl(["restart", name]);
    expect(noSocket.code).toBe(4);
    expect(noSocket.stderr).toMatch(/^restart failed \(unavailable\): .*is PID 1 the sandbox supervisor\?\n$/);
    expect((await sandboxctl(["status", name])).code).toBe(4);

    await exec(name, ["rm", "/usr/local/bin/supervisor"]);
    for (const command of ["restart", "status", "health"]) {
      const result = await sandboxctl([command, name]);
      expect([result.code, result.stdout], command).toEqual([4, ""]);
      expect(result.stderr, command).toBe(
        `sandboxctl: container ${name} has no usable /usr/local/bin/supervisor (not found): is it a sandbox-supervisor image?\n`,
      );
    }
    const json = await sandboxctl(["restart", name, "--json"]);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, layer: "unavailable" });
  });

  it("relays HUP with docker kill: the supervisor restarts the gateway; KILL is refused", async () => {
    const name = await bootGateway(image());
    const before = await waitHealthy(name);
    const result = await sandboxctl(["signal", name, "HUP"]);
    expect([result.code, result.stdout, result.stderr]).toEqual([0, `sent SIGHUP to container ${name}\n`, ""]);
    const after = await waitHealthy(name, before.gateway!.pid);
    expect(after).toMatchObject({ restarts: before.restarts + 1, crashes: 0, lastExit: { expected: true } });
    expect(await logs(name)).toContain(`restart (SIGHUP): gateway pid ${after.gateway!.pid} is healthy`);

    const kill = await sandboxctl(["signal", name, "KILL"]);
    expect(kill.code).toBe(2);
    expect(kill.stderr).toContain("refusing to send SIGKILL");
    expect((await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim()).toBe("true");
  });

  it("prints the token of the current boot and nothing else, in root and in non-root mode", async () => {
    const name = await bootGateway(image());
    const result = await sandboxctl(["token", name]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(result.stdout).toBe(`${await configToken(name)}\n`);

    // Non-root mode: the config keeps the image's empty token; the gateway gets the token file's.
    const nonRoot = await bootGateway(image(), ["--user", "sandbox", "--security-opt", "no-new-privileges"]);
    const token = await sandboxctl(["token", nonRoot]);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(token.stdout.trim()).not.toBe(await configToken(nonRoot));
    // The gateway accepts it (the token goes in on stdin, not in an argv).
    const probe =
      "let t='';process.stdin.on('data',d=>t+=d).on('end',()=>fetch('http://127.0.0.1:18789/health',{headers:{authorization:'Bearer '+t.trim()}}).then(r=>console.log(r.status)))";
    const answer = await exec(nonRoot, ["node", "-e", probe], { input: token.stdout });
    expect(answer.stdout.trim()).toBe("200");

    // No token file: it waits --timeout for one, then exit 1; the line names the file, never a token.
    await exec(name, ["rm", "-f", "/tmp/nemoclaw-gateway-token.env"]);
    const missing = await sandboxctl(["token", name, "--timeout", "2"]);
    expect([missing.code, missing.stdout]).toEqual([1, ""]);
    expect(missing.stderr).toContain("has no gateway token: /tmp/nemoclaw-gateway-token.env does not exist after waiting 2 s");
    expect(missing.stderr).not.toMatch(/[0-9a-f]{64}/);
  });

  it("serialises two concurrent restarts of one container on the host: the second starts after the first ended", async () => {
    const name = await bootGateway(image(), slowStart(1500));
    const before = await waitHealthy(name);
    const pidNamespace = readlinkSync(`/proc/${await hostPid(name)}/ns/pid`);
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, restartsRunningIn(pidNamespace));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const [a, b] = await Promise.all([sandboxctl(["restart", name]), sandboxctl(["restart", name])]);
    sampling = false;
    await sampler;
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    // Without the host lock both docker execs would run at once (one waiting inside).
    expect(most).toBe(1);
    const [first, second] = a.endedAt <= b.endedAt ? [a, b] : [b, a];
    expect(second.stderr).toMatch(/^restart: waiting for another sandboxctl request on container /);
    const firstPid = Number(/restarted: gateway pid (\d+)/.exec(first.stdout)![1]);
    // The second stopped the gateway the first launched: one complete restart after the other.
    expect(first.stderr).toContain(`restart: stopping gateway pid ${before.gateway!.pid} (drain budget 330s)\n`);
    expect(second.stderr).toContain(`restart: stopping gateway pid ${firstPid} (drain budget 330s)\n`);
    const final = await waitHealthy(name);
    expect(final.restarts).toBe(before.restarts + 2);
    expect(await gatewayUserProcesses(name)).toEqual([final.gateway!.pid]);
  });

  it("on Ctrl-C during a restart exits 130 and releases its lock; the restart completes: one healthy gateway", async () => {
    const name = await bootGateway(image(), slowStart(3000));
    const before = await waitHealthy(name);
    const run = start(["restart", name], { detached: true });
    await waitFor(() => /restart: launched gateway pid \d+/.test(run.stderr()), 30_000, 20);
    const launched = Number(/restart: launched gateway pid (\d+)/.exec(run.stderr())![1]);
    // A terminal's Ctrl-C: SIGINT to the whole foreground process group.
    process.kill(-run.child.pid!, "SIGINT");
    const interruptedAt = Date.now();
    const ended = await run.done;
    expect(ended.code).toBe(130);
    expect(Date.now() - interruptedAt).toBeLessThan(2000);
    expect(ended.stderr).toContain(
      `sandboxctl: interrupted; the restart continues inside the container, check with: sandboxctl status ${name}\n`,
    );
    expect(existsSync(join(xdg, "sandboxctl", `${await containerId(name)}.lock`))).toBe(false);
    const after = await waitHealthy(name, before.gateway!.pid);
    expect(after.gateway!.pid).toBe(launched);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(await gatewayUserProcesses(name)).toEqual([launched]);
  });

  it("on Ctrl-C while waiting for the host lock exits 130 and asks for nothing", async () => {
    const name = await bootGateway(image(), slowStart(2000));
    const before = await waitHealthy(name);
    const holder = start(["restart", name]);
    await waitFor(() => holder.stderr().includes("restart: stopping gateway"), 30_000, 20);
    const waiter = start(["restart", name], { detached: true });
    await waitFor(() => waiter.stderr().includes("restart: waiting for another sandboxctl"), 10_000, 20);
    process.kill(-waiter.child.pid!, "SIGINT");
    const ended = await waiter.done;
    expect(ended.code).toBe(130);
    expect(ended.stderr).toContain("sandboxctl: interrupted before the restart was requested; nothing was changed\n");
    expect((await holder.done).code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await waitHealthy(name)).restarts).toBe(before.restarts + 1);
  });

  it("keeps NODE_OPTIONS and LD_PRELOAD of the container and of the host away from what it runs", async () => {
    // The container's NODE_OPTIONS requires /probe.js, which breaks any supervisor command but PID 1.
    const name = track();
    await docker(["create", "--name", name, "--network", "none",
      "-e", "NODE_OPTIONS=--require=/probe.js", "-e", "LD_PRELOAD=/nonexistent-preload.so", image()]);
    const probe = join(scratch, "probe.js");
    writeFileSync(probe, 'if (process.execPath === "/usr/local/bin/supervisor" && process.pid !== 1) throw new Error("probe: NODE_OPTIONS reached a supervisor command");\n');
    chmodSync(probe, 0o644);
    expect((await docker(["cp", probe, `${name}:/probe.js`])).code).toBe(0);
    await docker(["start", name]);
    await waitForLog(name, LISTENING);
    const plain = await exec(name, ["supervisor", "status"]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain("probe: NODE_OPTIONS reached a supervisor command");
    expect(plain.stderr).toContain("ld.so: object '/nonexistent-preload.so'");

    // The host's NODE_OPTIONS names a file the container does not have; a docker wrapper
    // records the environment and arguments the docker CLI gets.
    const hostPreload = join(scratch, "host-preload.js");
    writeFileSync(hostPreload, "globalThis.hostPreloadLoaded = true;\n");
    const bin = join(scratch, "bin");
    mkdirSync(bin);
    const realDocker = spawnSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
    const record = join(scratch, "docker-calls");
    writeFileSync(join(bin, "docker"), `#!/bin/sh\n{ echo '--- env'; env; echo '--- args'; printf '%s\\n' "$@"; } >> '${record}'\nexec '${realDocker}' "$@"\n`);
    chmodSync(join(bin, "docker"), 0o755);
    const env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      XDG_RUNTIME_DIR: xdg,
      NODE_OPTIONS: `--require=${hostPreload}`,
      SANDBOXCTL_TEST_SECRET: "must-not-travel",
    };
    const result = await sandboxctl(["restart", name], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^restarted: gateway pid \d+\n$/);
    expect(result.stderr).not.toContain("ld.so");
    expect(result.stderr).not.toContain("probe:");

    const calls = readFileSync(record, "utf8").split("--- env\n").slice(1);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      const [envText, argsText] = call.split("--- args\n") as [string, string];
      const names = envText.trim().split("\n").map((line) => line.split("=")[0]);
      // sh itself adds PWD (and may add SHLVL, _, OLDPWD).
      const allowed = ["PATH", "HOME", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION", "SSH_AUTH_SOCK", "PWD", "SHLVL", "_", "OLDPWD"];
      expect(names.filter((n) => !allowed.includes(n!)), envText).toEqual([]);
      const args = argsText.trim().split("\n");
      if (args[0] === "exec") {
        expect(args).toEqual(expect.arrayContaining(["--user", "root", "NODE_OPTIONS=", "LD_PRELOAD=", "/usr/local/bin/supervisor", "restart"]));
      }
    }
    expect(calls.some((call) => call.includes("--- args\nexec\n"))).toBe(true);
    expect(await waitHealthy(name)).toMatchObject({ state: "healthy" });
  });
});
