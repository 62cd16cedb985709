// `supervisor boot` in real containers: the boot chain of docs/supervisor-boot.md, observed from
// outside (docker exec, docker cp, the host's /proc) with the test gateway.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pty from "node-pty";
import { describe, expect, it } from "vitest";
import { CHILD_MUST_NOT_HAVE, decodeCapabilityMask, SUPERVISOR_DROPS } from "../../supervisor/shared/capabilities.js";
import { keptByThread, REEXEC_GUARD } from "../../supervisor/boot/capability-drop.js";
import {
  bootGateway as bootGatewayIn,
  boundingSet,
  CONFIG,
  configToken,
  containerTracker,
  hostChildPid,
  hostPid,
  LISTENING,
  logs,
  waitForLog,
} from "../helpers/sandbox-container.js";
import {
  docker,
  dockerAvailable,
  ensureTestImage,
  exec,
  removeContainer,
  runContainer,
  startContainer,
  uniqueName,
  waitFor,
} from "../helpers/docker.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;

const track = containerTracker("ssv-boot");
const bootGateway = (image: string, runArgs: string[] = []) => bootGatewayIn(track, image, runArgs);

/** /whoami of the gateway, asked from a login shell of the sandbox user with its token. */
async function whoamiFromSandboxShell(name: string): Promise<Record<string, unknown>> {
  const script =
    "fetch('http://127.0.0.1:18789/whoami',{headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN}})" +
    ".then(r=>r.text()).then(t=>console.log(t))";
  const result = await exec(name, ["bash", "-lc", `node -e "${script}"`], { user: "sandbox" });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

async function fileFromStoppedContainer(name: string, path: string): Promise<string> {
  const tar = spawnSync("docker", ["cp", `${name}:${path}`, "-"], { maxBuffer: 16 << 20 });
  expect(tar.status).toBe(0);
  return spawnSync("tar", ["-xO"], { input: tar.stdout, encoding: "utf8" }).stdout;
}

async function startAttached(name: string): Promise<{ code: number | null; output: string }> {
  const result = await docker(["start", "-a", name], { timeoutMs: 60_000 });
  return { code: result.code, output: result.stdout + result.stderr };
}

describe.skipIf(!dockerAvailable())("supervisor boot in a container (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toMatch(/-test:amd64$/), BUILD_TIMEOUT_MS);

  describe("gateway token", () => {
    it("differs between two containers of one image and reaches the gateway and the sandbox's login shells", async () => {
      const [a, b] = await Promise.all([bootGateway(image()), bootGateway(image())]);
      const [tokenA, tokenB] = [await configToken(a), await configToken(b)];
      expect(tokenA).toMatch(/^[0-9a-f]{64}$/);
      expect(tokenB).toMatch(/^[0-9a-f]{64}$/);
      expect(tokenA).not.toBe(tokenB);
      const shell = await exec(a, ["bash", "-lc", 'printf %s "$OPENCLAW_GATEWAY_TOKEN"'], { user: "sandbox" });
      expect(shell.stdout).toBe(tokenA);
      const whoami = await whoamiFromSandboxShell(a);
      expect(whoami).toMatchObject({ uid: 1001, gid: 1001, tokenSource: "config", hasTokenEnv: false, preloadsActive: true });
      expect(whoami.groups).toContain(1000);
      expect(await logs(a)).not.toContain(tokenA);
    });

    it("is in no layer and no history entry of the image", async () => {
      const running = await bootGateway(image());
      const token = await configToken(running);
      const history = await docker(["history", "--no-trunc", image()]);
      expect(history.stdout).not.toContain(token);
      const saved = spawnSync("docker", ["save", image()], { maxBuffer: 1 << 30 });
      expect(saved.status).toBe(0);
      expect(saved.stdout.includes(Buffer.from(token))).toBe(false);
      expect(/"token":\s*"[0-9a-f]{64}"/.test(saved.stdout.toString("latin1"))).toBe(false);
    });

    it("rotates when the container restarts", async () => {
      const name = await bootGateway(image());
      const before = await configToken(name);
      await docker(["restart", "-t", "10", name]);
      await waitForLog(name, LISTENING, 2);
      const after = await configToken(name);
      expect(after).toMatch(/^[0-9a-f]{64}$/);
      expect(after).not.toBe(before);
      const shell = await exec(name, ["bash", "-lc", 'printf %s "$OPENCLAW_GATEWAY_TOKEN"'], { user: "sandbox" });
      expect(shell.stdout).toBe(after);
    });

    it("is set in an interactive shell of the sandbox user", async () => {
      const name = await bootGateway(image());
      const token = await configToken(name);
      const term = pty.spawn("docker", ["exec", "-it", "-u", "sandbox", name, "bash", "-i"], { cols: 120, rows: 30 });
      let output = "";
      term.onData((data) => (output += data));
      term.write('echo "T=${OPENCLAW_GATEWAY_TOKEN}="\r');
      try {
        await waitFor(() => /T=[0-9a-f]{64}=/.test(output), 20_000);
      } finally {
        term.write("exit\r");
        term.kill();
      }
      expect(/T=([0-9a-f]{64})=/.exec(output)![1]).toBe(token);
    });

    it("leaves no stale token file or marker block behind when no token can be produced", async () => {
      const first = await bootGateway(image());
      expect((await exec(first, ["test", "-e", "/tmp/nemoclaw-gateway-token.env"])).code).toBe(0);
      await docker(["stop", first]);
      const snapshot = `ssv-boot-snapshot:${Date.now()}`;
      expect((await docker(["commit", first, snapshot])).code).toBe(0);
      const name = track();
      try {
        await startContainer(name, ["-e", "SUPERVISOR_ENTROPY_SOURCE=/nonexistent", snapshot]);
        await waitForLog(name, LISTENING);
        expect(await logs(name)).toContain("token: none produced (cannot open /nonexistent: ENOENT)");
        expect((await exec(name, ["test", "-e", "/tmp/nemoclaw-gateway-token.env"])).code).toBe(1);
        const rc = await exec(name, ["cat", "/sandbox/.bashrc", "/sandbox/.profile"]);
        expect(rc.stdout).not.toContain("sandbox-supervisor gateway token");
        const shell = await exec(name, ["bash", "-lc", 'printf %s "${OPENCLAW_GATEWAY_TOKEN-unset}"'], { user: "sandbox" });
        expect(shell.stdout).toBe("unset");
      } finally {
        await removeContainer(name);
        await docker(["rmi", snapshot]);
      }
    });
  });

  describe("config integrity", () => {
    for (const posture of ["locked", "mutable"] as const) {
      it(`leaves a matching .config-hash and the ${posture} layout after boot`, async () => {
        const name = await bootGateway(image(), ["-e", `SUPERVISOR_CONFIG_POSTURE=${posture}`]);
        const check = await exec(name, ["sh", "-c", "cd /sandbox/.openclaw && sha256sum -c .config-hash"]);
        expect(check.stdout.trim()).toBe("openclaw.json: OK");
        const modes = await exec(name, ["stat", "-c", "%a %U:%G", "/sandbox/.openclaw", CONFIG, "/sandbox/.openclaw/.config-hash"]);
        expect(modes.stdout.trim().split("\n")).toEqual(
          posture === "locked"
            ? ["755 root:root", "444 root:root", "444 root:root"]
            : ["2770 sandbox:sandbox", "660 sandbox:sandbox", "660 sandbox:sandbox"],
        );
      });
    }

    it("refuses a tampered config in the locked posture with a [SECURITY] line, leaving it untouched", async () => {
      const name = track();
      expect((await docker(["create", "--name", name, "--network", "none", image()])).code).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), "tamper-"));
      const tampered = '{"gateway":{"auth":{"token":"attacker-chosen"}}}\n';
      writeFileSync(join(dir, "openclaw.json"), tampered);
      expect((await docker(["cp", join(dir, "openclaw.json"), `${name}:${CONFIG}`])).code).toBe(0);
      const result = await startAttached(name);
      expect(result.code).toBe(78);
      expect(result.output).toMatch(/\[SECURITY\] config integrity: .*openclaw\.json/);
      expect(result.output).not.toContain("launch:");
      expect(await fileFromStoppedContainer(name, CONFIG)).toBe(tampered);
    });

    it("refuses, after a restart, a config directory the sandbox user replaced with a self-consistent one", async () => {
      // On a volume (a persistent /sandbox) directories can be renamed; overlayfs refuses it with EXDEV.
      const volume = `ssv-sandbox-home-${Date.now()}`;
      const name = await bootGateway(image(), ["-v", `${volume}:/sandbox`]);
      const swap = [
        "mv /sandbox/.openclaw /sandbox/.openclaw-original",
        "mkdir /sandbox/.openclaw && cd /sandbox/.openclaw",
        `echo '{"gateway":{"auth":{"token":"attacker-chosen"}}}' > openclaw.json`,
        "sha256sum openclaw.json > .config-hash",
      ].join(" && ");
      const attack = await exec(name, ["sh", "-c", swap], { user: "sandbox" });
      expect(attack.code, attack.stderr).toBe(0);
      await docker(["restart", name]);
      await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim() === "false", 30_000);
      expect((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("78");
      expect(await logs(name)).toMatch(/\[SECURITY\] config integrity: .* is not the config the supervisor last wrote .*: the config directory was replaced/);
      await removeContainer(name);
      await docker(["volume", "rm", volume]);
    });

    it("boots an edited config in the mutable posture, says integrity is not enforced, and lets the gateway write it", async () => {
      const name = track();
      await docker(["create", "--name", name, "--network", "none", "-e", "SUPERVISOR_CONFIG_POSTURE=mutable", image()]);
      const dir = mkdtempSync(join(tmpdir(), "edit-"));
      writeFileSync(join(dir, "openclaw.json"), '{"gateway":{"auth":{"token":""}},"plugins":["edited"]}\n');
      await docker(["cp", join(dir, "openclaw.json"), `${name}:${CONFIG}`]);
      await docker(["start", name]);
      await waitForLog(name, LISTENING);
      expect(await logs(name)).toContain("mutable posture, integrity is not enforced");
      expect(JSON.parse((await exec(name, ["cat", CONFIG])).stdout).plugins).toEqual(["edited"]);
      const write = await exec(name, ["sh", "-c", `printf ' ' >> ${CONFIG}`], { user: "gateway" });
      expect(write.code, write.stderr).toBe(0);
      const denied = await exec(name, ["sh", "-c", `printf ' ' >> ${CONFIG}`], { user: "nobody" });
      expect(denied.code).not.toBe(0);
    });

    it("survives docker kill at random points of many boots: never a broken config, and the next boot succeeds", async () => {
      const name = track();
      await docker(["create", "--name", name, "--network", "none", image()]);
      const rounds = 15;
      for (let round = 0; round < rounds; round++) {
        await docker(["start", name]);
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
        await docker(["kill", name]);
        const config = JSON.parse(await fileFromStoppedContainer(name, CONFIG)) as { gateway: { auth: { token: string } } };
        expect(config.gateway.auth.token).toMatch(/^([0-9a-f]{64})?$/);
      }
      // Logs accumulate over the rounds: wait for one more gateway start than there was.
      const started = (await logs(name)).split(LISTENING).length - 1;
      await docker(["start", name]);
      await waitForLog(name, LISTENING, started + 1);
      const check = await exec(name, ["sh", "-c", "cd /sandbox/.openclaw && sha256sum -c .config-hash"]);
      expect(check.stdout.trim()).toBe("openclaw.json: OK");
      expect(await logs(name)).not.toContain("[SECURITY]");
    });
  });

  describe("capabilities and users", () => {
    it("leaves no must-drop capability in the gateway or a one-shot command, even with SYS_ADMIN and SYS_PTRACE added", async () => {
      const caps = ["--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE"];
      const name = await bootGateway(image(), caps);
      const pid1 = await hostPid(name);
      const gateway = hostChildPid(pid1);
      for (const cap of CHILD_MUST_NOT_HAVE) expect(boundingSet(gateway), cap).not.toContain(cap);
      for (const cap of SUPERVISOR_DROPS) expect(boundingSet(pid1), cap).not.toContain(cap);
      // Every thread of PID 1 dropped them from every set, in-process: no re-exec through
      // setpriv, whose guard variable would be in PID 1's initial environment.
      const threads = readdirSync(`/proc/${pid1}/task`);
      expect(threads.length).toBeGreaterThan(1);
      for (const tid of threads) expect(keptByThread(readFileSync(`/proc/${pid1}/task/${tid}/status`, "utf8"), SUPERVISOR_DROPS), tid).toEqual([]);
      expect(readFileSync(`/proc/${pid1}/environ`, "utf8").split("\0")).not.toContain(`${REEXEC_GUARD}=1`);
      expect(readFileSync(`/proc/${gateway}/status`, "utf8")).toMatch(/^Uid:\s+1001\s+1001\s+1001\s+1001$/m);
      const oneShot = await runContainer([...caps, image(), "sh", "-c", "grep CapBnd /proc/self/status; id -u"]);
      const [bnd, uid] = oneShot.stdout.trim().split("\n");
      const oneShotSet = decodeCapabilityMask(bnd!.split(/\s+/)[1]!);
      for (const cap of CHILD_MUST_NOT_HAVE) expect(oneShotSet, cap).not.toContain(cap);
      expect(uid).toBe("1000");
    });

    it("keeps the sandbox user from signalling the gateway or writing the staged files", async () => {
      const name = await bootGateway(image());
      const gatewayPid = (await exec(name, ["cat", "/proc/1/task/1/children"])).stdout.trim();
      const kill = await exec(name, ["kill", "-TERM", gatewayPid], { user: "sandbox" });
      expect(kill.code).not.toBe(0);
      expect(kill.stderr).toMatch(/Operation not permitted/);
      for (const file of ["nemoclaw-sandbox-safety-net.js", "nemoclaw-ciao-network-guard.js", "nemoclaw-proxy-env.sh", "package.json"]) {
        const write = await exec(name, ["sh", "-c", `echo x > /tmp/${file} || rm -f /tmp/${file} || mv /tmp/${file} /tmp/x`], { user: "sandbox" });
        expect(write.code, file).not.toBe(0);
      }
      expect((await exec(name, ["cat", "/proc/1/task/1/children"])).stdout.trim()).toBe(gatewayPid);
    });

    it("names the residual capabilities without CAP_SETPCAP, and refuses to boot with SUPERVISOR_REQUIRE_CAP_DROP=1", async () => {
      const name = await bootGateway(image(), ["--cap-drop", "SETPCAP"]);
      const output = await logs(name);
      expect(output).toMatch(/\[SECURITY\] capabilities: PID 1 keeps .*net_raw.* \(no CAP_SETPCAP to drop them\)/);
      expect(output).toMatch(/\[SECURITY\] capabilities: gateway pid \d+ keeps .*cap_setuid.*cap_setgid/);
      const strict = await runContainer(["--cap-drop", "SETPCAP", "-e", "SUPERVISOR_REQUIRE_CAP_DROP=1", image()]);
      expect(strict.code).toBe(78);
      expect(strict.stderr).toMatch(/\[SECURITY\] capabilities: a launched child would keep .*SUPERVISOR_REQUIRE_CAP_DROP=1 refuses the launch/);
      expect(strict.stdout).not.toContain("[test-gateway]");
    });
  });

  it("boots in non-root mode with --user sandbox and no-new-privileges, saying which protections are off", async () => {
    const name = await bootGateway(image(), ["--user", "sandbox", "--security-opt", "no-new-privileges"]);
    expect(await logs(name)).toMatch(/\[SECURITY\] non-root mode \(uid 1000\): no capability drop/);
    const whoami = await whoamiFromSandboxShell(name);
    expect(whoami).toMatchObject({ uid: 1000, tokenSource: "env", hasTokenEnv: true, preloadsActive: true });
  });

  it("does not lose a TERM that arrives while the boot chain runs", async () => {
    // A FIFO as the entropy source holds the chain at step 4 until the test writes to it.
    const name = track();
    await startContainer(name, [
      "-e", "SUPERVISOR_ENTROPY_SOURCE=/tmp/entropy", "--entrypoint", "sh", image(),
      "-c", "mkfifo /tmp/entropy && exec /usr/local/bin/supervisor boot",
    ]);
    await waitForLog(name, "[supervisor] config: openclaw.json verified");
    await docker(["kill", "--signal", "TERM", name]);
    await exec(name, ["sh", "-c", "head -c 32 /dev/urandom > /tmp/entropy"]);
    await waitFor(async () => (await docker(["inspect", "-f", "{{.State.Running}}", name])).stdout.trim() === "false", 30_000);
    expect(["0", "143"]).toContain((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim());
    expect(await logs(name)).toContain("received SIGTERM: stopping the gateway");
  });

  describe("config lock", () => {
    it("makes the config directory immutable with LINUX_IMMUTABLE, and a restart still rewrites it", async () => {
      const name = await bootGateway(image(), ["--cap-add", "LINUX_IMMUTABLE"]);
      expect(await logs(name)).toContain("config lock: hardened");
      expect((await exec(name, ["lsattr", "-d", "/sandbox/.openclaw"])).stdout).toMatch(/^\S*i\S* /);
      for (const attack of [
        "echo x > /sandbox/.openclaw/new-file",
        "mv /sandbox/.openclaw/.config-hash /tmp/stolen",
        "ln -sf /etc/passwd /sandbox/.openclaw/openclaw.json",
        "echo '{}' > /sandbox/.openclaw/openclaw.json",
      ]) {
        expect((await exec(name, ["sh", "-c", attack])).code, attack).not.toBe(0);
      }
      const before = await configToken(name);
      await docker(["restart", name]);
      await waitForLog(name, LISTENING, 2);
      expect(await configToken(name)).not.toBe(before);
      expect((await exec(name, ["lsattr", "-d", "/sandbox/.openclaw"])).stdout).toMatch(/^\S*i\S* /);
    });

    it("says why it skipped the lock without the capability", async () => {
      const name = await bootGateway(image());
      expect(await logs(name)).toContain("config lock: skipped (no CAP_LINUX_IMMUTABLE; run the container with --cap-add LINUX_IMMUTABLE)");
    });
  });

  describe("legacy symlink layout", () => {
    /** A container whose /sandbox/.openclaw/agents is a symlink to `target`, booted. */
    async function bootWithLink(target: string): Promise<{ code: number | null; output: string }> {
      const name = track();
      await docker(["create", "--name", name, "--network", "none", image()]);
      const dir = mkdtempSync(join(tmpdir(), "legacy-"));
      mkdirSync(join(dir, "data", "agents"), { recursive: true });
      writeFileSync(join(dir, "data", "agents", "a.json"), "{}");
      mkdirSync(join(dir, "links"));
      symlinkSync(target, join(dir, "links", "agents"));
      // docker cp from a tar stream unpacks a symlink as a symlink.
      for (const [from, to] of [["data", "/sandbox/.openclaw-data/"], ["links", "/sandbox/.openclaw/"]] as const) {
        const tar = spawnSync("tar", ["-C", join(dir, from), "-c", "agents"]);
        const cp = spawnSync("docker", ["cp", "-", `${name}:${to}`], { input: tar.stdout });
        expect(cp.status, cp.stderr.toString()).toBe(0);
      }
      if (!target.startsWith("/sandbox/.openclaw-data/agents")) return startAttached(name);
      await docker(["start", name]);
      await waitForLog(name, LISTENING);
      return { code: 0, output: await logs(name) };
    }

    it("accepts links into the data directory", async () => {
      const result = await bootWithLink("/sandbox/.openclaw-data/agents");
      expect(result.output).toContain("legacy layout: 1 symlink(s) in /sandbox/.openclaw, all inside /sandbox/.openclaw-data");
    });

    it("refuses an escaping or a dangling link", async () => {
      const escaping = await bootWithLink("/etc");
      expect(escaping.code).toBe(78);
      expect(escaping.output).toContain("[SECURITY] legacy layout: /sandbox/.openclaw/agents points to /etc, outside /sandbox/.openclaw-data");
      const dangling = await bootWithLink("/sandbox/.openclaw-data/missing");
      expect(dangling.code).toBe(78);
      expect(dangling.output).toContain("[SECURITY] legacy layout: /sandbox/.openclaw/agents is a dangling symlink");
    });
  });

  describe("preload guards", () => {
    it("re-stages replaced or deleted copies at the next boot and requires each guard exactly once", async () => {
      const name = await bootGateway(image());
      const sabotage = [
        "rm -f /tmp/nemoclaw-sandbox-safety-net.js && ln -s /etc/passwd /tmp/nemoclaw-sandbox-safety-net.js",
        "rm -f /tmp/nemoclaw-ciao-network-guard.js && echo 'process.exit(9)' > /tmp/nemoclaw-ciao-network-guard.js && chmod 666 /tmp/nemoclaw-ciao-network-guard.js",
        "rm -f /tmp/package.json",
      ].join(" && ");
      expect((await exec(name, ["sh", "-c", sabotage])).code).toBe(0);
      expect((await exec(name, ["sh", "-c", "echo '{not json' > /tmp/package.json"], { user: "sandbox" })).code).toBe(0);
      await docker(["restart", name]);
      await waitForLog(name, LISTENING, 2);
      for (const guard of ["sandbox-safety-net.js", "ciao-network-guard.js"]) {
        const staged = `/tmp/nemoclaw-${guard}`;
        expect((await exec(name, ["stat", "-c", "%F %a %U", staged])).stdout.trim()).toBe("regular file 444 root");
        expect((await exec(name, ["cmp", staged, `/usr/local/lib/nemoclaw/preloads/${guard}`])).code).toBe(0);
      }
      // Another uid's environ needs CAP_SYS_PTRACE, which the container does not have: read it from the host.
      const environ = readFileSync(`/proc/${hostChildPid(await hostPid(name))}/environ`, "utf8").split("\0");
      const nodeOptions = environ.find((v) => v.startsWith("NODE_OPTIONS="))!.slice("NODE_OPTIONS=".length).split(" ");
      for (const guard of ["/tmp/nemoclaw-sandbox-safety-net.js", "/tmp/nemoclaw-ciao-network-guard.js"]) {
        expect(nodeOptions.filter((t) => t === guard)).toHaveLength(1);
      }
      expect(environ.some((v) => v.startsWith("OPENCLAW_GATEWAY_TOKEN="))).toBe(false);
    });
  });

  describe("one-shot commands", () => {
    it("runs `docker run IMAGE CMD` as the sandbox user after the boot chain and exits with its status", async () => {
      expect((await runContainer([image(), "true"])).code).toBe(0);
      const seven = await runContainer(["-e", "SUPERVISOR_LOG_LEVEL=info", image(), "sh", "-c", 'id -u; echo "${OPENCLAW_GATEWAY_TOKEN-unset}"; exit 7']);
      expect(seven.code).toBe(7);
      expect(seven.stdout.trim().split("\n")).toEqual(["1000", "unset"]);
      expect(seven.stderr).toContain("launch: one-shot 'sh' pid");
    });

    it("prints nothing but the command's own output by default, signals included", async () => {
      const name = track();
      const script = 'for (const n of ["HUP","INT","QUIT","USR2","WINCH","CONT"]) process.on("SIG"+n, () => console.log("got "+n)); process.on("SIGTERM", () => { console.log("got TERM"); process.exit(0); }); setInterval(() => {}, 1000); console.log("ready");';
      await startContainer(name, [image(), "/usr/local/bin/node", "-e", script]);
      await waitFor(async () => (await docker(["logs", name])).stdout.includes("ready"), 30_000, 50);
      const names = ["HUP", "INT", "QUIT", "USR2", "WINCH", "CONT", "TERM"];
      for (const signal of names) {
        await docker(["kill", "--signal", signal, name]);
        await waitFor(async () => (await docker(["logs", name])).stdout.includes(`got ${signal}`), 30_000, 50);
      }
      expect((await docker(["wait", name])).stdout.trim()).toBe("0");
      const output = await docker(["logs", name]);
      expect(output.stdout).toBe(["ready", ...names.map((signal) => `got ${signal}`)].join("\n") + "\n");
      expect(output.stderr).toBe("");
    });
  });
});
