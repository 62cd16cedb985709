// The agent's own config changes in a mutable OpenClaw sandbox (docs/supervisor-boot.md, "Who
// writes the config"), with the real OpenClaw: its CLI as the sandbox user (which leaves the
// directory 0700 and the file 0600: OpenClaw's own secure write) and config.patch through the
// gateway. The gateway keeps serving and hot-reloads the change; `supervisor restart` and
// `docker restart` come back healthy with the change in effect.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, exec, startContainer, waitFor } from "../helpers/docker.js";
import { ensureOpenClawImage, OPENCLAW_BUILD_TIMEOUT_MS } from "../helpers/openclaw-image.js";
import { containerTracker, logs } from "../helpers/sandbox-container.js";

const enabled = process.env.SANDBOX_SUPERVISOR_OPENCLAW_TESTS !== "0" && dockerAvailable();
const track = containerTracker("ssv-openclaw-cfg");
const HEALTHY_TIMEOUT_MS = 120_000;
const MUTABLE = ["-e", "SUPERVISOR_CONFIG_POSTURE=mutable", "-e", "OPENCLAW_CONFIG_READONLY=0"];

interface Status {
  state: string;
  gateway: { pid: number } | null;
  crashes: number;
}

async function status(name: string): Promise<Status> {
  return JSON.parse((await exec(name, ["supervisor", "status", "--json"])).stdout) as Status;
}

async function waitHealthy(name: string, notPid?: number): Promise<Status> {
  let last: Status | undefined;
  await waitFor(async () => (last = await status(name)).state === "healthy" && last.gateway?.pid !== notPid, HEALTHY_TIMEOUT_MS, 500).catch(async (error) => {
    throw new Error(`${(error as Error).message}; last status ${JSON.stringify(last)}\n${await logs(name)}`);
  });
  return last!;
}

/** A sandbox login shell: the token and OpenClaw's settings come from /etc/profile.d. */
function sandboxShell(name: string, script: string) {
  return exec(name, ["bash", "-lc", script], { user: "sandbox", timeoutMs: 120_000 });
}

describe.skipIf(!enabled)("OpenClaw image, mutable posture: the agent's own config changes", () => {
  it("`openclaw config set` as the sandbox user: healthy throughout, restart and docker restart come back with the change", async () => {
    const name = track();
    await startContainer(name, [...MUTABLE, ensureOpenClawImage()]);
    const first = await waitHealthy(name);
    const set = await sandboxShell(name, "openclaw config set gateway.controlUi.enabled false");
    expect(set.code, set.stdout + set.stderr).toBe(0);
    // OpenClaw's own write: the directory 0700, the file 0600, both still the sandbox user's.
    expect((await exec(name, ["stat", "-c", "%U %a", "/sandbox/.openclaw", "/sandbox/.openclaw/openclaw.json"])).stdout.trim()).toBe("sandbox 700\nsandbox 600");
    await waitFor(async () => (await logs(name)).includes("the sandbox user's change carried to the gateway's copy"), 30_000, 500);
    await waitFor(async () => /config hot reload applied \(gateway\.controlUi\.enabled\)/.test(await logs(name)), 60_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await status(name)).toMatchObject({ state: "healthy", crashes: 0, gateway: { pid: first.gateway!.pid } });
    expect(await logs(name)).not.toMatch(/EACCES/);

    const restart = await exec(name, ["supervisor", "restart", "--timeout", "150"], { timeoutMs: 200_000 });
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    expect((await docker(["restart", "-t", "30", name], { timeoutMs: 120_000 })).code).toBe(0);
    await waitHealthy(name);
    const get = await sandboxShell(name, "openclaw config get gateway.controlUi.enabled");
    expect(get.code, get.stdout + get.stderr).toBe(0);
    expect(get.stdout.trim()).toMatch(/false$/);
  }, OPENCLAW_BUILD_TIMEOUT_MS + 10 * 60_000);

  it("config.patch through the gateway: its change reaches the sandbox user's config", async () => {
    const name = track();
    await startContainer(name, [...MUTABLE, ensureOpenClawImage()]);
    await waitHealthy(name);
    const got = await sandboxShell(name, "openclaw gateway call config.get --params '{}' --json");
    expect(got.code, got.stdout + got.stderr).toBe(0);
    const hash = (JSON.parse(got.stdout.slice(got.stdout.indexOf("{"))) as { hash?: string; payload?: { hash?: string } }).hash ?? "";
    expect(hash).not.toBe("");
    const params = JSON.stringify({ raw: "{ gateway: { controlUi: { enabled: false } } }", baseHash: hash });
    const patched = await sandboxShell(name, `openclaw gateway call config.patch --params '${params}' --json`);
    expect(patched.code, patched.stdout + patched.stderr).toBe(0);
    await waitFor(async () => (await logs(name)).includes("the gateway's change carried to the sandbox user's config"), 30_000, 500);
    const seen = await exec(name, ["cat", "/sandbox/.openclaw/openclaw.json"]);
    expect(JSON.parse(seen.stdout)).toMatchObject({ gateway: { controlUi: { enabled: false } } });
    expect((await status(name)).state).toBe("healthy");
  }, OPENCLAW_BUILD_TIMEOUT_MS + 10 * 60_000);
});
