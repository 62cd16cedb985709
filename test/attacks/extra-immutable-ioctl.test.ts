// Attack 1's fix class (docs/threat-model.md) and the boot that runs no program (docs/startup-and-memory.md): the immutable flag is set and cleared with
// FS_IOC_GETFLAGS/FS_IOC_SETFLAGS on descriptors opened without following a symlink, not by
// `chattr` processes acting on paths. A tripwire mounted over /usr/bin/chattr records any run.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { bootGateway, containerTracker, logs } from "../helpers/sandbox-container.js";

describe.skipIf(!dockerAvailable())("the config lock without chattr", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-extra-ioctl");

  it("hardens, unlocks and re-locks across a restart through ioctls; chattr never runs", async () => {
    const tripwire = join(mkdtempSync(join(tmpdir(), "chattr-tripwire-")), "chattr");
    writeFileSync(tripwire, '#!/bin/sh\necho "chattr $*" >> /run/chattr-ran\nexit 1\n');
    chmodSync(tripwire, 0o755);
    const name = await bootGateway(track, image(), ["--cap-add", "LINUX_IMMUTABLE", "-v", `${tripwire}:/usr/bin/chattr:ro`]);
    await docker(["restart", "-t", "5", name]);
    await waitHealthy(name);
    const output = await logs(name);
    expect(output.split("config lock: hardened (config directory and files immutable)").length - 1).toBe(2);
    const lsattr = await exec(name, ["lsattr", "-d", "/sandbox/.openclaw", "/sandbox/.openclaw/openclaw.json", "/sandbox/.openclaw/.config-hash"]);
    for (const line of lsattr.stdout.trim().split("\n")) expect(line).toMatch(/^\S*i\S* /);
    const ran = await exec(name, ["sh", "-c", "cat /run/chattr-ran 2>/dev/null || echo none"]);
    expect(ran.stdout.trim()).toBe("none");
  }, 120_000);
});
