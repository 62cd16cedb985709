// Attack 1 (docs/threat-model.md): root acts on a file the attacker chooses. /sandbox is a volume; a
// second container on the same volume runs, as uid 1000, a renameat2(RENAME_EXCHANGE) loop
// that swaps /sandbox/.openclaw with a symlink to /etc/passwd (or /etc/shadow) while the
// supervisor's container boots again and again. Before the fix, root's chown/chmod of the
// config directory by path gave /etc/passwd to sandbox:sandbox (mutable posture, ~5 boots)
// and /etc/shadow mode 0755 (locked). Now every change goes to the directory's descriptor,
// opened without following a symlink and proven to hold the verified config.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, removeContainer, startContainer, uniqueName } from "../helpers/docker.js";
import { compileStatic, ownership, waitHealthy } from "../helpers/attack-container.js";
import { containerTracker, logs, waitForLog, LISTENING } from "../helpers/sandbox-container.js";

const PRISTINE = "/etc/passwd root:root 644\n/etc/shadow root:shadow 640";

/** /etc/passwd or /etc/shadow in `docker diff`: root changed them (a chown or chmod copies them up). */
async function touchedSystemFiles(name: string): Promise<string[]> {
  const diff = await docker(["diff", name]);
  return diff.stdout.split("\n").filter((line) => /\s\/etc\/(passwd|shadow)$/.test(line));
}

describe.skipIf(!dockerAvailable())("attack 1: a symlink swapped in for the config directory during boot", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-attack1");

  for (const { posture, target, boots } of [
    { posture: "mutable", target: "/etc/passwd", boots: 60 },
    { posture: "locked", target: "/etc/shadow", boots: 30 },
  ]) {
    it(`never lets ${boots} boots under a RENAME_EXCHANGE loop change ${target} (${posture} posture)`, async () => {
      const swapLoop = compileStatic("swap-loop.c");
      const volume = uniqueName("ssv-attack1-vol");
      await docker(["volume", "create", volume]);
      const name = track();
      const racer = track(uniqueName("ssv-attack1-racer"));
      try {
        await startContainer(name, ["-v", `${volume}:/sandbox`, "-e", `SUPERVISOR_CONFIG_POSTURE=${posture}`, image()]);
        await waitForLog(name, LISTENING);
        await startContainer(racer, [
          "--user", "1000:1000", "-v", `${volume}:/sandbox`, "-v", `${swapLoop}:/swap-loop:ro`,
          "--entrypoint", "/swap-loop", image(), "/sandbox/.openclaw", "/sandbox/.swapped", target,
        ]);
        const started = Date.now();
        for (let boot = 1; boot <= boots; boot++) {
          await docker(["restart", "-t", "2", name]);
          // Long enough for the boot chain to pass the posture and the lock.
          await new Promise((r) => setTimeout(r, 400));
          expect(await touchedSystemFiles(name), `boot ${boot}`).toEqual([]);
        }
        const seconds = ((Date.now() - started) / 1000).toFixed(0);
        await docker(["stop", "-t", "10", racer]);
        const raced = (await logs(racer)).trim();
        expect(raced).toMatch(/^swap-loop: [1-9]\d* swaps/);
        const refusals = (await logs(name)).split("[SECURITY] token:").length - 1;
        console.log(`[attack 1, ${posture}] ${boots} boots in ${seconds}s under the loop (${raced}); ${refusals} boots refused a swapped directory`);

        // The loop put the directory back on exit: the next boot is healthy, nothing leaked.
        await docker(["restart", "-t", "2", name]);
        await waitHealthy(name);
        expect(await ownership(name, ["/etc/passwd", "/etc/shadow"])).toBe(PRISTINE);
        expect(await touchedSystemFiles(name)).toEqual([]);
      } finally {
        await removeContainer(racer);
        await removeContainer(name);
        await docker(["volume", "rm", "-f", volume]);
      }
    }, 600_000);
  }
});
