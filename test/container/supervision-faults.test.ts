// The fault test bed of supervision that never wedges and never lies (docs/gateway-states.md), in real
// containers of the test image: slow and throttled gateways, gateways that listen only after
// the grace or exit while a restart waits, probes PID 1 cannot make, a full /tmp, failures
// thrown inside the supervisor's own handlers, `docker restart` followed at once by
// `sandboxctl token`. One test per behaviour; each failed on the code before the state machine.
//
// The test gateway reads TEST_GATEWAY_MODE_FILE at each start, so a test changes what the
// next launch does (slow, crashing) while the first one boots normally.
import { spawn, spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { docker, dockerAvailable, ensureTestImage, exec, startContainer, waitFor } from "../helpers/docker.js";
import {
  bootGateway as bootGatewayIn,
  configToken,
  containerTracker,
  hostChildren,
  hostPid,
  logs,
  waitForHealthy,
  waitForLog,
} from "../helpers/sandbox-container.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const SANDBOXCTL = join(resolve(import.meta.dirname, "../.."), "dist", "sandboxctl.cjs");
const MODE_FILE = "/tmp/test-gateway-mode";
const track = containerTracker("ssv-fault");
const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, runArgs);

/** Short timings so that backoff, quarantine and the watchdog play out in seconds. */
const FAST = [
  "-e", "SUPERVISOR_BACKOFF_INITIAL=0.1",
  "-e", "SUPERVISOR_BACKOFF_MAX=0.4",
  "-e", "SUPERVISOR_PROBE_INTERVAL=0.3",
  "-e", "SUPERVISOR_UNHEALTHY_THRESHOLD=2",
  "-e", "SUPERVISOR_STOP_GRACE=2",
  "-e", `TEST_GATEWAY_MODE_FILE=${MODE_FILE}`,
];

async function status(name: string): Promise<StatusReport> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusReport;
}

const waitHealthy = (name: string, notPid?: number, timeoutMs?: number) => waitForHealthy(name, status, notPid, timeoutMs);

/** What the next launch of the test gateway does ("" for a normal start). */
async function nextLaunch(name: string, modes: string): Promise<void> {
  const result = await exec(name, ["sh", "-c", `printf '%s' "$1" > ${MODE_FILE}.new && mv ${MODE_FILE}.new ${MODE_FILE}`, "sh", modes]);
  expect(result.code, result.stderr).toBe(0);
}

async function waitState(name: string, state: string, timeoutMs = 30_000): Promise<StatusReport> {
  let last: StatusReport | undefined;
  await waitFor(async () => (last = await status(name)).state === state, timeoutMs, 100).catch(async (error) => {
    throw new Error(`${(error as Error).message}; last status ${JSON.stringify(last)}\n${await logs(name)}`);
  });
  return last!;
}

function sandboxctl(args: string[], timeoutMs = 60_000) {
  return spawnSync(process.execPath, [SANDBOXCTL, ...args], { encoding: "utf8", timeout: timeoutMs });
}

describe.skipIf(!dockerAvailable())("supervision under faults (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  describe("1. no wedge", () => {
    it("a restart whose gateway would listen only after the grace is answered, and probing goes on until a gateway is healthy", async () => {
      const name = await bootGateway(image(), [...FAST, "-e", "SUPERVISOR_BOOT_GRACE=3"]);
      await waitHealthy(name);
      await nextLaunch(name, "slow-start,start-delay-ms=6000");
      const restart = exec(name, ["supervisor", "restart", "--timeout", "60"], { timeoutMs: 90_000 });
      await waitForLog(name, "slow-start: listening in 6000 ms");
      await nextLaunch(name, "");
      // Whatever became of the slow gateway, the supervisor comes back to a proven, healthy one.
      const final = await waitHealthy(name, undefined, 30_000);
      const answered = await restart;
      expect(answered.code, answered.stderr).toBe(1);
      expect(answered.stderr).toMatch(/restart failed \(health timeout\): gateway pid \d+ not healthy and no progress for 3s; it is being replaced/);
      expect(final.failedBoots).toBe(1);
      expect((await exec(name, ["supervisor", "health"])).code).toBe(0);
    }, 120_000);

    it("a gateway that exits while a restart waits for it ends the wait at once with why", async () => {
      // A backoff long enough for the test to make the next launch a normal one again.
      const name = await bootGateway(image(), [...FAST, "-e", "SUPERVISOR_BACKOFF_INITIAL=3"]);
      await waitHealthy(name);
      await nextLaunch(name, "slow-start,start-delay-ms=60000,crash");
      const restart = await exec(name, ["supervisor", "restart", "--timeout", "120"], { timeoutMs: 60_000 });
      expect(restart.code).toBe(1);
      expect(restart.stderr).toMatch(/restart failed \(launch failure\): gateway pid \d+ exited with 1 before it was healthy/);
      await nextLaunch(name, "");
      const final = await waitHealthy(name);
      expect(final.crashes).toBe(1);
    }, 90_000);
  });

  describe("2. slow gateways", () => {
    it("keeps a gateway that boots slowly on a throttled CPU but makes progress, beyond the grace", async () => {
      const name = await bootGateway(image(), [...FAST, "-e", "SUPERVISOR_BOOT_GRACE=3"]);
      await waitHealthy(name);
      await nextLaunch(name, "busy-start,start-delay-ms=8000");
      expect((await docker(["update", "--cpus", "0.2", name])).code).toBe(0);
      try {
        const restart = await exec(name, ["supervisor", "restart", "--timeout", "60"], { timeoutMs: 90_000 });
        expect(restart.code, restart.stderr + (await logs(name))).toBe(0);
      } finally {
        await docker(["update", "--cpus", "2", name]);
      }
      expect(await logs(name)).toMatch(/gateway pid \d+ is slow to start but making progress \(\d+ ms of CPU time in \d+ ms\): boot grace extended/);
      expect(await status(name)).toMatchObject({ state: "healthy", failedBoots: 0, crashes: 0 });
    }, 120_000);

    it("replaces a gateway that never becomes healthy, backs off and quarantines it after failed boots, with a reason", async () => {
      const name = track();
      await startContainer(name, [
        ...FAST,
        "-e", "TEST_GATEWAY_MODE=slow-start",
        "-e", "TEST_GATEWAY_START_DELAY_MS=600000",
        "-e", "SUPERVISOR_BOOT_GRACE=1",
        "-e", "SUPERVISOR_QUARANTINE_AFTER=3",
        "-e", "SUPERVISOR_PROBATION=0",
        image(),
      ]);
      const report = await waitState(name, "quarantined", 60_000);
      expect(report).toMatchObject({ gateway: null, crashes: 0, failedBoots: 3, probationAt: null });
      expect(report.detail).toMatch(/^3 failed boots within 300s; last: gateway pid \d+ not healthy and no progress for 1s; no relaunch until 'supervisor restart'$/);
      expect((await exec(name, ["supervisor", "health"])).code).toBe(1);
    }, 90_000);
  });

  describe("probes and launches that PID 1 itself cannot make", () => {
    it("does not hold a probe against the gateway when PID 1 has no ephemeral port left", async () => {
      // Two local ports in all; the sandbox user holds both with connections to the gateway.
      const name = await bootGateway(image(), [...FAST, "--sysctl", "net.ipv4.ip_local_port_range=40000 40001"]);
      const before = await waitHealthy(name);
      const hog =
        "const net=require('net');const a=net.connect(18789,'127.0.0.1');a.on('error',e=>console.log('a',e.code));" +
        "const b=net.connect(18789,'127.0.0.1');b.on('error',e=>console.log('b',e.code));setTimeout(()=>process.exit(0),6000)";
      const held = exec(name, ["node", "-e", hog], { user: "sandbox", timeoutMs: 30_000 });
      await waitForLog(name, "probe could not run (PID 1 could not open a socket for GET http://127.0.0.1:18789/");
      const during = await status(name);
      expect(during.detail).toMatch(/^health unknown: PID 1 could not open a socket/);
      await held;
      const after = await waitHealthy(name);
      expect(after.gateway!.pid).toBe(before.gateway!.pid);
      expect(after.restarts).toBe(0);
      expect(await logs(name)).not.toContain("watchdog");
    }, 60_000);

    it("retries a relaunch that finds /tmp full, naming the resource, and never quarantines for it", async () => {
      const name = await bootGateway(image(), [...FAST, "--tmpfs", "/tmp:size=1m,mode=1777", "-e", "SUPERVISOR_QUARANTINE_AFTER=2"]);
      const before = await waitHealthy(name);
      // Verified guards stay in place across a relaunch (attack 7), so one is removed: the
      // relaunch must write it again into the full /tmp.
      await exec(name, ["sh", "-c", "rm -f /tmp/nemoclaw-ciao-network-guard.js; dd if=/dev/zero of=/tmp/filler bs=64k count=100 2>/dev/null; true"]);
      process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
      await waitForLog(name, "waiting for disk space (ENOSPC): retrying the launch", 4);
      const waiting = await status(name);
      expect(waiting.state).toBe("backing-off");
      expect(waiting.detail).toContain("waiting for disk space (ENOSPC)");
      expect(waiting.crashes).toBe(1);
      await exec(name, ["rm", "-f", "/tmp/filler"]);
      const after = await waitHealthy(name, before.gateway!.pid);
      expect(after.crashes).toBe(1);
    }, 60_000);
  });

  describe("3. the token", () => {
    it("`sandboxctl token` after `docker restart` or a kill and start waits for the new boot's token, never prints the old one", async () => {
      // The entropy source becomes a FIFO after the first boot, so later boots wait (token
      // file already removed, new one not yet written) until the test feeds it.
      const name = track();
      await startContainer(name, [
        "-e", "SUPERVISOR_ENTROPY_SOURCE=/var/lib/entropy",
        "--entrypoint", "/bin/sh", image(), "-c",
        "test -p /var/lib/entropy || head -c 32 /dev/urandom > /var/lib/entropy; exec /usr/local/bin/supervisor boot",
      ]);
      await waitHealthy(name);
      const first = sandboxctl(["token", name]);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout.trim()).toBe(await configToken(name));
      await exec(name, ["sh", "-c", "rm /var/lib/entropy && mkfifo -m 600 /var/lib/entropy"]);

      for (const [how, restart] of [
        ["docker restart", ["restart", name]],
        ["docker kill + docker start", ["kill", name]],
      ] as const) {
        expect((await docker(restart)).code, how).toBe(0);
        if (restart[0] === "kill") expect((await docker(["start", name])).code).toBe(0);
        const pending = sandboxctlAsync(["token", name, "--timeout", "60"]);
        await new Promise((r) => setTimeout(r, 2000));
        expect(pending.done(), `${how}: printed ${pending.stdout()} before the new boot wrote its token`).toBe(false);
        await exec(name, ["sh", "-c", "head -c 32 /dev/urandom > /var/lib/entropy"]);
        const result = await pending.result;
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout.trim(), how).toBe(await configToken(name));
        expect(result.stdout.trim(), how).not.toBe(first.stdout.trim());
      }
    }, 120_000);
  });

  describe("4. PID 1 cannot crash", () => {
    it("refuses a gateway user of uid 0, by name or by uid, with 78 and one line", async () => {
      const byName = await docker(["run", "--rm", "--network", "none", "-e", "SUPERVISOR_GATEWAY_USER=root", image()], { timeoutMs: 30_000 });
      expect(byName.code).toBe(78);
      expect(byName.stderr.trim().split("\n")).toContain(
        '[supervisor] gatewayUser "root" (/etc/sandbox-supervisor/config.json or SUPERVISOR_GATEWAY_USER): expected an unprivileged user of the gateway\'s own',
      );
      const byUid = await docker(
        ["run", "--rm", "--network", "none", "-e", "SUPERVISOR_GATEWAY_USER=toor", "--entrypoint", "/bin/sh", image(), "-c",
          "useradd -o -u 0 -g 0 -M toor && exec /usr/local/bin/supervisor boot"],
        { timeoutMs: 30_000 },
      );
      expect(byUid.code).toBe(78);
      expect(byUid.stderr).toContain("[supervisor] gateway user has uid 0: expected an unprivileged user of the gateway's own (setting gatewayUser)");
      expect(byUid.stderr).not.toMatch(/^\s+at /m);
    }, 60_000);

    it("survives failures thrown inside its probe, timer, child-exit, signal, status and request handlers", async () => {
      // The test bundle honours SUPERVISOR_FAULTS; run by node, with the dangerous capabilities
      // dropped by Docker already (so there is no re-exec through setpriv).
      const drops = ["NET_RAW", "DAC_OVERRIDE", "SYS_CHROOT", "FSETID", "SETFCAP", "MKNOD", "AUDIT_WRITE", "NET_BIND_SERVICE"].flatMap((c) => ["--cap-drop", c]);
      const name = track();
      await startContainer(name, [
        ...FAST,
        ...drops,
        "-e", "SUPERVISOR_FAULTS=probe:3,timer:2,reaped:1,signal:1,status:1,request:1",
        "--entrypoint", "/usr/local/bin/node", image(), "/usr/local/lib/test-gateway/supervisor-faults.cjs", "boot",
      ]);
      const pid1 = await hostPid(name);
      const before = await waitHealthy(name);
      process.kill(hostChildren(pid1)[0]!, "SIGKILL");
      const relaunched = await waitHealthy(name, before.gateway!.pid);
      expect(relaunched.crashes).toBe(1);
      const refused = await exec(name, ["supervisor", "restart"]);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toContain("restart failed (unavailable): the supervisor failed to handle the request: injected fault in request");
      expect((await docker(["kill", "--signal", "HUP", name])).code).toBe(0);
      const restart = await exec(name, ["supervisor", "restart"]);
      expect(restart.code, restart.stderr).toBe(0);
      const text = await logs(name);
      for (const handler of ["the health probe", "the probe timer", "the child-exit handler", "the SIGHUP handler"]) {
        expect(text).toMatch(new RegExp(`internal error in ${handler}: injected fault in \\w+`));
      }
      expect(text).not.toMatch(/^\s+at /m);
      expect(await hostPid(name)).toBe(pid1);
      expect((await exec(name, ["supervisor", "health"])).code).toBe(0);
      const stop = await docker(["stop", name]);
      expect(stop.code).toBe(0);
      expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("0");
    }, 90_000);
  });

  describe("5. stop grace below Docker's", () => {
    it("`docker stop` of a gateway that ignores TERM ends with the supervisor's own SIGKILL and exit (143, not Docker's 137), before Docker's", async () => {
      const name = await bootGateway(image(), ["-e", "TEST_GATEWAY_MODE=ignore-term"]);
      await waitHealthy(name);
      const stop = await docker(["stop", name], { timeoutMs: 30_000 });
      expect(stop.code).toBe(0);
      const text = await logs(name);
      expect(text).toContain("received SIGTERM: stopping the gateway (grace 8s)");
      expect(text).toMatch(/still running after 8s: SIGKILL/);
      expect(text).toContain("[supervisor] gateway stopped; exiting");
      // 128 + TERM: PID 1 stopped because it was told to and killed the gateway itself.
      expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("143");
    }, 60_000);
  });

  describe("6. the container log is the audit trail", () => {
    it("logs who asked for each restart, each old gateway's exit and each state change", async () => {
      const name = await bootGateway(image(), FAST);
      const first = await waitHealthy(name);
      expect((await exec(name, ["supervisor", "restart"])).code).toBe(0);
      const second = await waitHealthy(name, first.gateway!.pid);
      expect((await docker(["kill", "--signal", "HUP", name])).code).toBe(0);
      const third = await waitHealthy(name, second.gateway!.pid);
      const viaHost = sandboxctl(["restart", name]);
      expect(viaHost.status, viaHost.stderr).toBe(0);
      const text = await logs(name);
      expect(text).toMatch(/\[supervisor\] restart requested by 'supervisor restart' \(pid \d+, uid 0\)\n/);
      expect(text).toContain("[supervisor] restart requested by signal SIGHUP\n");
      expect(text).toMatch(/\[supervisor\] restart requested by 'supervisor restart --timeout \d+' \(pid \d+, uid 0, via sandboxctl\)\n/);
      for (const old of [first, second, third]) {
        expect(text).toMatch(new RegExp(`\\[supervisor\\] gateway pid ${old.gateway!.pid} exited with 0 \\(expected: restart requested by `));
      }
      expect(text.match(/\[supervisor\] gateway state healthy -> stopping: restart requested by /g)).toHaveLength(3);
      expect(text.match(/\[supervisor\] gateway state starting -> healthy/g)).toHaveLength(4);
    }, 60_000);
  });

  describe("8. probation", () => {
    it("relaunches a quarantined gateway after the cool-down; stable for the period, the quarantine is lifted", async () => {
      const name = await bootGateway(image(), [...FAST, "-e", "SUPERVISOR_QUARANTINE_AFTER=2", "-e", "SUPERVISOR_PROBATION=4", "-e", "SUPERVISOR_STABLE_AFTER=1"]);
      const before = await waitHealthy(name);
      await nextLaunch(name, "crash");
      process.kill(hostChildren(await hostPid(name))[0]!, "SIGKILL");
      const quarantined = await waitState(name, "quarantined");
      expect(quarantined.probationAt).not.toBeNull();
      expect(quarantined.detail).toContain(`probation relaunch at ${quarantined.probationAt}`);
      const text = (await exec(name, ["supervisor", "status"])).stdout;
      expect(text).toContain(`probation     next relaunch at ${quarantined.probationAt}`);
      await nextLaunch(name, "");
      await waitForLog(name, "[supervisor] probation: relaunching the quarantined gateway after a cool-down of 4s");
      await waitForLog(name, "[supervisor] probation passed: gateway pid");
      const after = await waitHealthy(name, before.gateway!.pid);
      expect(after.probationAt).toBeNull();
    }, 60_000);
  });
});

/** sandboxctl in the background: whether it has ended, and its result. */
function sandboxctlAsync(args: string[]) {
  const child = spawn(process.execPath, [SANDBOXCTL, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let ended = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.on("close", (code) => {
      ended = true;
      done({ code, stdout, stderr });
    }),
  );
  return { result, done: () => ended, stdout: () => stdout };
}
