// The deployment shapes sandboxes run in besides root Docker with default capabilities:
// restricted capability sets and non-root mode (issue: runs wherever sandboxes run).
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec, runContainer, waitFor } from "../helpers/docker.js";
import { bootGateway as bootGatewayIn, containerTracker, logs } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-shape");
const MINIMAL_ROOT_CAPS = ["SETUID", "SETGID", "CHOWN", "FOWNER", "KILL", "SETPCAP"].flatMap((cap) => ["--cap-add", cap]);

describe.skipIf(!dockerAvailable())("deployment shapes (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("refuses root mode under --cap-drop ALL with one line naming what to add", async () => {
    const result = await runContainer(["--cap-drop", "ALL", image()]);
    expect(result.code).toBe(78);
    expect(result.stderr.trim().split("\n")).toEqual([
      "[supervisor] capabilities: root mode needs SETUID SETGID CHOWN FOWNER KILL; missing SETUID SETGID CHOWN FOWNER KILL " +
        "(docker run --cap-add SETUID --cap-add SETGID --cap-add CHOWN --cap-add FOWNER --cap-add KILL, or run as a non-root user)",
    ]);
  });

  it("names the first place a read-only root file system leaves unwritable", async () => {
    const bare = await runContainer(["--read-only", image()]);
    expect(bare.code).toBe(78);
    expect(bare.stderr.trim()).toBe(
      "[supervisor] read-only file system: /tmp (staged guards and the token file) must be writable; mount a tmpfs or volume there (docker run --tmpfs /tmp)",
    );
    const someMounts = await runContainer(["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run", image()]);
    expect(someMounts.code).toBe(78);
    expect(someMounts.stderr).toContain("read-only file system: /var/lib/sandbox-supervisor (config write intents) must be writable");
  });

  // Docker's --tmpfs mounts are noexec: the native addon cannot be written and mapped there,
  // so PID 1 maps the image's root-owned copy (docs/install.md).
  it("boots healthy non-root on a read-only root whose only writable place is a noexec /tmp, with no capability", async () => {
    const name = await bootGatewayIn(track, image(), [
      "--read-only", "--tmpfs", "/tmp", "--user", "1000:1000", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    ]);
    const tmp = await exec(name, ["awk", '$2 == "/tmp" { print $4 }', "/proc/mounts"]);
    expect(tmp.stdout.split(",")).toContain("noexec");
    await waitFor(async () => (await exec(name, ["supervisor", "health"])).code === 0, 30_000, 100);
  });

  // A pod's securityContext emulated with Docker flags (no Kubernetes cluster can run here):
  // readOnlyRootFilesystem, capabilities drop ALL plus the documented minimum, the exec probe.
  it("boots healthy in root mode on a read-only root with tmpfs /tmp, /run, /var/lib/sandbox-supervisor, a volume on /sandbox and only the minimal capabilities", async () => {
    const name = await bootGatewayIn(track, image(), [
      "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", "/var/lib/sandbox-supervisor", "-v", "/sandbox",
      "--cap-drop", "ALL", ...MINIMAL_ROOT_CAPS,
    ]);
    await waitFor(async () => (await exec(name, ["supervisor", "health"])).code === 0, 30_000, 100);
    const restarted = await exec(name, ["supervisor", "restart"]);
    expect(restarted.code, restarted.stderr).toBe(0);
  });

  it("boots, restarts and reports no kept capability with the documented minimal set", async () => {
    const name = await bootGatewayIn(track, image(), ["--cap-drop", "ALL", ...MINIMAL_ROOT_CAPS]);
    await waitFor(async () => (await exec(name, ["supervisor", "health"])).code === 0, 30_000, 100);
    const restarted = await exec(name, ["supervisor", "restart"]);
    expect(restarted.code, restarted.stderr).toBe(0);
    const status = JSON.parse((await exec(name, ["supervisor", "status", "--json"])).stdout) as { capabilities: { gatewayKept: string[] } };
    expect(status.capabilities.gatewayKept).toEqual([]);
    expect(await logs(name)).not.toContain("[SECURITY]");
  });

  it("non-root mode (--user sandbox) has a private control socket, health for the user and for root, and a healthy HEALTHCHECK", async () => {
    const name = await bootGatewayIn(track, image(), ["--user", "sandbox"]);
    const asUser = await exec(name, ["supervisor", "health"]);
    expect(asUser.code, asUser.stdout + asUser.stderr).toBe(0);
    const asRoot = await exec(name, ["supervisor", "status", "--json"], { user: "root" });
    expect(asRoot.code, asRoot.stderr).toBe(0);
    expect(JSON.parse(asRoot.stdout)).toMatchObject({ state: "healthy", mode: "non-root" });
    const dir = await exec(name, ["stat", "-c", "%U %a %F", "/tmp/supervisor-1000", "/tmp/supervisor-1000/control.sock"]);
    expect(dir.stdout.trim().split("\n")).toEqual(["sandbox 700 directory", "sandbox 600 socket"]);
    // Docker's own HEALTHCHECK (image/Dockerfile) runs `supervisor health` as the container's user.
    // The first check runs one interval (30 s) after the start.
    await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Health.Status}}", name])).stdout.trim() === "healthy", 90_000, 500);
  }, 150_000);
});
