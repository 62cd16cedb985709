// Beyond the numbered attacks (docs/threat-model.md): a gateway that writes gigabytes to stdout. The gateway
// inherits PID 1's own stdout and stderr (spawnIsolated clears close-on-exec on fds 0-2 and
// execs; nothing is piped through the supervisor), so its output goes straight to the
// container runtime and PID 1 never buffers a byte of it. Proved by the descriptors being
// one pipe, and by PID 1's peak memory after 1.25 GB under --memory 300m. Wrapped as JSON
// (SUPERVISOR_LOG_GATEWAY_OUTPUT=wrap), the output does pass through PID 1: an overlong line is
// cut, every line is one object, and PID 1's memory stays bounded.
import { describe, expect, it } from "vitest";
import { readFileSync, readlinkSync } from "node:fs";
import { docker, dockerAvailable, ensureTestImage, startContainer, waitFor } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { containerTracker, hostChildPid, hostPid, logs } from "../helpers/sandbox-container.js";

const FLOOD_THEN_SERVE = JSON.stringify([
  "/bin/sh",
  "-c",
  "head -c 1G /dev/zero; head -c 256M /dev/zero >&2; exec /usr/local/bin/node /usr/local/lib/test-gateway/server.js gateway run --port 18789",
]);

describe.skipIf(!dockerAvailable())("a gateway flooding its stdout", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-extra-flood");

  it("1.25 GB of gateway output pass by PID 1: same pipe, no growth, gateway healthy", async () => {
    const name = track();
    // --log-driver none: the runtime drains the pipe and keeps nothing on the host's disk.
    await startContainer(name, [
      "--log-driver", "none", "--memory", "300m", "--memory-swap", "300m",
      "-e", `SUPERVISOR_GATEWAY_COMMAND=${FLOOD_THEN_SERVE}`, "-e", "SUPERVISOR_BOOT_GRACE=120",
      image(),
    ]);
    await waitHealthy(name, 100_000);
    // From the host: PID 1 and its gateway are not dumpable, so even root inside cannot read their fds.
    const pid1 = await hostPid(name);
    const gateway = hostChildPid(pid1);
    expect(readlinkSync(`/proc/${gateway}/fd/1`)).toBe(readlinkSync(`/proc/${pid1}/fd/1`));
    expect(readlinkSync(`/proc/${gateway}/fd/2`)).toBe(readlinkSync(`/proc/${pid1}/fd/2`));
    const peakKb = Number(/^VmHWM:\s*(\d+)/m.exec(readFileSync(`/proc/${pid1}/status`, "utf8"))![1]);
    console.log(`[gateway output flood] PID 1 peak RSS ${(peakKb / 1024).toFixed(0)} MB after 1.25 GB of gateway output; stdout ${readlinkSync(`/proc/${pid1}/fd/1`)}`);
    expect(peakKb).toBeLessThan(150 * 1024);
    const state = (await docker(["inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}", name])).stdout.trim();
    expect(state).toBe("false true");
  }, 180_000);

  it("wrapped as JSON: a 256 MB line is cut, 20,000 lines of 1,000 bytes each one object, PID 1 bounded", async () => {
    const name = track();
    const command = JSON.stringify([
      "/bin/sh",
      "-c",
      "head -c 256M /dev/zero | tr '\\0' x; echo; yes $(printf %01000d 0) | head -n 20000; echo to-stderr >&2; " +
        "exec /usr/local/bin/node /usr/local/lib/test-gateway/server.js gateway run --port 18789",
    ]);
    await startContainer(name, [
      "--memory", "300m", "--memory-swap", "300m",
      "-e", "SUPERVISOR_LOG_FORMAT=json", "-e", "SUPERVISOR_LOG_GATEWAY_OUTPUT=wrap",
      "-e", `SUPERVISOR_GATEWAY_COMMAND=${command}`, "-e", "SUPERVISOR_BOOT_GRACE=120",
      image(),
    ]);
    await waitHealthy(name, 100_000);
    const pid1 = await hostPid(name);
    const gateway = hostChildPid(pid1);
    // The gateway writes into pipes PID 1 reads, not PID 1's own stdout.
    expect(readlinkSync(`/proc/${gateway}/fd/1`)).not.toBe(readlinkSync(`/proc/${pid1}/fd/1`));
    const peakKb = Number(/^VmHWM:\s*(\d+)/m.exec(readFileSync(`/proc/${pid1}/status`, "utf8"))![1]);
    console.log(`[gateway output wrapped] PID 1 peak RSS ${(peakKb / 1024).toFixed(0)} MB after 276 MB of gateway output`);
    expect(peakKb).toBeLessThan(150 * 1024);
    let records: Array<Record<string, unknown>> = [];
    await waitFor(async () => {
      const text = await logs(name);
      records = text.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      return records.some((r) => typeof r.message === "string" && r.message.includes("listening on"));
    }, 30_000, 500);
    const fromGateway = records.filter((r) => r.source === "gateway");
    const cut = fromGateway.filter((r) => r.cut === true);
    expect(cut).toHaveLength(1);
    expect(cut[0]).toMatchObject({ event: "gateway.output", stream: "stdout", message: "x".repeat(16 * 1024) });
    const full = fromGateway.filter((r) => r.message === "0".repeat(1000));
    const dropped = records.filter((r) => r.event === "gateway.output-dropped").reduce((n, r) => n + Number(r.lines), 0);
    expect(full.length + dropped).toBe(20_000);
    expect(fromGateway).toContainEqual(expect.objectContaining({ stream: "stderr", message: "to-stderr" }));
    const listening = fromGateway.find((r) => String(r.message).includes("listening on"))!;
    expect(listening.pid).toBe(Number(/^\d+/.exec(String(listening.message).split("pid ")[1] ?? "")?.[0]));
  }, 180_000);
});
