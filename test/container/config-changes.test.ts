// A config change never takes a serving sandbox down (docs/supervisor-boot.md, "Who writes the
// config"), with the test gateway: a restart checks the next launch before it stops anything;
// a launch the config prevents is the config-error state, never a crash loop, until the config
// changes; `supervisor check` names every problem without writing; the mutable posture's
// config reaches the gateway's own copy and back. The same with the real OpenClaw is in
// openclaw-config.test.ts.
import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, startContainer, waitFor } from "../helpers/docker.js";
import { bootGateway, containerTracker, hostChildren, hostPid, logs, waitForHealthy, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-cfg");
const image = () => ensureTestImage();
const CONFIG = "/sandbox/.openclaw/openclaw.json";
const GATEWAY_COPY = "/run/supervisor-gateway/openclaw.json";
const MUTABLE = ["-e", "SUPERVISOR_CONFIG_POSTURE=mutable", "-e", "SUPERVISOR_BACKOFF_INITIAL=0.2", "-e", "SUPERVISOR_PROBE_INTERVAL=0.5"];

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

/** Writes `content` over the config as the sandbox user, the way an agent's own tool would. */
async function writeAsSandbox(name: string, content: string): Promise<void> {
  const result = await exec(name, ["sh", "-c", `cat > ${CONFIG}`], { user: "sandbox", input: content });
  expect(result.code, result.stderr).toBe(0);
}

async function healthz(name: string): Promise<number> {
  const script = "fetch('http://127.0.0.1:18789/healthz').then(r=>console.log(r.status),()=>console.log(0))";
  return Number((await exec(name, ["node", "-e", script], { user: "sandbox" })).stdout.trim());
}

describe.skipIf(!dockerAvailable())("config changes with the test gateway", () => {
  it("builds the test image", () => expect(image()).toMatch(/-test:(amd64|arm64)$/), BUILD_TIMEOUT_MS);

  it("refuses a restart whose next launch the config prevents (exit 78), and the same gateway keeps serving", async () => {
    const name = await bootGateway(track, image(), MUTABLE);
    const before = await waitForHealthy(name, status);
    const good = (await exec(name, ["cat", CONFIG])).stdout;
    await writeAsSandbox(name, "{ not json");
    const restart = await exec(name, ["supervisor", "restart"]);
    expect(restart.code).toBe(78);
    expect(restart.stderr).toMatch(/^restart refused \(config integrity\): .*openclaw\.json is not valid JSON; nothing was stopped, the gateway keeps serving\n$/);
    expect(await healthz(name)).toBe(200);
    expect(await status(name)).toMatchObject({ state: "healthy", restarts: 0, gateway: { pid: before.gateway!.pid } });
    const check = await exec(name, ["supervisor", "check"]);
    expect(check.code).toBe(78);
    expect(check.stdout).toMatch(/^problem  config: .*openclaw\.json is not valid JSON$/m);
    expect(check.stdout).toMatch(/^ok       gateway command: /m);
    await writeAsSandbox(name, good);
    const fixed = await exec(name, ["supervisor", "restart"]);
    expect(fixed.code, fixed.stderr).toBe(0);
  }, 90_000);

  it("waits in config-error, uncounted, for a config that prevents a relaunch, and launches once it changes", async () => {
    const name = await bootGateway(track, image(), MUTABLE);
    const before = await waitForHealthy(name, status);
    const good = (await exec(name, ["cat", CONFIG])).stdout;
    await writeAsSandbox(name, "{ not json");
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    await waitFor(async () => (await status(name)).state === "config-error", 20_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const waiting = await status(name);
    expect(waiting).toMatchObject({ state: "config-error", crashes: 1, gateway: null });
    expect(waiting.detail).toMatch(/not valid JSON; launches again once the config changes/);
    expect((await exec(name, ["supervisor", "health"])).stdout).toMatch(/^not healthy: config-error: /);
    expect(await logs(name)).not.toContain("quarantined");
    await writeAsSandbox(name, good);
    const after = await waitForHealthy(name, status, before.gateway!.pid, 15_000);
    expect(after.crashes).toBe(1);
    expect(await logs(name)).toContain("config changed: launching the gateway again");
  }, 90_000);

  it("refuses at boot, with 78 and one line, a gateway command that cannot be executed", async () => {
    const name = track();
    await startContainer(name, ["-e", 'SUPERVISOR_GATEWAY_COMMAND=["/nonexistent"]', image()]);
    await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim() === "false", 30_000, 200);
    expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("78");
    expect(await logs(name)).toMatch(/gateway command '\/nonexistent' does not exist or is not a regular file/);
  }, 60_000);

  it("refuses a 200,000-deep config at the next boot with a line naming the depth, never exit 125", async () => {
    const name = await bootGateway(track, image(), MUTABLE);
    await waitForHealthy(name, status);
    const deep = `${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`;
    await writeAsSandbox(name, deep);
    await docker(["restart", "-t", "10", name], { timeoutMs: 60_000 });
    await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim() === "false", 30_000, 200);
    expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("78");
    const text = await logs(name);
    expect(text).toMatch(/openclaw\.json has nesting deeper than 64 levels \(the limit\)/);
    expect(text).not.toContain("Maximum call stack");
  }, 90_000);

  it("mutable posture: the sandbox user's change reaches the gateway's own copy, and the gateway's reaches the sandbox's config", async () => {
    const name = await bootGateway(track, image(), MUTABLE);
    await waitForHealthy(name, status);
    const config = JSON.parse((await exec(name, ["cat", CONFIG])).stdout) as Record<string, unknown>;
    await writeAsSandbox(name, `${JSON.stringify({ ...config, fromSandbox: 1 }, null, 2)}\n`);
    await waitFor(async () => (await exec(name, ["cat", GATEWAY_COPY])).stdout.includes('"fromSandbox": 1'), 10_000, 200);
    // As the gateway would (OpenClaw's config.set): its own copy, in its own directory.
    const copy = JSON.parse((await exec(name, ["cat", GATEWAY_COPY])).stdout) as Record<string, unknown>;
    const wrote = await exec(name, ["sh", "-c", `cat > ${GATEWAY_COPY}.tmp && mv ${GATEWAY_COPY}.tmp ${GATEWAY_COPY}`], {
      user: "gateway",
      input: `${JSON.stringify({ ...copy, fromGateway: 2 }, null, 2)}\n`,
    });
    expect(wrote.code, wrote.stderr).toBe(0);
    await waitFor(async () => (await exec(name, ["cat", CONFIG])).stdout.includes('"fromGateway": 2'), 10_000, 200);
    await waitForLog(name, "the gateway's change carried to the sandbox user's config");
    // The sandbox user cannot reach the gateway's copy.
    expect((await exec(name, ["cat", GATEWAY_COPY], { user: "sandbox" })).code).not.toBe(0);
    expect((await status(name)).state).toBe("healthy");
  }, 90_000);
});
