import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAndKillAtRandom } from "../helpers/kill-at-random.js";
import { AtomicWriteError, cleanStaleTemps, removeFileDurable, writeFileAtomic } from "../../supervisor/shared/atomic-write.js";

const ROOT = resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "atomic-write-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function freshDir(): string {
  const dir = join(scratch, `case-${++counter}`);
  mkdirSync(dir);
  return dir;
}

describe("atomic writer", () => {
  it("writes the bytes with the requested mode and owner and leaves no temp file", () => {
    const dir = freshDir();
    const file = join(dir, "token.env");
    writeFileSync(file, "old content that is longer than the new one\n", { mode: 0o600 });
    writeFileAtomic(file, "new\n", { mode: 0o440, uid: 65534, gid: 65534 });
    const st = statSync(file);
    expect(readFileSync(file, "utf8")).toBe("new\n");
    expect(st.mode & 0o7777).toBe(0o440);
    expect([st.uid, st.gid]).toEqual([65534, 65534]);
    expect(readdirSync(dir)).toEqual(["token.env"]);
  });

  it("creates a missing file and keeps a setgid mode exactly", () => {
    const dir = freshDir();
    const file = join(dir, "new.json");
    writeFileAtomic(file, Buffer.from("{}"), { mode: 0o2660, gid: 65534 });
    expect(statSync(file).mode & 0o7777).toBe(0o2660);
    expect(statSync(file).gid).toBe(65534);
    expect(readFileSync(file, "utf8")).toBe("{}");
  });

  it("refuses a symlink target and leaves the symlink's destination untouched", () => {
    const dir = freshDir();
    const victim = join(dir, "victim");
    writeFileSync(victim, "original\n");
    const link = join(dir, "openclaw.json");
    symlinkSync(victim, link);
    expect(() => writeFileAtomic(link, "attacker-chosen\n", { mode: 0o644 })).toThrow(AtomicWriteError);
    expect(() => writeFileAtomic(link, "x", { mode: 0o644 })).toThrow(/openclaw\.json: it is a symlink/);
    expect(readFileSync(victim, "utf8")).toBe("original\n");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["openclaw.json", "victim"]);
  });

  it("refuses a dangling symlink target without creating its destination", () => {
    const dir = freshDir();
    const link = join(dir, "openclaw.json");
    symlinkSync(join(dir, "would-be-created"), link);
    expect(() => writeFileAtomic(link, "x", { mode: 0o644 })).toThrow(AtomicWriteError);
    expect(existsSync(join(dir, "would-be-created"))).toBe(false);
    expect(readdirSync(dir)).toEqual(["openclaw.json"]);
  });

  it("refuses a target whose parent directory is a symlink", () => {
    const dir = freshDir();
    const real = join(dir, "real");
    mkdirSync(real);
    symlinkSync(real, join(dir, "linked"));
    expect(() => writeFileAtomic(join(dir, "linked", "f.json"), "{}", { mode: 0o644 })).toThrow(
      /directory .*linked is a symlink/,
    );
    expect(readdirSync(real)).toEqual([]);
  });

  it("refuses a missing parent directory and a target that is not a regular file", () => {
    const dir = freshDir();
    expect(() => writeFileAtomic(join(dir, "absent", "f"), "x", { mode: 0o644 })).toThrow(/does not exist/);
    mkdirSync(join(dir, "a-directory"));
    expect(() => writeFileAtomic(join(dir, "a-directory"), "x", { mode: 0o644 })).toThrow(/not a regular file/);
    expect(statSync(join(dir, "a-directory")).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual(["a-directory"]);
  });

  it("with displace, moves a directory, FIFO or symlink under a shared name aside, never into it", () => {
    const dir = freshDir();
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d", "inside"), "theirs\n");
    execFileSync("mkfifo", [join(dir, "fifo")]);
    writeFileSync(join(dir, "victim"), "precious\n");
    symlinkSync(join(dir, "victim"), join(dir, "link"));
    expect(writeFileAtomic(join(dir, "d"), "ours\n", { mode: 0o444, displace: true })).toMatch(/^a directory of uid \d+, now \.d\.displaced-/);
    expect(writeFileAtomic(join(dir, "fifo"), "ours\n", { mode: 0o444, displace: true })).toMatch(/^a FIFO of uid \d+, now \.fifo\.displaced-/);
    expect(writeFileAtomic(join(dir, "link"), "ours\n", { mode: 0o444, displace: true })).toMatch(/^a symlink/);
    expect(writeFileAtomic(join(dir, "victim"), "new\n", { mode: 0o444, displace: true })).toBeUndefined();
    for (const name of ["d", "fifo", "link", "victim"]) expect(lstatSync(join(dir, name)).isFile()).toBe(true);
    expect(readFileSync(join(dir, "d"), "utf8")).toBe("ours\n");
    expect(readdirSync(dir).filter((n) => n.includes(".displaced-"))).toHaveLength(3);
  });

  it("removes its temp file when the write fails after the temp file was created", () => {
    const dir = freshDir();
    const file = join(dir, "f");
    writeFileSync(file, "kept\n");
    // An owner the kernel cannot represent makes fchown fail after the temp file exists.
    expect(() => writeFileAtomic(file, "new\n", { mode: 0o644, uid: 2 ** 32 })).toThrow(AtomicWriteError);
    expect(readFileSync(file, "utf8")).toBe("kept\n");
    expect(readdirSync(dir)).toEqual(["f"]);
  });

  // The tests run as root (CI and the container test bed need it), so a tiny tmpfs can be mounted.
  it("keeps the old file and removes its temp file when the disk is full", () => {
    const dir = freshDir();
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "ignore" });
    try {
      const file = join(dir, "config.json");
      writeFileAtomic(file, '{"small":true}', { mode: 0o644 });
      expect(() => writeFileAtomic(file, Buffer.alloc(1 << 20, 97), { mode: 0o644 })).toThrow(/ENOSPC/);
      expect(readFileSync(file, "utf8")).toBe('{"small":true}');
      expect(readdirSync(dir)).toEqual(["config.json"]);
    } finally {
      execFileSync("umount", [dir]);
    }
  });

  it("removes a file durably and accepts one that is already gone", () => {
    const dir = freshDir();
    const file = join(dir, "intent.json");
    writeFileSync(file, "{}");
    removeFileDurable(file);
    expect(existsSync(file)).toBe(false);
    expect(() => removeFileDurable(file)).not.toThrow();
  });

  it("cleans only stale temp files of its own for the given name", () => {
    const dir = freshDir();
    const stale = [`.openclaw.json.tmp-${process.pid}-abc123`, `.openclaw.json.tmp-999999999-00ff`];
    const kept = [
      `.openclaw.json.tmp-${process.ppid}-abc123`, // a live writer's temp
      `.config-hash.tmp-999999999-00ff`, // another file's temp
      `.openclaw.json.tmp-notapid-00ff`,
      "openclaw.json",
    ];
    for (const name of [...stale, ...kept]) writeFileSync(join(dir, name), "x");
    const removed = cleanStaleTemps(dir, "openclaw.json");
    expect(removed.sort()).toEqual(stale.map((n) => join(dir, n)).sort());
    expect(readdirSync(dir).sort()).toEqual(kept.sort());
  });
});

describe("atomic writer under SIGKILL (fault injection)", () => {
  const ROUNDS = 50;
  const SIZE = 1 << 20;
  // Two complete, valid JSON versions of the same length: a torn write would mix them.
  const versions = ["a", "b"].map((c) => Buffer.from(`{"v":"${c.repeat(SIZE - 9)}"}\n`));
  const childScript = join(scratch, "atomic-writer-child.cjs");

  beforeAll(() => {
    const entry = join(scratch, "atomic-writer-child.ts");
    writeFileSync(
      entry,
      `import { writeSync } from "node:fs";
import { writeFileAtomic } from ${JSON.stringify(join(ROOT, "supervisor/shared/atomic-write.ts"))};
import { useNativeFs } from ${JSON.stringify(join(ROOT, "supervisor/shared/dir-fd.ts"))};
const addon = { exports: {} as Parameters<typeof useNativeFs>[0] };
process.dlopen(addon, ${JSON.stringify(join(ROOT, `build/native/reaper-linux-${process.arch}.node`))});
useNativeFs(addon.exports);
const [target, first] = process.argv.slice(2) as [string, string];
const versions = ["a", "b"].map((c) => Buffer.from(\`{"v":"\${c.repeat(${SIZE} - 9)}"}\\n\`));
writeSync(1, "ready\\n");
for (let i = Number(first); ; i++) {
  writeFileAtomic(target, versions[i % 2]!, { mode: 0o644 });
  writeSync(1, ".");
}
`,
    );
    buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", outfile: childScript, logLevel: "error" });
  });

  it("leaves exactly one complete version after every kill, never a torn file", async () => {
    const dir = freshDir();
    const target = join(dir, "big.json");
    writeFileAtomic(target, versions[0]!, { mode: 0o644 });
    let current = 0;
    let changed = 0;
    let tempsLeft = 0;
    let completedWrites = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const out = await runAndKillAtRandom(childScript, [target, String(1 - current)]);
      completedWrites += out.split(".").length - 1;

      const bytes = readFileSync(target);
      const which = versions.findIndex((v) => v.equals(bytes));
      expect(which, `round ${round}: file is ${bytes.length} bytes and matches neither version`).not.toBe(-1);
      expect(() => JSON.parse(bytes.toString())).not.toThrow();
      if (which !== current) changed++;
      current = which;

      const temps = readdirSync(dir).filter((n) => n !== "big.json");
      tempsLeft += temps.length > 0 ? 1 : 0;
      expect(cleanStaleTemps(dir, "big.json")).toHaveLength(temps.length);
      expect(readdirSync(dir)).toEqual(["big.json"]);
    }

    console.log(
      `[atomic-write fault injection] ${ROUNDS} SIGKILL rounds: ${completedWrites} writes completed in total, ` +
        `content changed in ${changed} rounds, kill landed mid-write (temp left) in ${tempsLeft} rounds`,
    );
    // The kills must have hit both in the middle of writes and between them, or the test proved nothing.
    expect(tempsLeft).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(0);
  });
});
