// sandboxctl on several sandboxes at once (docs/sandboxctl.md, "Several containers"): restart
// --all --filter restarts exactly the matching ones, each line naming its container; a list
// of names answers --json with an array; status --all takes a recent health check instead
// of an exec, and --full asks every supervisor. Real containers of the test image.
// Build first: node build.mjs (the image) and node build.mjs --bundle-only (the bundle).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, waitFor } from "../helpers/docker.js";
import { bootGateway, containerTracker, waitForHealthy } from "../helpers/sandbox-container.js";

const SANDBOXCTL = join(resolve(import.meta.dirname, "../.."), "dist", "sandboxctl.cjs");
const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-fleet-ctl");
const image = () => ensureTestImage();
const scratch = mkdtempSync(join(tmpdir(), "sandboxctl-fleet-"));
const xdg = join(scratch, "xdg");
mkdirSync(xdg, { mode: 0o700 });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sandboxctl(args: readonly string[], onStarted?: (child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SANDBOXCTL, "--engine", "docker", ...args], { env: { ...process.env, XDG_RUNTIME_DIR: xdg }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  onStarted?.(child);
  return new Promise((done) => child.on("close", (code) => done({ code, stdout, stderr })));
}

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  return JSON.parse(result.stdout) as StatusReport;
}

describe.skipIf(!dockerAvailable())("sandboxctl on a fleet", () => {
  it("builds the test image", () => expect(image()).toMatch(/-test:(amd64|arm64)$/), BUILD_TIMEOUT_MS);

  it("restart --all --filter label=K=V restarts exactly the three sandboxes with that label, each line naming its container", async () => {
    const label = `ssv-fleet=${process.pid}-${Date.now()}`;
    const labelled = await Promise.all([1, 2, 3].map(() => bootGateway(track, image(), ["--label", label])));
    const other = await bootGateway(track, image());
    const before = new Map(await Promise.all([...labelled, other].map(async (name) => [name, (await waitForHealthy(name, status)).gateway!.pid] as const)));
    const result = await sandboxctl(["restart", "--all", "--filter", `label=${label}`, "--parallel", "2"]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    for (const name of labelled) {
      const after = await status(name);
      expect(after.gateway!.pid).not.toBe(before.get(name));
      expect(lines).toContain(`${name}: restarted: gateway pid ${after.gateway!.pid}`);
      expect(result.stderr).toContain(`${name}: restart: stopping gateway pid ${before.get(name)}`);
    }
    for (const line of result.stderr.trimEnd().split("\n")) expect(labelled.some((name) => line.startsWith(`${name}: `)), line).toBe(true);
    expect((await status(other)).gateway!.pid).toBe(before.get(other));
  }, 180_000);

  it("restart of a list answers --json with one array; a missing container is its own entry and sets the exit status", async () => {
    const one = await bootGateway(track, image());
    await waitForHealthy(one, status);
    const result = await sandboxctl(["restart", one, "no-such-sandbox-x", "--json"]);
    expect(result.code).toBe(3);
    const answers = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatchObject({ container: one, ok: true, pid: expect.any(Number) });
    expect(answers[1]).toMatchObject({ container: "no-such-sandbox-x", ok: false, layer: "not running" });
  }, 120_000);

  it("status --all reads a recent health check instead of an exec; --full asks every supervisor", async () => {
    const label = `ssv-fleet-status=${process.pid}-${Date.now()}`;
    const names = await Promise.all([1, 2].map(() => bootGateway(track, image(), ["--label", label, "--health-interval", "2s"])));
    for (const name of names) {
      await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Health.Status}}", name])).stdout.trim() === "healthy", 60_000, 500);
    }
    const glance = await sandboxctl(["status", "--all", "--filter", `label=${label}`, "--json"]);
    expect(glance.code, glance.stderr).toBe(0);
    const rows = JSON.parse(glance.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.container)).toEqual([...names].sort((a, b) => a.localeCompare(b, "en", { numeric: true })));
    for (const row of rows) expect(row).toMatchObject({ ok: true, state: "healthy", source: "health-check", gateway: { pid: expect.any(Number) } });
    const full = JSON.parse((await sandboxctl(["status", "--all", "--filter", `label=${label}`, "--full", "--json"])).stdout) as Array<Record<string, unknown>>;
    for (const row of full) {
      expect(row.source).toBeUndefined();
      expect(row).toMatchObject({ ok: true, state: "healthy", mode: "root" });
    }
  }, 120_000);

  it("logs of several containers, or --all --filter, names every line; a missing one is exit 3 and named; --follow of two until Ctrl-C", async () => {
    const label = `ssv-fleet-logs=${process.pid}-${Date.now()}`;
    const names = (await Promise.all([1, 2].map(() => bootGateway(track, image(), ["--label", label])))).sort();
    for (const name of names) await waitForHealthy(name, status);
    const listening = (out: string, name: string) => out.split("\n").filter((l) => l.startsWith(`${name}: `) && l.includes("listening on")).length;

    const listed = await sandboxctl(["logs", ...names, "no-such-sandbox-y"]);
    expect(listed.code).toBe(3);
    for (const name of names) expect(listening(listed.stdout, name), listed.stdout).toBe(1);
    expect(listed.stderr).toContain("no-such-sandbox-y: sandboxctl: container no-such-sandbox-y is not running (no such container)\n");
    // One log after the other, each whole: every line of the first before any of the second.
    const order = listed.stdout.split("\n").filter((l) => l !== "").map((l) => l.slice(0, l.indexOf(": ")));
    expect(order.lastIndexOf(names[0]!)).toBeLessThan(order.indexOf(names[1]!));
    for (const line of `${listed.stdout}${listed.stderr}`.trimEnd().split("\n")) expect([...names, "no-such-sandbox-y"].some((n) => line.startsWith(`${n}: `)), line).toBe(true);

    const all = await sandboxctl(["logs", "--all", "--filter", `label=${label}`, "-n", "all"]);
    expect(all.code, all.stderr).toBe(0);
    expect(new Set(all.stdout.trimEnd().split("\n").map((l) => l.slice(0, l.indexOf(": "))))).toEqual(new Set(names));

    // Following both: a restart of each shows up, named, while it runs; Ctrl-C ends it with 130.
    let follower: ChildProcess | undefined;
    const followed = sandboxctl(["logs", ...names, "-f", "-n", "0"], (child) => (follower = child));
    await new Promise((r) => setTimeout(r, 1000));
    for (const name of names) expect((await exec(name, ["supervisor", "restart"])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    follower!.kill("SIGINT");
    const ended = await followed;
    expect(ended.code).toBe(130);
    for (const name of names) expect(listening(ended.stdout, name), ended.stdout).toBe(1);
  }, 180_000);
});
