// Attack 2 (docs/threat-model.md): PID 1 hangs at boot. The sandbox user fills ~/.bashrc with 16 MB of
// marker BEGIN lines and the container restarts: the lazy global regex that removed marker
// blocks was quadratic (>10 min at 16 MB), so boot never reached the gateway, at every
// restart. Now a dotfile over the 1 MiB cap is named and left unread, and the block removal
// is one linear scan (a file of BEGIN lines just under the cap goes through it).
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { bootGateway, containerTracker, logs } from "../helpers/sandbox-container.js";

const BEGIN = "# >>> sandbox-supervisor gateway token >>>";

describe.skipIf(!dockerAvailable())("attack 2: a dotfile flooded with marker lines", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-attack2");

  it("boots to a healthy gateway within seconds with a 16 MB marker-line .bashrc and a 1 MB one in .profile", async () => {
    const name = await bootGateway(track, image());
    const plant = await exec(
      name,
      ["sh", "-c", `yes '${BEGIN}' | head -c 16000000 >> ~/.bashrc && yes '${BEGIN}' | head -c 1000000 > ~/.profile`],
      { user: "sandbox" },
    );
    expect(plant.code, plant.stderr).toBe(0);
    const started = Date.now();
    await docker(["restart", "-t", "5", name]);
    await waitHealthy(name, 20_000);
    const seconds = (Date.now() - started) / 1000;
    console.log(`[attack 2] healthy ${seconds.toFixed(1)}s after docker restart with the 16 MB .bashrc`);
    expect(seconds).toBeLessThan(20);
    const output = await logs(name);
    expect(output).toMatch(/marker blocks skipped: \/sandbox\/\.bashrc is \d+ bytes, over the 1048576-byte cap; not read, left alone/);
    // The 1 MB .profile went through the linear scan: its BEGIN lines kept, one block appended.
    const profile = await exec(name, ["sh", "-c", `grep -c '^${BEGIN}$' ~/.profile; tail -n 1 ~/.profile`], { user: "sandbox" });
    expect(profile.stdout).toMatch(/^\d+\n# <<< sandbox-supervisor gateway token <<<\n$/);
  }, 120_000);
});
