// SUPERVISOR_LOG_FORMAT=json: every line PID 1 writes is one JSON object with a level and an
// event, through a boot, a restart, a crash with backoff and a stop. The gateway's own
// output (stdout, and the preload guards' "[preload]" lines) passes through untouched.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec, waitFor } from "../helpers/docker.js";
import { bootGateway as bootGatewayIn, containerTracker, LISTENING, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-log");

describe.skipIf(!dockerAvailable())("structured log (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("writes every supervisor line as JSON with level and event through boot, restart, crash and stop", async () => {
    const fast = ["-e", "SUPERVISOR_LOG_FORMAT=json", "-e", "SUPERVISOR_BACKOFF_INITIAL=0.1", "-e", "SUPERVISOR_STOP_GRACE=2"];
    const name = await bootGatewayIn(track, image(), fast);
    expect((await exec(name, ["supervisor", "restart"])).code).toBe(0);
    // A crash: the test gateway exits 1 on /control/crash; the supervisor backs off and relaunches.
    const crash = await exec(name, ["bash", "-lc",
      `node -e "fetch('http://127.0.0.1:18789/control/crash',{method:'POST',headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN}}).then(r=>console.log(r.status))"`], { user: "sandbox" });
    expect(crash.stdout.trim()).toBe("200");
    await waitForLog(name, LISTENING, 3);
    await waitFor(async () => (await exec(name, ["supervisor", "health"])).code === 0, 30_000, 100);
    expect((await docker(["stop", name])).code).toBe(0);

    const output = await docker(["logs", name]);
    const lines = output.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("[preload] "));
    const records = lines.map((line) => {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
      expect(["error", "warn", "info", "debug"], line).toContain(record.level);
      expect(typeof record.event, line).toBe("string");
      expect(typeof record.message, line).toBe("string");
      expect(Number.isNaN(Date.parse(String(record.time))), line).toBe(false);
      return record;
    });
    const messages = records.map((r) => String(r.message)).join("\n");
    // The four phases really happened and were logged.
    expect(messages).toMatch(/token: new 64-hex token/);
    expect((messages.match(/launch: gateway pid/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(messages).toMatch(/exited with 1 unexpectedly/);
    expect(messages).toMatch(/-> backing-off: relaunch in/);
    expect(messages).toMatch(/received SIGTERM/);
    // The gateway's own lines stay on stdout, untouched.
    expect(output.stdout).toContain(LISTENING);
  });
});
