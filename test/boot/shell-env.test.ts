import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_DOTFILE_BYTES, markerBlock, proxyEnvScript, sourceIfTrusted, updateDotfile, withoutMarkerBlock } from "../../supervisor/boot/shell-env.js";

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

  it("removes marker blocks in linear time: 16 MB of BEGIN lines without an END take one pass (attack 2)", () => {
    const begin = "# >>> sandbox-supervisor gateway token >>>\n";
    const text = begin.repeat(Math.ceil(16_000_000 / begin.length));
    const started = performance.now();
    expect(withoutMarkerBlock(text)).toBe(text);
    // An END at the very end closes the first BEGIN's block: everything goes.
    expect(withoutMarkerBlock(`a\n${text}${markerBlock("/t")}`)).toBe("a\n");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("removes blocks exactly like the first BEGIN-to-END rule, on mixed inputs", () => {
    const begin = "# >>> sandbox-supervisor gateway token >>>";
    const end = "# <<< sandbox-supervisor gateway token <<<";
    const reference = (text: string) => text.replace(new RegExp(`${begin}\\n[\\s\\S]*?${end}\\n?`, "g"), "");
    const pieces = [`${begin}\n`, `${end}\n`, end, begin, "x\n", "\n", "y"];
    let seed = 7;
    for (let round = 0; round < 2000; round++) {
      let text = "";
      for (let i = 0; i < 8; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        text += pieces[seed % pieces.length];
      }
      expect(withoutMarkerBlock(text), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it("never reads a dotfile that is a FIFO, a directory, another user's, or over the cap (attack 6)", () => {
    const dir = mkdtempSync(join(tmpdir(), "dotfile-"));
    execFileSync("mkfifo", [join(dir, ".bashrc")]);
    expect(updateDotfile(join(dir, ".bashrc"), markerBlock("/tmp/t.env"), me)).toMatch(/\.bashrc is not a regular file; left alone/);
    mkdirSync(join(dir, ".profile"));
    expect(updateDotfile(join(dir, ".profile"), markerBlock("/tmp/t.env"), me)).toMatch(/\.profile is not a regular file; left alone/);
    const big = join(dir, ".big");
    writeFileSync(big, "");
    truncateSync(big, 400 * 1024 * 1024);
    expect(updateDotfile(big, markerBlock("/tmp/t.env"), me)).toBe(
      `${big} is 419430400 bytes, over the ${MAX_DOTFILE_BYTES}-byte cap; not read, left alone`,
    );
    expect(lstatSync(big).size).toBe(400 * 1024 * 1024);
    const theirs = join(dir, ".theirs");
    writeFileSync(theirs, "x\n");
    expect(updateDotfile(theirs, markerBlock("/tmp/t.env"), { uid: me.uid + 1, gid: me.gid })).toMatch(/is not owned by uid/);
  });

  it("sources a file only when it is root's or the shell user's and writable by no one else, in sh and bash (attack 3)", () => {
    const dir = mkdtempSync(join(tmpdir(), "trusted-"));
    const file = join(dir, "env.sh");
    const ran = (shell: string) =>
      execFileSync(shell, ["-c", `X=no; ${sourceIfTrusted(file)}; echo $X`], { encoding: "utf8", env: { PATH: process.env.PATH } }).trim();
    writeFileSync(file, "X=yes\n", { mode: 0o444 });
    for (const shell of ["sh", "bash"]) expect(ran(shell)).toBe("yes");
    for (const mode of [0o664, 0o646, 0o666, 0o2775]) {
      chmodSync(file, mode);
      for (const shell of ["sh", "bash"]) expect(ran(shell), `mode ${mode.toString(8)}`).toBe("no");
    }
    chmodSync(file, 0o644);
    if (process.getuid!() === 0) {
      // Root's shell and a file of the sandbox user's (uid 1000): never sourced.
      chownSync(file, 1000, 1000);
      for (const shell of ["sh", "bash"]) expect(ran(shell)).toBe("no");
      chownSync(file, 0, 0);
    }
    const link = join(dir, "link.sh");
    symlinkSync(file, link);
    const viaLink = execFileSync("sh", ["-c", `X=no; ${sourceIfTrusted(link)}; echo $X`], { encoding: "utf8" }).trim();
    expect(viaLink).toBe("no");
  });
});
