// Attack 6 (docs/threat-model.md): PID 1 OOM-killed at every boot. The sandbox user makes ~/.profile a
// sparse 400 MB file in a container limited to 300 MB; readFileSync loaded it whole. Now
// every read of a file the sandbox user can write is bounded (dotfiles: 1 MiB, config:
// 4 MiB) and goes through an O_NOFOLLOW|O_NONBLOCK descriptor; the oversized file is named
// in one line and left unread.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { bootGateway, containerTracker, logs } from "../helpers/sandbox-container.js";

describe.skipIf(!dockerAvailable())("attack 6: a sparse 400 MB ~/.profile under --memory 300m", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-attack6");

  it("boots to a healthy gateway, PID 1 not OOM-killed, the file named and untouched", async () => {
    const name = await bootGateway(track, image(), ["--memory", "300m", "--memory-swap", "300m"]);
    const plant = await exec(name, ["truncate", "-s", "400M", "/sandbox/.profile"], { user: "sandbox" });
    expect(plant.code, plant.stderr).toBe(0);
    for (let boot = 1; boot <= 2; boot++) {
      await docker(["restart", "-t", "5", name]);
      await waitHealthy(name, 20_000);
    }
    const state = (await docker(["inspect", "-f", "{{.State.OOMKilled}} {{.RestartCount}} {{.State.Running}}", name])).stdout.trim();
    expect(state).toBe("false 0 true");
    expect(await logs(name)).toMatch(
      /marker blocks skipped: \/sandbox\/\.profile is 419430400 bytes, over the 1048576-byte cap; not read, left alone/,
    );
    const size = await exec(name, ["stat", "-c", "%s %U", "/sandbox/.profile"]);
    expect(size.stdout.trim()).toBe("419430400 sandbox");
    // PID 1 stays small: it never held the file.
    const rss = await exec(name, ["sh", "-c", "grep VmHWM /proc/1/status"]);
    const peakKb = Number(/(\d+)/.exec(rss.stdout)![1]);
    console.log(`[attack 6] PID 1 peak RSS ${(peakKb / 1024).toFixed(0)} MB with a 400 MB ~/.profile`);
    expect(peakKb).toBeLessThan(200 * 1024);
  }, 120_000);
});
