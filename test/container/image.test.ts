// Smoke test of the container test bed itself: the test image builds offline and has the
// layout docs/install.md describes. The supervisor's behaviour is tested elsewhere; here the
// entrypoint is bypassed (--entrypoint) so this only depends on image/Dockerfile.
//
// Skipped only with SANDBOX_SUPERVISOR_DOCKER_TESTS=0.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  docker,
  dockerAvailable,
  ensureTestImage,
  exec,
  removeContainer,
  runContainer,
  startContainer,
  uniqueName,
  waitFor,
} from "../helpers/docker.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;

describe.skipIf(!dockerAvailable())("test image (amd64)", () => {
  let image = "";
  beforeAll(() => {
    image = ensureTestImage("amd64");
  }, BUILD_TIMEOUT_MS);

  const sh = (script: string, extra: string[] = []) =>
    runContainer(["--entrypoint", "/bin/sh", ...extra, image, "-c", script]);

  it("has the supervisor entrypoint, SIGTERM stop signal and root workdir", async () => {
    const res = await docker([
      "image",
      "inspect",
      "--format",
      "{{json .Config.Entrypoint}}|{{.Config.StopSignal}}|{{.Config.WorkingDir}}",
      image,
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe('["/usr/local/bin/supervisor","boot"]|SIGTERM|/');
  });

  it("installs the binary root:root 0755", async () => {
    const res = await sh("stat -c '%a %U:%G' /usr/local/bin/supervisor");
    expect(res.stdout.trim()).toBe("755 root:root");
  });

  it("creates sandbox, gateway (in group sandbox) and puts root in group sandbox", async () => {
    const res = await sh(
      "getent passwd sandbox | cut -d: -f6; id -nG sandbox; id -nG gateway; id -nG root",
    );
    expect(res.code).toBe(0);
    const [home, sandboxGroups, gatewayGroups, rootGroups] = res.stdout.trim().split("\n");
    expect(home).toBe("/sandbox");
    expect(sandboxGroups?.split(" ")).toEqual(["sandbox"]);
    expect(gatewayGroups?.split(" ").sort()).toEqual(["gateway", "sandbox"]);
    expect(rootGroups?.split(" ")).toContain("sandbox");
  });

  it("ships the tools the boot chain needs", async () => {
    const res = await sh(
      "for t in setpriv capsh chattr ps useradd; do command -v $t >/dev/null || echo missing $t; done",
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("");
  });

  it("runs without any network and propagates exit codes", async () => {
    const res = await sh("cat /sys/class/net/*/operstate 2>/dev/null | wc -l; exit 7");
    expect(res.code).toBe(7);
    expect(res.stdout.trim()).toBe("1"); // loopback only
  });

  describe("detached containers", () => {
    const name = uniqueName();
    afterAll(() => removeContainer(name));

    it("start, exec as another user, wait, remove", async () => {
      await startContainer(name, ["--entrypoint", "/bin/sleep", image, "300"]);
      await waitFor(async () => (await exec(name, ["true"])).code === 0, 10_000);
      const who = await exec(name, ["id", "-un"], { user: "sandbox" });
      expect(who.stdout.trim()).toBe("sandbox");
      await removeContainer(name);
      const gone = await docker(["inspect", name]);
      expect(gone.code).not.toBe(0);
    });
  });
});
