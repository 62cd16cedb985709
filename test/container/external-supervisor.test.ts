// The external supervisor OpenClaw documents (docs/gateway-states.md "OpenClaw's own
// supervision contract"), against the test gateway, which answers OpenClaw's three probes,
// drains on TERM and restarts in process as OpenClaw does: success means started, readiness
// is shown and never acted on, restarts drain within a budget, in-process restarts are not
// failures. The same contract against the real OpenClaw image is in openclaw.test.ts.
import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { bootGateway, containerTracker, logs, waitForHealthy, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-ext");
const image = () => ensureTestImage();

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

/** A GET from inside the container (its own loopback), with the sandbox shell's token. */
async function get(name: string, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const script =
    `fetch('http://127.0.0.1:18789${path}',{headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN}})` +
    ".then(async r=>console.log(JSON.stringify({status:r.status,body:await r.text()})),e=>console.log(JSON.stringify({status:0,body:String(e.cause?.code??e)})))";
  const result = await exec(name, ["bash", "-lc", `node -e "${script}"`], { user: "sandbox", timeoutMs });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { status: number; body: string };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe.skipIf(!dockerAvailable())("the external supervisor OpenClaw documents, with the test gateway", () => {
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$|-test:arm64$/), BUILD_TIMEOUT_MS);

  it("answers a restart only once the new gateway's startup probe says started, three times in a row", async () => {
    const name = await bootGateway(track, image(), ["-e", "TEST_GATEWAY_STARTUP_MS=1500"]);
    await waitForHealthy(name, status);
    for (let round = 0; round < 3; round++) {
      const restart = await timed(() => exec(name, ["supervisor", "restart"]));
      expect(restart.value.code, restart.value.stderr).toBe(0);
      const startup = await get(name, "/startupz");
      expect(startup, `round ${round}`).toMatchObject({ status: 200 });
      expect(JSON.parse(startup.body)).toMatchObject({ status: "started" });
      // It waited for the new gateway's start-up, not only for its listener.
      expect(restart.ms).toBeGreaterThanOrEqual(1500);
    }
    const report = await status(name);
    expect(report).toMatchObject({ state: "healthy", restarts: 3, crashes: 0, failedBoots: 0 });
  }, 120_000);

  it("shows readiness and never acts on it: healthy but not ready, health --ready exits 1 until ready", async () => {
    const name = await bootGateway(track, image(), ["-e", "TEST_GATEWAY_MODE=not-ready"]);
    const report = await waitForHealthy(name, status);
    expect(report.readiness).toEqual({ ready: false, failing: ["channel:test"] });
    expect((await exec(name, ["supervisor", "health"])).code).toBe(0);
    const notReady = await exec(name, ["supervisor", "health", "--ready"]);
    expect(notReady.code).toBe(1);
    expect(notReady.stdout).toMatch(/^healthy but not ready: gateway pid \d+, readiness not ready \(failing: channel:test\)\n$/);
    const text = await exec(name, ["supervisor", "status"]);
    expect(text.stdout).toMatch(/^readiness {5}not ready \(failing: channel:test\)$/m);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(await status(name)).toMatchObject({ state: "healthy", restarts: 0, gateway: { pid: report.gateway!.pid } });
    await exec(name, ["bash", "-lc", `node -e "fetch('http://127.0.0.1:18789/control/ready',{method:'POST',headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN}})"`], { user: "sandbox" });
    await waitForHealthy(name, async (n) => {
      const s = await status(n);
      return { ...s, state: s.readiness?.ready ? s.state : "waiting" };
    });
    expect((await exec(name, ["supervisor", "health", "--ready"])).code).toBe(0);
  }, 60_000);

  it("gives a restart its drain budget before SIGKILL (at least 13 s of 14), --wait 3s its own, and docker stop the short grace", async () => {
    const name = await bootGateway(track, image(), ["-e", "TEST_GATEWAY_MODE=ignore-term", "-e", "SUPERVISOR_RESTART_DRAIN_SECONDS=14"]);
    await waitForHealthy(name, status);
    const watch = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      return status(name);
    })();
    const drained = await timed(() => exec(name, ["supervisor", "restart"], { timeoutMs: 60_000 }));
    expect(drained.value.code, drained.value.stderr).toBe(0);
    expect(drained.ms).toBeGreaterThanOrEqual(13_000);
    expect(drained.value.stderr).toMatch(/draining, \d+ s left before SIGKILL/);
    const during = await watch;
    expect(during.state).toBe("stopping");
    expect(during.drain).toMatchObject({ budgetSeconds: 14 });
    expect(during.drain!.secondsLeft).toBeLessThanOrEqual(10);

    const waited = await timed(() => exec(name, ["supervisor", "restart", "--wait", "3s"], { timeoutMs: 60_000 }));
    expect(waited.value.code, waited.value.stderr).toBe(0);
    expect(waited.ms).toBeLessThan(8000);
    expect(await logs(name)).toMatch(/still running after 3s: SIGKILL/);

    const stop = await timed(() => docker(["stop", name], { timeoutMs: 30_000 }));
    expect(stop.value.code).toBe(0);
    expect(await logs(name)).toContain("[supervisor] gateway stopped; exiting");
    expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("143");
  }, 120_000);

  it("lets an agent's reply in flight complete before the old gateway exits, and the new one serves the next request", async () => {
    const name = await bootGateway(track, image(), ["-e", "TEST_GATEWAY_MODE=drain"]);
    const first = await waitForHealthy(name, status);
    const reply = get(name, "/slow?ms=4000", 30_000);
    await waitForLog(name, "slow request: answering in 4000 ms");
    const restart = await exec(name, ["supervisor", "restart"], { timeoutMs: 60_000 });
    expect(restart.code, restart.stderr).toBe(0);
    expect(await reply).toMatchObject({ status: 200, body: expect.stringContaining('"waitedMs":4000') });
    const text = await logs(name);
    expect(text.indexOf("slow request: answered")).toBeLessThan(text.indexOf("SIGTERM: drained, server closed"));
    expect(text).not.toMatch(/still running after .*SIGKILL/);
    const after = await status(name);
    expect(after.gateway!.pid).not.toBe(first.gateway!.pid);
    expect(after.breaker).toMatchObject({ tripped: false, uncleanBoots: 0 });
    expect(await get(name, "/slow?ms=10")).toMatchObject({ status: 200 });
  }, 90_000);

  it("recognises an in-process restart (SIGUSR2): restarting, never replaced, never counted, same pid", async () => {
    const name = await bootGateway(track, image(), ["-e", "TEST_GATEWAY_RESTART_MS=4000", "-e", "SUPERVISOR_PROBE_INTERVAL=0.5"]);
    const first = await waitForHealthy(name, status);
    expect((await docker(["kill", "--signal", "USR2", name])).code).toBe(0);
    await waitForLog(name, "restarting in process: computing 4000 ms");
    let seen: StatusReport | undefined;
    for (let i = 0; i < 40 && seen === undefined; i++) {
      const report = await status(name);
      if (report.state === "restarting") seen = report;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen, await logs(name)).toBeDefined();
    expect((await exec(name, ["supervisor", "status"])).stdout).toMatch(/^state {9}restarting \(in process\)$/m);
    const after = await waitForHealthy(name, status);
    expect(after).toMatchObject({ restarts: 0, crashes: 0, failedBoots: 0, gateway: { pid: first.gateway!.pid } });
    expect(await logs(name)).toMatch(/restarted in process and is healthy again/);
  }, 60_000);
});
