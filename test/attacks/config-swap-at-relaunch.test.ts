// The gateway reads a config nobody verified (docs/threat-model.md): /sandbox is a volume
// and there is no LINUX_IMMUTABLE, so the sandbox user can rename the root-owned
// /sandbox/.openclaw away and put a directory of its own, with its own token, in its place.
// The supervisor used to verify the config by path at a relaunch and the gateway then read
// the same path: a swap in between made the gateway accept the attacker's token, with status
// "healthy, config locked" and no [SECURITY] line. Now the gateway runs a copy PID 1
// publishes from the bytes it verified, out of the sandbox user's reach.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec, removeContainer, startContainer, uniqueName, waitFor } from "../helpers/docker.js";
import { status } from "../helpers/attack-container.js";
import { containerTracker, logs, waitForLog, LISTENING } from "../helpers/sandbox-container.js";

const EVIL = "e".repeat(64);
const ROUNDS = 15;

/** As the sandbox user, in a loop: the attacker's directory in place of the real one, and back. */
const RACER = `
const fs = require("node:fs");
const crypto = require("node:crypto");
const dir = "/sandbox/.evil";
fs.mkdirSync(dir, { recursive: true });
const config = JSON.stringify({ gateway: { mode: "local", port: 18789, auth: { mode: "token", token: "${EVIL}" } } }, null, 2) + "\\n";
fs.writeFileSync(dir + "/openclaw.json", config);
fs.writeFileSync(dir + "/.config-hash", crypto.createHash("sha256").update(config).digest("hex") + "  openclaw.json\\n");
let swaps = 0;
let stop = false;
process.on("SIGTERM", () => (stop = true));
const step = () => {
  for (let i = 0; i < 200 && !stop; i++) {
    try {
      fs.renameSync("/sandbox/.openclaw", "/sandbox/.real");
      fs.renameSync(dir, "/sandbox/.openclaw");
      fs.renameSync("/sandbox/.openclaw", dir);
      fs.renameSync("/sandbox/.real", "/sandbox/.openclaw");
      swaps++;
    } catch {}
  }
  if (stop) {
    console.log("racer: " + swaps + " swaps");
    process.exit(0);
  }
  setImmediate(step);
};
step();
`;

/** What the gateway answers with the attacker's token: 401 unless it runs the attacker's config. */
async function acceptsEvilToken(name: string): Promise<boolean> {
  const script = `fetch('http://127.0.0.1:18789/health',{headers:{authorization:'Bearer ${EVIL}'}}).then(r=>console.log(r.status),()=>console.log(0))`;
  return (await exec(name, ["node", "-e", script], { user: "sandbox" })).stdout.trim() === "200";
}

describe.skipIf(!dockerAvailable())("a config directory swapped in at a relaunch (volume on /sandbox)", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-swap");

  for (const immutable of [false, true]) {
    it(`never lets the gateway accept the attacker's token over ${ROUNDS} restarts under a rename loop (${immutable ? "with" : "without"} LINUX_IMMUTABLE)`, async () => {
      const volume = uniqueName("ssv-swap-vol");
      await docker(["volume", "create", volume]);
      const name = track();
      const racer = track(uniqueName("ssv-swap-racer"));
      try {
        const caps = immutable ? ["--cap-add", "LINUX_IMMUTABLE"] : [];
        await startContainer(name, [...caps, "-v", `${volume}:/sandbox`, "-e", "SUPERVISOR_PROBE_INTERVAL=0.5", image()]);
        await waitForLog(name, LISTENING);
        await startContainer(racer, ["--user", "1000:1000", "-v", `${volume}:/sandbox`, "--entrypoint", "node", image(), "-e", RACER]);
        let accepted = 0;
        let healthyRounds = 0;
        for (let round = 1; round <= ROUNDS; round++) {
          await exec(name, ["supervisor", "restart", "--timeout", "20"], { timeoutMs: 60_000 });
          const report = await status(name);
          if (report.state === "healthy") healthyRounds++;
          if (await acceptsEvilToken(name)) accepted++;
          const copy = await exec(name, ["cat", "/run/supervisor-gateway/openclaw.json"]);
          expect(copy.stdout, `round ${round}`).not.toContain(EVIL);
        }
        await docker(["stop", "-t", "10", racer]);
        const raced = (await logs(racer)).trim();
        // With the immutable flag no rename of the directory succeeds at all.
        expect(raced).toMatch(immutable ? /^racer: \d+ swaps/ : /^racer: [1-9]\d* swaps/);
        expect(accepted).toBe(0);
        // The real directory is back: the gateway is healthy with the real token.
        await exec(name, ["supervisor", "restart", "--timeout", "30"], { timeoutMs: 60_000 });
        await waitFor(async () => (await status(name)).state === "healthy", 30_000, 200);
        expect(await acceptsEvilToken(name)).toBe(false);
        const refusals = (await logs(name)).split("[SECURITY]").length - 1;
        console.log(`[config swap${immutable ? ", immutable" : ""}] ${ROUNDS} restarts under the loop (${raced}): ${healthyRounds} healthy, ${refusals} [SECURITY] lines, attacker's token accepted 0 times`);
      } finally {
        await removeContainer(racer);
        await removeContainer(name);
        await docker(["volume", "rm", "-f", volume]);
      }
    }, 600_000);
  }
});
