// What an operator of a fleet meets (docs/log-events.md, docs/troubleshooting.md): a stray
// `supervisor boot` in a running sandbox refuses and touches nothing; a crash is a line at
// `warn`, so SUPERVISOR_LOG_LEVEL=warn still shows it; JSON lines name distinct events with
// their facts; a cleanly stopped locked sandbox leaves a volume that can be removed.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, uniqueName, waitFor } from "../helpers/docker.js";
import { bootGateway, configToken, containerTracker, hostChildren, hostPid, logs, waitForHealthy, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-fleet");
const image = () => ensureTestImage();
const FAST = ["-e", "SUPERVISOR_BACKOFF_INITIAL=0.2", "-e", "SUPERVISOR_PROBE_INTERVAL=0.5"];

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

describe.skipIf(!dockerAvailable())("fleet operations", () => {
  it("builds the test image", () => expect(image()).toMatch(/-test:(amd64|arm64)$/), BUILD_TIMEOUT_MS);

  it("a second 'supervisor boot' by docker exec refuses at once, as root or the sandbox user; gateway and token unchanged", async () => {
    const name = await bootGateway(track, image(), FAST);
    const before = await waitForHealthy(name, status);
    const token = await configToken(name);
    for (const user of ["root", "sandbox"]) {
      const started = Date.now();
      const second = await exec(name, ["supervisor", "boot"], { user, timeoutMs: 30_000 });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(second.code, `${user}: ${second.stderr}`).toBe(78);
      expect(second.stderr).toMatch(/boot refused: PID 1 of this container is already 'supervisor boot'/);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = await status(name);
    expect(after).toMatchObject({ state: "healthy", restarts: 0, crashes: 0 });
    expect(after.gateway!.pid).toBe(before.gateway!.pid);
    expect(await configToken(name)).toBe(token);
  }, 120_000);

  it("SUPERVISOR_LOG_LEVEL=warn: a gateway crash still leaves a line naming it", async () => {
    const name = await bootGateway(track, image(), [...FAST, "-e", "SUPERVISOR_LOG_LEVEL=WARN"]);
    const before = await waitForHealthy(name, status);
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    await waitForHealthy(name, status, before.gateway!.pid);
    const text = await logs(name);
    expect(text).toMatch(/\[supervisor\] gateway pid \d+ killed by SIGKILL unexpectedly/);
    expect(text).not.toMatch(/\[supervisor\] gateway state starting -> healthy/);
  }, 120_000);

  it("JSON logs of a boot, a crash and a restart carry distinct events with their facts", async () => {
    const name = await bootGateway(track, image(), [...FAST, "-e", "SUPERVISOR_LOG_FORMAT=json"]);
    const first = await waitForHealthy(name, status);
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    const second = await waitForHealthy(name, status, first.gateway!.pid);
    const restart = await exec(name, ["supervisor", "restart"], { timeoutMs: 60_000 });
    expect(restart.code, restart.stderr).toBe(0);
    await waitForHealthy(name, status, second.gateway!.pid);
    const records = (await logs(name))
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const events = new Set(records.map((r) => r.event));
    for (const event of ["gateway.launch", "gateway.healthy", "gateway.crash", "gateway.state", "restart.request"]) expect(events).toContain(event);
    expect(events.size).toBeGreaterThanOrEqual(8);
    expect(records.find((r) => r.event === "gateway.crash")).toMatchObject({ level: "warn", pid: first.gateway!.pid, exit: "killed by SIGKILL" });
    expect(records.find((r) => r.event === "gateway.state" && r.to === "backing-off")).toMatchObject({ from: "healthy", state: "backing-off" });
    expect(records.find((r) => r.event === "restart.request")).toMatchObject({ requestedBy: expect.any(String) });
  }, 120_000);

  it("locked posture with the immutable flag: after docker stop, the container and its /sandbox volume can be removed", async () => {
    const volume = uniqueName("ssv-fleet-vol");
    const name = track();
    try {
      const run = await docker(["run", "-d", "--name", name, "--network", "none", "--cap-add", "LINUX_IMMUTABLE", "-v", `${volume}:/sandbox`, image()]);
      expect(run.code, run.stderr).toBe(0);
      await waitForLog(name, "config lock: hardened");
      await waitForHealthy(name, status);
      expect((await docker(["stop", "-t", "20", name], { timeoutMs: 60_000 })).code).toBe(0);
      expect(await logs(name)).toMatch(/config lock: cleared for the shutdown/);
      expect((await docker(["rm", name])).code).toBe(0);
      const removed = await docker(["volume", "rm", volume]);
      expect(removed.code, removed.stderr).toBe(0);
    } finally {
      await docker(["rm", "-f", name]);
      // Should the flag have stayed, the volume would be left on the host for good.
      const mount = (await docker(["volume", "inspect", "-f", "{{.Mountpoint}}", volume])).stdout.trim();
      if (mount !== "") spawnSync("chattr", ["-R", "-i", mount]);
      await waitFor(async () => (await docker(["volume", "rm", "-f", volume])).code === 0, 10_000, 500).catch(() => {});
    }
  }, 120_000);
});
