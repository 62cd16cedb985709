// Beyond the numbered attacks (docs/threat-model.md), for what Node reads when the gateway starts: a huge
// NODE_OPTIONS (the guards must still fit in one environment string, or every launch fails
// with E2BIG and the gateway ends quarantined) and /tmp/package.json variants (Node decides
// from the nearest package.json whether the staged /tmp guards are CommonJS or ESM).
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { bootGateway, containerTracker, logs } from "../helpers/sandbox-container.js";

describe.skipIf(!dockerAvailable())("what the gateway's Node reads at start", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-extra-node");

  it("a NODE_OPTIONS that leaves no room for the guards: guards only, one warn line, gateway healthy", async () => {
    const huge = "--max-old-space-size=512 ".repeat(6000).slice(0, 131000).trim();
    const name = await bootGateway(track, image(), ["-e", `NODE_OPTIONS=${huge}`]);
    await waitHealthy(name);
    expect(await logs(name)).toMatch(/NODE_OPTIONS: the container's 130999-byte value plus the guards exceeds the kernel's 131058-byte limit/);
    expect(await logs(name)).toContain("[preload] sandbox-safety-net active");
    const shell = await exec(name, ["bash", "-lc", 'printf %s "$NODE_OPTIONS"'], { user: "sandbox" });
    expect(shell.stdout).toBe("--require /tmp/nemoclaw-sandbox-safety-net.js --require /tmp/nemoclaw-ciao-network-guard.js");
  }, 120_000);

  for (const [variant, plant] of [
    ["an ESM scope", `echo '{"type":"module"}' > /tmp/package.json`],
    ["a FIFO", "mkfifo /tmp/package.json"],
    ["a symlink", "ln -s /sandbox/.openclaw/openclaw.json /tmp/package.json"],
  ] as const) {
    it(`/tmp/package.json as ${variant} of the sandbox user's: re-pinned at boot, guards load, gateway healthy`, async () => {
      const name = await bootGateway(track, image());
      await exec(name, ["rm", "-f", "/tmp/package.json"], { user: "0" });
      const planted = await exec(name, ["sh", "-c", plant], { user: "sandbox" });
      expect(planted.code, planted.stderr).toBe(0);
      await docker(["restart", "-t", "5", name]);
      await waitHealthy(name, 20_000);
      const pinned = await exec(name, ["sh", "-c", "stat -c '%F %U %a' /tmp/package.json && cat /tmp/package.json"]);
      expect(pinned.stdout).toBe('regular file root 444\n{"type":"commonjs"}\n');
      expect((await logs(name)).split("[preload] sandbox-safety-net active").length - 1).toBe(2);
    }, 120_000);
  }
});
