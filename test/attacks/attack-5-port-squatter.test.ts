// Attack 5 (docs/threat-model.md) (the squatter half): a sandbox process that tries every 5 ms to
// listen on the gateway's port wins it in the moment a relaunch leaves it free; the new
// gateway died with EADDRINUSE until quarantined, and a root `supervisor restart` failed
// too. Default deployment: the supervisor names the listener (uid and pid) in a [SECURITY]
// line and, in root mode, ends it before the launch, so the gateway recovers. Hardened
// deployment (the port made privileged, the gateway alone given CAP_NET_BIND_SERVICE): the
// sandbox user cannot listen on the port at all.
// The other half (probes that cannot run because the sandbox user holds every ephemeral
// port) is the state machine's (docs/gateway-states.md): a probe that cannot run never counts against the gateway.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCapabilityMask } from "../../supervisor/shared/capabilities.js";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, waitFor } from "../helpers/docker.js";
import { bootGateway as bootGatewayIn, containerTracker, hostChildren, hostPid, logs, waitForHealthy, waitForLog } from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-atk5");
const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, runArgs);

const FAST = ["-e", "SUPERVISOR_BACKOFF_INITIAL=0.2", "-e", "SUPERVISOR_BACKOFF_MAX=0.5", "-e", "SUPERVISOR_STOP_GRACE=2"];
const HARDENED = ["--sysctl", "net.ipv4.ip_unprivileged_port_start=18790", "-e", "SUPERVISOR_GATEWAY_NET_BIND_SERVICE=1"];

/** Every 5 ms: try to listen on the gateway's port; says so once it holds it. */
const SQUATTER =
  "const net=require('net');const t=setInterval(()=>{const s=net.createServer();" +
  "s.on('error',(e)=>{if(e.code!=='EADDRINUSE')console.log('error '+e.code)});" +
  "s.listen(18789,'127.0.0.1',()=>{console.log('won');clearInterval(t)})},5)";

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

const waitHealthy = (name: string, notPid?: number, timeoutMs?: number) => waitForHealthy(name, status, notPid, timeoutMs);

async function startSquatter(name: string): Promise<number> {
  expect((await docker(["exec", "-d", "-u", "sandbox", name, "node", "-e", SQUATTER])).code).toBe(0);
  let pid = 0;
  await waitFor(async () => {
    pid = Number((await exec(name, ["pgrep", "-u", "sandbox", "-n", "node"])).stdout.trim());
    return pid > 0;
  }, 10_000);
  return pid;
}

async function alive(name: string, pid: number): Promise<boolean> {
  return (await exec(name, ["kill", "-0", String(pid)])).code === 0;
}

describe.skipIf(!dockerAvailable())("attack 5: a sandbox process squats the gateway's port during a relaunch", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  it("default deployment: the squatter is named and ended, a restart and a crash relaunch both recover", async () => {
    const name = await bootGateway(image(), FAST);
    const first = await waitHealthy(name);

    // A root restart while the squatter waits for the port.
    const squatter = await startSquatter(name);
    const restart = await exec(name, ["supervisor", "restart"], { timeoutMs: 60_000 });
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    await waitForLog(name, `[SECURITY] port 18789: a listener of uid 1000 (pid ${squatter}) holds the gateway's port at 127.0.0.1: ended pid ${squatter} (SIGKILL)`);
    expect(await alive(name, squatter)).toBe(false);
    const second = await waitHealthy(name, first.gateway!.pid);

    // The gateway dies and the squatter takes the port before the relaunch.
    const again = await startSquatter(name);
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    await waitForLog(name, `[SECURITY] port 18789: a listener of uid 1000 (pid ${again}) holds the gateway's port at 127.0.0.1: ended pid ${again} (SIGKILL)`);
    const third = await waitHealthy(name, second.gateway!.pid, 20_000);
    expect(third.state).toBe("healthy");
    expect(await logs(name)).not.toContain("quarantined");

    // Reported: Docker sets ip_unprivileged_port_start=0 in a container, every port is anyone's.
    expect(third.port).toEqual({ port: 18789, protected: false, unprivilegedPortStart: 0 });
    expect((await exec(name, ["supervisor", "status"])).stdout).toMatch(/^port +18789, not protected: any user may listen on it \(ip_unprivileged_port_start=0\)$/m);
    expect(await logs(name)).toContain("[supervisor] port: 18789 is not protected (ip_unprivileged_port_start=0)");
  });

  it("hardened deployment: the sandbox user cannot listen on the port, the gateway alone can, and stays healthy", async () => {
    const name = await bootGateway(image(), [...HARDENED, ...FAST]);
    const first = await waitHealthy(name);
    expect(first.port).toEqual({ port: 18789, protected: true, unprivilegedPortStart: 18790 });
    expect(first.capabilities.gatewayKept).toEqual([]);
    expect((await exec(name, ["supervisor", "status"])).stdout).toMatch(/^port +18789, protected \(ip_unprivileged_port_start=18790\)$/m);
    const boot = await logs(name);
    expect(boot).toContain("; kept net_bind_service for the gateway alone");
    expect(boot).toContain("[supervisor] port: 18789 is protected (ip_unprivileged_port_start=18790); the gateway alone gets CAP_NET_BIND_SERVICE to listen on it");
    expect(boot).not.toContain("[SECURITY]");

    // The gateway holds net_bind_service as its only capability; the sandbox user has none.
    const gatewayStatus = readFileSync(`/proc/${hostChildren(await hostPid(name))[0]}/status`, "utf8");
    const set = (field: string) => [...decodeCapabilityMask(new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(gatewayStatus)![1]!)];
    expect(set("CapAmb")).toEqual(["net_bind_service"]);
    expect(set("CapEff")).toEqual(["net_bind_service"]);
    const one = await exec(name, ["node", "-e", "require('net').createServer().on('error',e=>console.log(e.code)).listen(18788,'127.0.0.1')"], {
      user: "sandbox",
    });
    expect(one.stdout.trim()).toBe("EACCES");

    // The squatter never wins, through a restart and a crash.
    expect((await docker(["exec", "-d", "-u", "sandbox", name, "sh", "-c", `node -e "${SQUATTER}" > /tmp/squatter.log 2>&1`])).code).toBe(0);
    const restart = await exec(name, ["supervisor", "restart"], { timeoutMs: 60_000 });
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    const second = await waitHealthy(name, first.gateway!.pid);
    process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
    await waitHealthy(name, second.gateway!.pid, 20_000);
    const tries = (await exec(name, ["cat", "/tmp/squatter.log"])).stdout;
    expect(tries).toContain("error EACCES");
    expect(tries).not.toContain("won");
    expect(await logs(name)).not.toContain("[SECURITY]");
  });
});
