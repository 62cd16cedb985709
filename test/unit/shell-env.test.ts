import { execFileSync } from "node:child_process";
import { lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { markerBlock, proxyEnvScript, updateDotfile, withoutMarkerBlock } from "../../supervisor/boot/shell-env.js";

const me = { uid: process.getuid!(), gid: process.getgid!() };

describe("shell environment files", () => {
  it("a shell sourcing the proxy env file gets the token and NODE_OPTIONS", () => {
    const dir = mkdtempSync(join(tmpdir(), "shell-env-"));
    const tokenFile = join(dir, "token.env");
    writeFileSync(tokenFile, `export OPENCLAW_GATEWAY_TOKEN='${"b".repeat(64)}'\n`);
    writeFileSync(join(dir, "proxy.sh"), proxyEnvScript(tokenFile, "--require /tmp/x.js", { HTTPS_PROXY: "http://p:3128" }));
    const out = execFileSync("sh", ["-c", `. ${dir}/proxy.sh; echo "$OPENCLAW_GATEWAY_TOKEN|$NODE_OPTIONS|$HTTPS_PROXY"`], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(out).toBe(`${"b".repeat(64)}|--require /tmp/x.js|http://p:3128\n`);
  });

  it("keeps one marker block in a dotfile, removable without touching the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), "dotfile-"));
    const file = join(dir, ".bashrc");
    writeFileSync(file, "alias ll='ls -l'\n", { mode: 0o640 });
    expect(updateDotfile(file, markerBlock("/tmp/t.env"), me)).toBeUndefined();
    expect(updateDotfile(file, markerBlock("/tmp/t.env"), me)).toBeUndefined();
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("alias ll='ls -l'\n")).toBe(true);
    expect(text.match(/>>> sandbox-supervisor/g)).toHaveLength(1);
    expect(lstatSync(file).mode & 0o777).toBe(0o640);
    expect(updateDotfile(file, undefined, me)).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe("alias ll='ls -l'\n");
    expect(withoutMarkerBlock(`a\n${markerBlock("/x")}b\n`)).toBe("a\nb\n");
  });

  it("never writes through a symlinked dotfile", () => {
    const dir = mkdtempSync(join(tmpdir(), "dotfile-"));
    const victim = join(dir, "victim");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, join(dir, ".profile"));
    expect(updateDotfile(join(dir, ".profile"), markerBlock("/tmp/t.env"), me)).toMatch(/not a regular file/);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });
});
