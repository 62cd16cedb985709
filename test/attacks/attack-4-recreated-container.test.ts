// Attack 4 (docs/threat-model.md): a tampered config accepted on a recreated container. /sandbox is a
// volume and the container has no LINUX_IMMUTABLE, so the sandbox user can rename its
// .openclaw away and put a self-consistent one (config + matching .config-hash) in its
// place. `docker restart` was refused by the state directory's anchor, but `docker rm` +
// `docker run` on the same volume (every Kubernetes pod restart) starts with an empty state
// directory and booted the open config as "verified". The image's reference of the config
// closes it: a recreated container still has it, and the sandbox user cannot write it.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec, removeContainer, startContainer, waitFor } from "../helpers/docker.js";
import { containerTracker, LISTENING, logs, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-atk4");

/** The sandbox user's plant: gateway open to the LAN with no authentication, hash to match. */
const OPEN_CONFIG = '{"gateway":{"port":18789,"bind":"lan","auth":{"mode":"none","token":""}}}';

async function exitCode(name: string): Promise<string> {
  await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim() === "false", 30_000);
  return (await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim();
}

describe.skipIf(!dockerAvailable())("attack 4: a tampered config on a recreated container", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("is refused with a [SECURITY] line after docker rm + run on the same volume; the untampered volume boots healthy", async () => {
    const volume = `ssv-atk4-${process.pid}-${Date.now().toString(36)}`;
    try {
      const first = track();
      await startContainer(first, ["-v", `${volume}:/sandbox`, image()]);
      await waitForLog(first, LISTENING);
      const plant = await exec(
        first,
        [
          "sh",
          "-c",
          [
            "cd /sandbox && mv .openclaw .openclaw-original && mkdir .openclaw && cd .openclaw",
            `printf '%s\\n' '${OPEN_CONFIG}' > openclaw.json`,
            "sha256sum openclaw.json > .config-hash",
          ].join(" && "),
        ],
        { user: "sandbox" },
      );
      expect(plant.code, plant.stderr).toBe(0);
      await removeContainer(first);

      const recreated = track();
      await startContainer(recreated, ["-v", `${volume}:/sandbox`, image()]);
      expect(await exitCode(recreated)).toBe("78");
      const refused = await logs(recreated);
      expect(refused).toMatch(
        /\[SECURITY\] config integrity: \/sandbox\/\.openclaw\/openclaw\.json differs from the image reference \/usr\/local\/share\/sandbox-supervisor\/openclaw\.reference\.json \(token aside\)/,
      );
      expect(refused).not.toContain("launch:");
      await removeContainer(recreated);

      // The operator puts the supervisor's own config back: a new container boots it.
      const restore = await docker([
        "run", "--rm", "--network", "none", "-v", `${volume}:/sandbox`, "--entrypoint", "sh", image(),
        "-c", "rm -rf /sandbox/.openclaw && mv /sandbox/.openclaw-original /sandbox/.openclaw",
      ]);
      expect(restore.code, restore.stderr).toBe(0);
      const healthy = track();
      await startContainer(healthy, ["-v", `${volume}:/sandbox`, image()]);
      await waitForLog(healthy, LISTENING);
      expect(await logs(healthy)).toContain(
        "config: openclaw.json verified against .config-hash and the image reference /usr/local/share/sandbox-supervisor/openclaw.reference.json (locked posture)",
      );
      await waitFor(async () => (await exec(healthy, ["supervisor", "health"])).code === 0, 30_000);
    } finally {
      for (const name of (await docker(["ps", "-aq", "--filter", `volume=${volume}`])).stdout.split("\n").filter(Boolean)) {
        await removeContainer(name);
      }
      await docker(["volume", "rm", volume]);
    }
  });
});
