// Gateways without HTTP (SUPERVISOR_HEALTH_MODE): `listener` takes a proven listener on the
// port as healthy, `process` a live launched process; the default `http` does not.
import { describe, expect, it } from "vitest";
import { dockerAvailable, ensureTestImage, exec, startContainer, waitFor } from "../helpers/docker.js";
import { containerTracker, hostChildren, hostPid, logs, waitForHealthy } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-health-mode");
const FAST = ["-e", "SUPERVISOR_PROBE_INTERVAL=0.2", "-e", "SUPERVISOR_BACKOFF_INITIAL=0.1", "-e", "SUPERVISOR_BACKOFF_MAX=0.4"];
/** Accepts TCP connections on the gateway port and closes them: no HTTP. */
const TCP_ONLY = JSON.stringify(["node", "-e", "require('net').createServer((s)=>s.end()).listen(18789,'127.0.0.1')"]);

interface Status {
  state: string;
  detail: string | null;
  gateway: { pid: number } | null;
  restarts: number;
  crashes: number;
}

async function status(name: string): Promise<Status> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  return JSON.parse(result.stdout) as Status;
}

async function boot(image: string, env: string[]): Promise<string> {
  const name = track();
  await startContainer(name, [...FAST, ...env.flatMap((e) => ["-e", e]), image]);
  return name;
}

describe.skipIf(!dockerAvailable())("health modes (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("process: a gateway that never listens stays healthy and is not replaced; its death is still a crash", async () => {
    const name = await boot(image(), ['SUPERVISOR_GATEWAY_COMMAND=["sleep","infinity"]', "SUPERVISOR_HEALTH_MODE=process"]);
    const first = await waitForHealthy(name, status);
    // Many probe intervals and more than the unhealthy threshold later: the same gateway.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const later = await status(name);
    expect(later).toMatchObject({ state: "healthy", restarts: 0, crashes: 0, gateway: { pid: first.gateway!.pid } });
    expect((await exec(name, ["supervisor", "health"])).code).toBe(0);
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    const relaunched = await waitForHealthy(name, status, first.gateway!.pid);
    expect(relaunched.crashes).toBe(1);
  }, 60_000);

  it("listener: a TCP-only gateway is healthy by its proven listener; the default http mode never calls it healthy", async () => {
    const listener = await boot(image(), [`SUPERVISOR_GATEWAY_COMMAND=${TCP_ONLY}`, "SUPERVISOR_HEALTH_MODE=listener"]);
    const healthy = await waitForHealthy(listener, status);
    expect(healthy.restarts).toBe(0);

    const http = await boot(image(), [`SUPERVISOR_GATEWAY_COMMAND=${TCP_ONLY}`]);
    await waitFor(async () => (await logs(http)).includes("launch: gateway pid"), 30_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const refused = await exec(http, ["supervisor", "health"]);
    expect(refused.code).toBe(1);
    expect((await status(http)).state).not.toBe("healthy");
  }, 60_000);
});
