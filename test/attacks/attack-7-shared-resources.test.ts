// Attack 7 (docs/threat-model.md): relaunch denial through resources the sandbox user shares with PID 1.
// (a) /tmp is a small tmpfs the sandbox user fills; when the gateway dies, re-staging the
//     guards needed new space (a temp file per guard, then rename), failed with ENOSPC, was
//     refused as an unguarded relaunch and ended quarantined. Now a staged copy that is
//     already identical and verified is kept in place, so the relaunch needs no space.
// (b) the pid limit (--pids-limit) is exhausted when the gateway dies: spawning fails with
//     EAGAIN. Retrying with backoff and naming the resource instead of quarantining is
//     the supervision state machine's part (docs/gateway-states.md); this case waits for it (see below).
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, waitFor } from "../helpers/docker.js";
import { bootGateway as bootGatewayIn, containerTracker, hostChildren, hostPid, logs, waitForHealthy } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-atk7");
const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, runArgs);

/** Short timings: five failed relaunches quarantine within a few seconds. */
const FAST = [
  "-e", "SUPERVISOR_BACKOFF_INITIAL=0.2",
  "-e", "SUPERVISOR_BACKOFF_MAX=0.5",
  "-e", "SUPERVISOR_PROBE_INTERVAL=0.3",
  "-e", "SUPERVISOR_STOP_GRACE=2",
];

async function status(name: string): Promise<StatusReport> {
  // Short: an exec into a container at its pid limit can hang; waitFor asks again.
  const result = await exec(name, ["supervisor", "status", "--json"], { timeoutMs: 10_000 });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

const waitHealthy = (name: string, notPid?: number, timeoutMs?: number) => waitForHealthy(name, status, notPid, timeoutMs);

/** Kills the gateway from the host, as a crash would: no process inside the container needed. */
async function killGateway(name: string): Promise<void> {
  process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
}

describe.skipIf(!dockerAvailable())("attack 7: relaunch denial through shared resources", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("a /tmp the sandbox user filled does not stop the relaunch after the gateway dies", async () => {
    const name = await bootGateway(image(), ["--tmpfs", "/tmp:size=1m,mode=1777", ...FAST]);
    const before = await waitHealthy(name);
    const fill = await exec(name, ["sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=4k 2>&1; df -k /tmp | tail -n1"], { user: "sandbox" });
    expect(fill.stdout).toMatch(/No space left on device/);
    expect(fill.stdout).toMatch(/ 0 +100% \/tmp$/m);
    await killGateway(name);
    const after = await waitHealthy(name, before.gateway!.pid, 20_000);
    expect(after.crashes).toBe(1);
    const output = await logs(name);
    expect(output).not.toContain("refusing unguarded gateway relaunch");
    expect(output).toContain("preload guards: staged and verified");
    // Still full: the relaunch took no space.
    expect((await exec(name, ["sh", "-c", "df -k /tmp | tail -n1"])).stdout).toMatch(/ 0 +100% \/tmp$/m);
  });

  // A launch that failed for a resource reason retries with backoff and names the resource
  // instead of counting as a crash (the supervision state machine); against code without it
  // the gateway ends quarantined.
  it("an exhausted pid limit delays the relaunch, names the resource and never quarantines", async () => {
    const name = await bootGateway(image(), ["--pids-limit", "64", ...FAST]);
    const before = await waitHealthy(name);
    // Every free pid taken for 8 s, and taken again as soon as one is freed (the dying
    // gateway frees its own), then all released by 18 s. A shell would stop at the first
    // failed fork; Node reports each one and goes on.
    const script =
      "const cp=require('child_process');let failed=0;const end=Date.now()+8000;" +
      "const grab=()=>{if(Date.now()>end)return;try{cp.spawn('sleep',['10'],{stdio:'ignore'}).on('error',()=>failed++)}catch{failed++}setTimeout(grab,2)};grab();" +
      "setTimeout(()=>require('fs').writeFileSync('/tmp/hog',String(failed)),500)";
    expect((await docker(["exec", "-d", "-u", "sandbox", name, "node", "-e", script])).code).toBe(0);
    // Read from the host: no process can start in the container now.
    const hogFile = `/proc/${await hostPid(name)}/root/tmp/hog`;
    await waitFor(() => existsSync(hogFile) && Number(readFileSync(hogFile, "utf8")) > 0, 10_000);
    await killGateway(name);
    const after = await waitHealthy(name, before.gateway!.pid, 40_000);
    expect(after.state).toBe("healthy");
    const output = await logs(name);
    expect(output).not.toContain("quarantined");
    expect(output).toContain("waiting for processes or threads (EAGAIN: at the pid limit?): retrying the launch");
    expect(output).toContain("(not counted as a crash)");
    expect(after.crashes).toBe(1);
  }, 180_000);
});
