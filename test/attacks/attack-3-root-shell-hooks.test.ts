// Attack 3 (docs/threat-model.md): root shells source a file the sandbox user made. /etc/profile.d and
// /etc/bash.bashrc sourced /tmp/nemoclaw-proxy-env.sh (and it the token file) by name. With
// --tmpfs /tmp the sandbox user could create those names before the supervisor did (the
// issue held boot open with attack 2; here root removes the files to open that window
// deterministically), and an operator's `docker exec -u 0 CTR bash -lc ...` ran them as
// root. In non-root mode every one of those files is the sandbox user's own. Now a shell
// sources only files owned by root or by its own user and writable by no one else.
import { describe, expect, it } from "vitest";
import { dockerAvailable, ensureTestImage, exec } from "../helpers/docker.js";
import { bootGateway, containerTracker } from "../helpers/sandbox-container.js";

const PLANT = "touch /tmp/ran-as-$(id -u)";

/** Root's shells of every kind an operator opens: login, interactive, both. */
async function rootShells(name: string): Promise<string> {
  for (const flags of ["-lc", "-ic", "-lic"]) {
    const shell = await exec(name, ["bash", flags, "true"], { user: "0" });
    expect(shell.code, shell.stderr).toBe(0);
  }
  return (await exec(name, ["sh", "-c", "ls /tmp | grep '^ran-as-' || true"])).stdout.trim();
}

describe.skipIf(!dockerAvailable())("attack 3: root shells and files of the sandbox user's", () => {
  const image = () => ensureTestImage("amd64");
  const track = containerTracker("ssv-attack3");

  it("root mode, --tmpfs /tmp: planted proxy env and token files are never run by a root shell", async () => {
    const name = await bootGateway(track, image(), ["--tmpfs", "/tmp"]);
    // Control: the supervisor's own files do reach root's shells.
    const own = await exec(name, ["bash", "-lc", 'printf %s "$NODE_OPTIONS"'], { user: "0" });
    expect(own.stdout).toContain("--require /tmp/nemoclaw-sandbox-safety-net.js");

    for (const file of ["nemoclaw-proxy-env.sh", "nemoclaw-gateway-token.env"]) {
      await exec(name, ["rm", "-f", `/tmp/${file}`], { user: "0" });
      const plant = await exec(name, ["sh", "-c", `echo '${PLANT}' > /tmp/${file}; chmod 0444 /tmp/${file}`], { user: "sandbox" });
      expect(plant.code, plant.stderr).toBe(0);
    }
    // The token file is also sourced by the (root-owned) proxy env file: put that one back.
    await exec(name, ["sh", "-c", "rm -f /tmp/nemoclaw-proxy-env.sh"], { user: "0" });
    await exec(name, ["supervisor", "restart"], { user: "0" });
    const proxy = await exec(name, ["stat", "-c", "%U %a", "/tmp/nemoclaw-proxy-env.sh"]);
    expect(proxy.stdout.trim()).toBe("root 444");
    expect(await rootShells(name)).toBe("");
    // The sandbox user's own shells may source its own file: that reaches no one else.
    await exec(name, ["bash", "-lc", "true"], { user: "sandbox" });
    expect((await exec(name, ["sh", "-c", "ls /tmp | grep '^ran-as-' || true"])).stdout.trim()).toBe("ran-as-1000");
  }, 120_000);

  it("non-root mode (--user sandbox): root shells source nothing the sandbox user appended to", async () => {
    const name = await bootGateway(track, image(), ["--user", "sandbox"]);
    const own = await exec(name, ["bash", "-lc", 'printf %s "$OPENCLAW_GATEWAY_TOKEN"'], { user: "sandbox" });
    expect(own.stdout).toMatch(/^[0-9a-f]{64}$/);
    for (const file of ["nemoclaw-proxy-env.sh", "nemoclaw-gateway-token.env"]) {
      const append = await exec(
        name,
        ["sh", "-c", `chmod u+w /tmp/${file} && echo '${PLANT}' >> /tmp/${file} && chmod 0444 /tmp/${file}`],
        { user: "sandbox" },
      );
      expect(append.code, append.stderr).toBe(0);
    }
    for (const file of [".bashrc", ".profile"]) {
      await exec(name, ["sh", "-c", `echo '${PLANT}' >> /sandbox/${file}`], { user: "sandbox" });
    }
    expect(await rootShells(name)).toBe("");
  }, 120_000);
});
