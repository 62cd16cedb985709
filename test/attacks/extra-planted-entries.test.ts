// Beyond the numbered attacks (docs/threat-model.md): entries the sandbox user plants where the supervisor
// expects a regular file, and hard links. None may block boot, be opened, or be written
// through: a dotfile that is a directory or a FIFO is named and left alone, a name in the
// shared /tmp claimed by someone else is moved aside, a FIFO config hash is refused at once,
// and root replaces files by rename, never writing into an inode someone linked in.
import { describe, expect, it } from "vitest";
import { docker, dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { waitHealthy } from "../helpers/attack-container.js";
import { bootGateway, containerTracker, logs } from "../helpers/sandbox-container.js";

describe.skipIf(!dockerAvailable())("planted entries where a regular file is expected", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-extra-planted");

  it("a .bashrc that is a directory and a .profile that is a FIFO: named, left alone, boot healthy", async () => {
    const name = await bootGateway(track, image());
    const plant = await exec(name, ["sh", "-c", "rm -f ~/.bashrc ~/.profile && mkdir ~/.bashrc && mkfifo ~/.profile"], { user: "sandbox" });
    expect(plant.code, plant.stderr).toBe(0);
    await docker(["restart", "-t", "5", name]);
    await waitHealthy(name, 20_000);
    const output = await logs(name);
    expect(output).toContain("/sandbox/.bashrc is not a regular file; left alone");
    expect(output).toContain("/sandbox/.profile is not a regular file; left alone");
    expect((await exec(name, ["stat", "-c", "%F", "/sandbox/.bashrc", "/sandbox/.profile"])).stdout).toBe("directory\nfifo\n");
  }, 120_000);

  it("a directory and a FIFO under the token and proxy env names in /tmp are moved aside and replaced", async () => {
    const name = await bootGateway(track, image());
    // The names are root's after every boot; removing them as root opens the window the
    // sandbox user would need (a boot that produced no token, or a race with boot).
    await exec(name, ["rm", "-f", "/tmp/nemoclaw-gateway-token.env", "/tmp/nemoclaw-proxy-env.sh"], { user: "0" });
    const plant = await exec(
      name,
      ["sh", "-c", "mkdir /tmp/nemoclaw-gateway-token.env && echo x > /tmp/nemoclaw-gateway-token.env/f && mkfifo /tmp/nemoclaw-proxy-env.sh"],
      { user: "sandbox" },
    );
    expect(plant.code, plant.stderr).toBe(0);
    await docker(["restart", "-t", "5", name]);
    await waitHealthy(name, 20_000);
    const output = await logs(name);
    expect(output).toMatch(/\[SECURITY\] token: \/tmp\/nemoclaw-gateway-token\.env was a directory of uid 1000, now \.nemoclaw-gateway-token\.env\.displaced-\S+; (moved aside|replaced)/);
    expect(output).toMatch(/\[SECURITY\] preload guards: \/tmp\/nemoclaw-proxy-env\.sh was a FIFO of uid 1000, now \S+; replaced/);
    const files = await exec(name, ["stat", "-c", "%n %F %U %a", "/tmp/nemoclaw-gateway-token.env", "/tmp/nemoclaw-proxy-env.sh"]);
    expect(files.stdout).toBe("/tmp/nemoclaw-gateway-token.env regular file root 444\n/tmp/nemoclaw-proxy-env.sh regular file root 444\n");
    const shell = await exec(name, ["bash", "-lc", 'printf %s "$OPENCLAW_GATEWAY_TOKEN"'], { user: "sandbox" });
    expect(shell.stdout).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);

  it("a FIFO as the config hash (mutable posture) is refused at once, never waited on", async () => {
    const name = await bootGateway(track, image(), ["-e", "SUPERVISOR_CONFIG_POSTURE=mutable"]);
    const plant = await exec(name, ["sh", "-c", "rm -f ~/.openclaw/.config-hash && mkfifo ~/.openclaw/.config-hash"], { user: "sandbox" });
    expect(plant.code, plant.stderr).toBe(0);
    const started = Date.now();
    await docker(["restart", "-t", "5", name]);
    await docker(["wait", name], { timeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await logs(name)).toMatch(/\[SECURITY\] config integrity: \/sandbox\/\.openclaw\/\.config-hash is not a regular file/);
  }, 120_000);

  it("a hard link the sandbox user put in the config directory is replaced by rename, its other name untouched", async () => {
    const name = await bootGateway(track, image(), ["-e", "SUPERVISOR_CONFIG_POSTURE=mutable"]);
    const plant = await exec(
      name,
      ["sh", "-c", "cp ~/.openclaw/openclaw.json ~/mine && chmod 0660 ~/mine && rm -f ~/.openclaw/openclaw.json && ln ~/mine ~/.openclaw/openclaw.json"],
      { user: "sandbox" },
    );
    expect(plant.code, plant.stderr).toBe(0);
    const before = (await exec(name, ["sha256sum", "/sandbox/mine"])).stdout.split(" ")[0];
    await docker(["restart", "-t", "5", name]);
    await waitHealthy(name, 20_000);
    expect((await exec(name, ["sha256sum", "/sandbox/mine"])).stdout.split(" ")[0]).toBe(before);
    expect((await exec(name, ["stat", "-c", "%U %a %h", "/sandbox/mine"])).stdout.trim()).toBe("sandbox 660 1");
    expect((await exec(name, ["stat", "-c", "%h", "/sandbox/.openclaw/openclaw.json"])).stdout.trim()).toBe("1");
  }, 120_000);

  it("the sandbox user cannot open the control socket's directory, and sitting next to it changes nothing", async () => {
    const name = await bootGateway(track, image());
    const open = await exec(name, ["sh", "-c", "cd /run/supervisor"], { user: "sandbox" });
    expect(open.code).not.toBe(0);
    expect(open.stderr).toMatch(/Permission denied|can.t cd/);
    // A sandbox process holding /run open across a restart request and a reboot.
    await exec(name, ["sh", "-c", "cd /run && (sleep 600 </dev/null >/dev/null 2>&1 &)"], { user: "sandbox" });
    const restart = await exec(name, ["supervisor", "restart"]);
    expect(restart.code, restart.stderr).toBe(0);
    expect((await exec(name, ["stat", "-c", "%U %a", "/run/supervisor", "/run/supervisor/control.sock"])).stdout).toBe("root 700\nroot 600\n");
  }, 120_000);
});
