// Gateway supervision and the control channel (docs/gateway-states.md, docs/supervisor-restart.md) in real containers with the
// test gateway: restarts, crash loops, the watchdog, stray cleanup, identity proofs. The
// whole suite runs on the amd64 image and on the arm64 image under qemu (slower: fewer
// repetitions and longer bounds there, the same assertions).
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../../supervisor/supervise/crash-policy.js";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { arm64TestsEnabled, docker, dockerAvailable, ensureTestImage, exec, waitFor, type Arch } from "../helpers/docker.js";
import {
  bootGateway as bootGatewayIn,
  boundingSet,
  configToken,
  containerTracker,
  hostChildren,
  hostPid,
  LISTENING,
  logs,
  waitForHealthy,
  waitForLog,
} from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const track = containerTracker("ssv-sup");

/** Short timings so crash loops and the watchdog play out in seconds. */
const FAST = [
  "-e", "SUPERVISOR_BACKOFF_INITIAL=0.1",
  "-e", "SUPERVISOR_BACKOFF_MAX=0.8",
  "-e", "SUPERVISOR_PROBE_INTERVAL=0.3",
  "-e", "SUPERVISOR_UNHEALTHY_THRESHOLD=2",
  "-e", "SUPERVISOR_STOP_GRACE=2",
];

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

/** Live (non-zombie) processes of the gateway user in the container. */
async function gatewayUserProcesses(name: string): Promise<number[]> {
  const result = await exec(name, ["ps", "-u", "gateway", "-o", "pid=,stat="]);
  return result.stdout
    .trim()
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().split(/\s+/)[1]!.startsWith("Z"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}


/** Calls the test gateway's authorized endpoints from a sandbox login shell (it has the token). */
async function gatewayControl(name: string, action: string): Promise<Record<string, unknown>> {
  const script =
    `fetch('http://127.0.0.1:18789/control/${action}',{method:'POST',headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN}})` +
    ".then(r=>r.text()).then(t=>console.log(t))";
  const result = await exec(name, ["bash", "-lc", `node -e "${script}"`], { user: "sandbox" });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function processExists(name: string, pid: number): Promise<boolean> {
  const result = await exec(name, ["sh", "-c", `test -e /proc/${pid} && ! grep -q '^State:.Z' /proc/${pid}/status`]);
  return result.code === 0;
}

/** How much slower than amd64 an architecture runs here (arm64: qemu user emulation). */
const SLOWDOWN: Record<Arch, number> = { amd64: 1, arm64: 6 };

function supervisionSuite(arch: Arch, enabled: boolean): void {
  describe.skipIf(!enabled)(`gateway supervision in a container (${arch})`, () => {
    const slow = SLOWDOWN[arch];
    const platform = ["--platform", `linux/${arch}`];
    const image = () => ensureTestImage(arch);
    const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, [...platform, ...runArgs], 30_000 * slow);
    const waitHealthy = (name: string, notPid?: number, timeoutMs = 30_000) => waitForHealthy(name, status, notPid, timeoutMs * slow);
    it("builds the test image", () => expect(image()).toMatch(new RegExp(`-test:${arch}$`)), BUILD_TIMEOUT_MS);

    it("boots through the whole chain on this architecture: capabilities dropped, config verified and locked by ioctl, a new token after a restart", async () => {
      const name = await bootGateway(image(), ["--cap-add", "LINUX_IMMUTABLE"]);
      const report = await waitHealthy(name);
      const output = await logs(name);
      expect(output).toMatch(/config: openclaw\.json verified against \.config-hash/);
      expect(output).toContain("config lock: hardened");
      expect(report.capabilities).toEqual({ gatewayKept: [], supervisorKept: [] });
      const pid1 = await hostPid(name);
      expect(boundingSet(pid1).has("setuid")).toBe(true); // what PID 1 keeps to step down
      for (const cap of ["sys_admin", "sys_ptrace", "net_raw", "dac_override"]) expect(boundingSet(pid1).has(cap), cap).toBe(false);
      for (const cap of ["setuid", "setgid", "chown", "fowner", "kill"]) expect(boundingSet(hostChildren(pid1)[0]!).has(cap), cap).toBe(false);
      expect((await exec(name, ["lsattr", "-d", "/sandbox/.openclaw"])).stdout).toMatch(/^\S*i\S* /);
      expect((await exec(name, ["sh", "-c", "echo x > /sandbox/.openclaw/new-file"])).code).not.toBe(0);
      const before = await configToken(name);
      await docker(["restart", name], { timeoutMs: 60_000 * slow });
      await waitForLog(name, LISTENING, 2, 30_000 * slow);
      expect(await configToken(name)).not.toBe(before);
      expect((await exec(name, ["lsattr", "-d", "/sandbox/.openclaw"])).stdout).toMatch(/^\S*i\S* /);
    }, 90_000 * slow);

    it("restarts on `supervisor restart`: prints the new pid, the old one is gone and reaped, exactly one gateway listens", async () => {
      const name = await bootGateway(image());
      const before = await waitHealthy(name);
      const result = await exec(name, ["supervisor", "restart"]);
      expect(result.code, result.stderr).toBe(0);
      const newPid = Number(/^restarted: gateway pid (\d+)$/m.exec(result.stdout)![1]);
      expect(newPid).not.toBe(before.gateway!.pid);
      expect(result.stderr).toContain(`restart: stopping gateway pid ${before.gateway!.pid}`);
      const after = await status(name);
      expect(after).toMatchObject({ state: "healthy", gateway: { pid: newPid, uid: 1001 }, lastExit: { expected: true } });
      expect(await processExists(name, before.gateway!.pid)).toBe(false);
      expect(await gatewayUserProcesses(name)).toEqual([newPid]);
      const listeners = await exec(name, ["sh", "-c", "grep -c ' 0A ' /proc/net/tcp"]);
      expect(listeners.stdout.trim()).toBe("1");
    }, 60_000 * slow);

    it("answers concurrent restarts (ok or busy) and never runs two gateways, nor none at the end", async () => {
      const name = await bootGateway(image());
      await waitHealthy(name);
      const pid1 = await hostPid(name);
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          most = Math.max(most, hostChildren(pid1).length);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const results = await Promise.all(
        Array.from({ length: arch === "amd64" ? 20 : 6 }, () =>
          exec(name, ["supervisor", "restart", "--json", "--timeout", String(120 * slow)], { timeoutMs: 180_000 * slow }),
        ),
      );
      sampling = false;
      await sampler;
      for (const result of results) expect([0, 3], result.stdout + result.stderr).toContain(result.code);
      expect(results.some((r) => r.code === 0)).toBe(true);
      expect(most).toBe(1);
      const final = await waitHealthy(name);
      expect(await gatewayUserProcesses(name)).toEqual([final.gateway!.pid]);
    }, 120_000 * slow);

    it("relaunches after kill -9 with growing backoff, quarantines after the threshold, and recovers on restart", async () => {
      const kills = arch === "amd64" ? 20 : 6;
      const name = await bootGateway(image(), [...FAST, "-e", `SUPERVISOR_QUARANTINE_AFTER=${kills}`]);
      const pid1 = await hostPid(name);
      const policy = { initialBackoffMs: 100, maxBackoffMs: 800, stableAfterMs: 60_000, quarantineAfter: kills, windowMs: 300_000 };
      for (let crash = 1; crash <= kills; crash++) {
        let victim: number | undefined;
        await waitFor(() => (victim = hostChildren(pid1)[0]) !== undefined, 30_000 * slow, 5);
        const killedAt = Date.now();
        process.kill(victim!, "SIGKILL");
        if (crash === kills) break;
        await waitFor(() => hostChildren(pid1).some((p) => p !== victim), 30_000 * slow, 5);
        // The relaunch waited at least the backoff (a lower bound: a busy machine only adds).
        expect(Date.now() - killedAt, `crash ${crash}`).toBeGreaterThanOrEqual(backoffDelayMs(crash, policy) - 20);
      }
      await waitFor(async () => (await status(name)).state === "quarantined", 10_000 * slow);
      await new Promise((r) => setTimeout(r, 2000));
      expect(hostChildren(pid1)).toEqual([]);
      const report = await status(name);
      expect(report).toMatchObject({ state: "quarantined", gateway: null, crashes: kills });
      expect(report.detail).toContain(`${kills} crashes within 300s`);
      expect((await exec(name, ["supervisor", "health"])).code).toBe(1);
      const restart = await exec(name, ["supervisor", "restart"]);
      expect(restart.code, restart.stderr).toBe(0);
      expect((await status(name)).state).toBe("healthy");
    }, 120_000 * slow);

    it("relaunches on restart a gateway that exits 0 after the supervisor's own SIGTERM", async () => {
      const name = await bootGateway(image(), ["-e", "TEST_GATEWAY_MODE=exit0-on-term"]);
      const before = await waitHealthy(name);
      const result = await exec(name, ["supervisor", "restart"]);
      expect(result.code, result.stderr).toBe(0);
      const after = await status(name);
      expect(after).toMatchObject({ state: "healthy", crashes: 0, lastExit: { description: "exited with 0", expected: true } });
      expect(after.gateway!.pid).not.toBe(before.gateway!.pid);
    }, 60_000 * slow);

    it("replaces a gateway that stops listening while alive, within probe interval × threshold plus a restart", async () => {
      const name = await bootGateway(image(), FAST);
      const before = await waitHealthy(name);
      const answer = await gatewayControl(name, "deaf");
      expect(answer).toMatchObject({ ok: true, action: "deaf" });
      const deafAt = Date.now();
      const after = await waitHealthy(name, before.gateway!.pid, 15_000);
      // Bound: 2 failed probes 0.3 s apart, then a restart (grace only if it ignores TERM).
      expect(Date.now() - deafAt).toBeLessThan(10_000 * slow);
      expect(after.crashes).toBe(0);
      expect(await logs(name)).toMatch(/watchdog: gateway pid \d+ 2 failed probes in a row \(nothing listens on port 18789\)/);
    }, 60_000 * slow);

    it("does not kill a slow-starting gateway during its boot grace", async () => {
      const name = track();
      await docker(["run", "-d", "--name", name, "--network", "none", ...platform, "-e", "TEST_GATEWAY_MODE=slow-start",
        "-e", "TEST_GATEWAY_START_DELAY_MS=3000", "-e", `SUPERVISOR_BOOT_GRACE=${20 * slow}`, image()]);
      await waitForLog(name, LISTENING, 1, 30_000 * slow);
      const report = await waitHealthy(name);
      expect(report.restarts).toBe(0);
      expect(await logs(name)).not.toContain("watchdog");
    }, 60_000 * slow);

    it("cleans up a daemonised grandchild of the gateway before the relaunch", async () => {
      const name = await bootGateway(image());
      await waitHealthy(name);
      const answer = await gatewayControl(name, "daemon-child");
      const daemon = Number(answer.childPid);
      expect(daemon).toBeGreaterThan(1);
      await waitFor(() => processExists(name, daemon), 5000 * slow);
      const result = await exec(name, ["supervisor", "restart"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/killed [1-9]\d* remaining process\(es\) of the gateway/);
      expect(await processExists(name, daemon)).toBe(false);
      const final = await status(name);
      expect(await gatewayUserProcesses(name)).toEqual([final.gateway!.pid]);
    }, 60_000 * slow);

    describe("identity proofs", () => {
      it("refuses a request naming a pid whose start time is not the gateway's, and signals nothing", async () => {
        const name = await bootGateway(image());
        const before = await waitHealthy(name);
        await exec(name, ["sh", "-c", "sleep 1000 >/dev/null 2>&1 &"]);
        const sleeper = Number((await exec(name, ["pgrep", "-x", "sleep"])).stdout.trim().split("\n")[0]);
        const startTime = Number((await exec(name, ["cut", "-d", " ", "-f", "22", `/proc/${sleeper}/stat`])).stdout.trim());
        for (const expected of [startTime, startTime + 1, before.gateway!.startTime + 1]) {
          const pid = expected === before.gateway!.startTime + 1 ? before.gateway!.pid : sleeper;
          const result = await exec(name, ["supervisor", "restart", "--expect-pid", String(pid), "--expect-start-time", String(expected)]);
          expect(result.code).toBe(1);
          expect(result.stderr).toContain("restart failed (stale request)");
        }
        expect(await processExists(name, sleeper)).toBe(true);
        expect((await status(name)).gateway?.pid).toBe(before.gateway!.pid);
        const right = await exec(name, ["supervisor", "restart", "--expect-pid", String(before.gateway!.pid), "--expect-start-time", String(before.gateway!.startTime)]);
        expect(right.code, right.stderr).toBe(0);
      }, 60_000 * slow);

      it("does not signal a process named by a leftover state entry whose start time differs", async () => {
        const name = track();
        await docker(["create", "--name", name, "--network", "none", ...platform, image()]);
        // A record from "an earlier supervisor" naming PID 1 with another start time.
        const dir = mkdtempSync(join(tmpdir(), "state-"));
        mkdirSync(join(dir, "supervisor"), { mode: 0o700 });
        writeFileSync(join(dir, "supervisor", "gateway.json"), '{"pid":1,"startTime":1,"uid":1001}\n', { mode: 0o600 });
        const tar = spawnSync("tar", ["-C", dir, "--owner=0", "--group=0", "-c", "supervisor"]);
        expect(spawnSync("docker", ["cp", "-", `${name}:/run/`], { input: tar.stdout }).status).toBe(0);
        await docker(["start", name]);
        await waitForLog(name, LISTENING, 1, 30_000 * slow);
        expect(await logs(name)).toContain("[supervisor] recorded gateway pid 1 is now another process (start time or uid differs): not signalled");
        expect((await waitHealthy(name)).state).toBe("healthy");
      }, 60_000 * slow);
    });

    it("keeps the sandbox user away from the control socket and from the gateway", async () => {
      const name = await bootGateway(image());
      const restart = await exec(name, ["supervisor", "restart"], { user: "sandbox" });
      expect(restart.code).toBe(4);
      expect(restart.stderr).toMatch(/permission denied/i);
      const modes = await exec(name, ["stat", "-c", "%a %U", "/run/supervisor", "/run/supervisor/control.sock"]);
      expect(modes.stdout.trim().split("\n")).toEqual(["700 root", "600 root"]);
      const gatewayPid = (await status(name)).gateway!.pid;
      const kill = await exec(name, ["kill", "-9", String(gatewayPid)], { user: "sandbox" });
      expect(kill.stderr).toMatch(/Operation not permitted/);
    }, 60_000 * slow);

    describe("preload guards before a relaunch", () => {
      it("restores deleted /tmp copies when relaunching after a crash", async () => {
        const name = await bootGateway(image(), FAST);
        const before = await waitHealthy(name);
        await exec(name, ["sh", "-c", "rm -f /tmp/nemoclaw-sandbox-safety-net.js /tmp/nemoclaw-ciao-network-guard.js"]);
        process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
        const after = await waitHealthy(name, before.gateway!.pid);
        expect(after.crashes).toBe(1);
        for (const guard of ["sandbox-safety-net.js", "ciao-network-guard.js"]) {
          expect((await exec(name, ["cmp", `/tmp/nemoclaw-${guard}`, `/usr/local/lib/nemoclaw/preloads/${guard}`])).code).toBe(0);
        }
      }, 60_000 * slow);

      it("refuses an unguarded relaunch when a guard cannot be restored", async () => {
        const name = await bootGateway(image(), FAST);
        await waitHealthy(name);
        await exec(name, ["sh", "-c", "rm -f /usr/local/lib/nemoclaw/preloads/ciao-network-guard.js /tmp/nemoclaw-ciao-network-guard.js"]);
        const pid1 = await hostPid(name);
        process.kill(hostChildren(pid1)[0]!, "SIGKILL");
        await waitForLog(name, "[SECURITY] refusing unguarded gateway relaunch: guard source /usr/local/lib/nemoclaw/preloads/ciao-network-guard.js is missing", 1, 30_000 * slow);
        expect(hostChildren(pid1)).toEqual([]);
        expect(["backing-off", "quarantined"]).toContain((await status(name)).state);
        const restart = await exec(name, ["supervisor", "restart"]);
        expect(restart.code).toBe(1);
        expect(restart.stderr).toContain("restart failed (guards missing)");
      }, 60_000 * slow);
    });

    it("answers bad input with clear errors and keeps PID 1 running", async () => {
      const name = await bootGateway(image());
      await waitHealthy(name);
      const unknown = await exec(name, ["supervisor", "frobnicate"]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("supervisor: unknown command 'frobnicate'");
      const badTimeout = await exec(name, ["supervisor", "restart", "--timeout", "soon"]);
      expect(badTimeout.code).toBe(2);
      expect(badTimeout.stderr).toMatch(/--timeout/);
      const abuse = [
        "const net=require('net');const s='/run/supervisor/control.sock';",
        "const g=net.connect(s,()=>g.write('garbage\\n'));g.on('data',d=>console.log('garbage:'+d.toString().trim()));",
        "const h=net.connect(s,()=>h.write('x'.repeat(1<<20)));h.on('data',d=>console.log('huge:'+d.toString().slice(0,80)));h.on('error',()=>{});",
        "const q=net.connect(s);q.on('error',()=>{});q.on('data',d=>console.log('idle:'+d.toString().trim()));q.on('close',()=>console.log('half-open closed'));",
      ].join("");
      const result = await exec(name, ["node", "-e", abuse], { timeoutMs: 30_000 * slow });
      expect(result.stdout).toMatch(/garbage:.*"bad request"/);
      expect(result.stdout).toMatch(/huge:.*bad request/);
      expect(result.stdout).toContain('idle:{"result":{"ok":false,"layer":"bad request","message":"no complete request line within 5 s"}}');
      expect(result.stdout).toContain("half-open closed");
      expect((await status(name)).state).toBe("healthy");
      expect(await logs(name)).toContain("control: rejected request");
    }, 60_000 * slow);

    it("reports healthy to Docker's HEALTHCHECK", async () => {
      // The image's 5 s timeout per check is for native speed; a health command started
      // under emulation on a loaded host can need more.
      const name = await bootGateway(image(), ["--health-interval", "1s", "--health-start-period", "1s", "--health-timeout", `${5 * slow}s`]);
      await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Health.Status}}", name])).stdout.trim() === "healthy", 30_000 * slow, 250);
    }, 60_000 * slow);

    it("ends `docker stop` with the gateway's own status from the graceful stop", async () => {
      const name = await bootGateway(image());
      await waitHealthy(name);
      const stop = await docker(["stop", "-t", "30", name]);
      expect(stop.code).toBe(0);
      expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("0");
      expect(await logs(name)).toContain("received SIGTERM: stopping the gateway");
    }, 60_000 * slow);
  });
}

supervisionSuite("amd64", dockerAvailable());
supervisionSuite("arm64", arm64TestsEnabled());
