// Round 2, attack 1 (docs/threat-model.md): a planted write-intent record in the state
// directory. In the documented read-only shape the state directory is a tmpfs, which Docker
// mounts 1777: the sandbox user made a directory named config-write-intent.json in it, and
// from then on every relaunch and every `supervisor restart` was refused until quarantine.
// Now the state directory is taken back to root 0700 through its descriptor at boot, and a
// record that is not root's regular file with one link is moved aside, never trusted.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec, uniqueName } from "../helpers/docker.js";
import { bootGateway, containerTracker, hostChildren, hostPid, logs, waitForHealthy } from "../helpers/sandbox-container.js";
import { status } from "../helpers/attack-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-r2a1");
const STATE = "/var/lib/sandbox-supervisor";
const READ_ONLY = ["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", STATE, "-v", "/sandbox"];
const FAST = ["-e", "SUPERVISOR_BACKOFF_INITIAL=0.2", "-e", "SUPERVISOR_BACKOFF_MAX=0.5", "-e", "SUPERVISOR_PROBE_INTERVAL=0.3"];

async function killGateway(name: string): Promise<void> {
  process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
}

describe.skipIf(!dockerAvailable())("round 2, attack 1: a planted record in the state directory", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("read-only shape: the 1777 tmpfs is root's 0700 after boot, the sandbox user cannot plant, relaunch and restart work", async () => {
    const name = await bootGateway(track, image(), [...READ_ONLY, ...FAST]);
    const first = await waitForHealthy(name, status);
    expect((await exec(name, ["stat", "-c", "%U:%G %a", STATE])).stdout.trim()).toBe("root:root 700");
    const plant = await exec(name, ["mkdir", `${STATE}/config-write-intent.json`], { user: "sandbox" });
    expect(plant.code).not.toBe(0);
    expect(plant.stderr).toMatch(/Permission denied/);
    await killGateway(name);
    const relaunched = await waitForHealthy(name, status, first.gateway!.pid, 30_000);
    expect(relaunched).toMatchObject({ state: "healthy", crashes: 1 });
    const restart = await exec(name, ["supervisor", "restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await logs(name)).not.toContain("quarantined");
  }, 90_000);

  it("a state directory that already holds a sandbox-owned directory under the record's name: moved aside, healthy again within 30 s, restart works", async () => {
    const volume = uniqueName("ssv-r2a1-state");
    // What a 1777 state directory the sandbox user had reached would hold.
    const prepared = await docker(["run", "--rm", "--network", "none", "-v", `${volume}:/state`, "--entrypoint", "sh", image(), "-c",
      "chmod 1777 /state && mkdir /state/config-write-intent.json && chown 1000:1000 /state/config-write-intent.json"]);
    expect(prepared.code, prepared.stderr).toBe(0);
    try {
      const name = await bootGateway(track, image(), ["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run", "-v", "/sandbox", "-v", `${volume}:${STATE}`, ...FAST]);
      const first = await waitForHealthy(name, status);
      const text = await logs(name);
      expect(text).toMatch(/\[SECURITY\] .*config-write-intent\.json: a directory, not a record of the supervisor's: moved aside as \.config-write-intent\.json\.untrusted-/);
      expect(text).toMatch(/state directory \/var\/lib\/sandbox-supervisor had mode 1777 \(writable by anyone: a fresh tmpfs or emptyDir\?\): set to 0700/);
      await killGateway(name);
      await waitForHealthy(name, status, first.gateway!.pid, 30_000);
      const restart = await exec(name, ["supervisor", "restart"]);
      expect(restart.code, restart.stderr).toBe(0);
      expect(await logs(name)).not.toContain("quarantined");
      await docker(["rm", "-f", name]);
    } finally {
      await docker(["volume", "rm", "-f", volume]);
    }
  }, 90_000);
});
