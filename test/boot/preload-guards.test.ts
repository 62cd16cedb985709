import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stagedGuardProblem, stagePinned, verifyStagedGuard, GuardError } from "../../supervisor/boot/preload-guards.js";

const scratch = mkdtempSync(join(tmpdir(), "guards-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const owner = { uid: process.getuid!(), gid: process.getgid!() };
const BYTES = Buffer.from("console.log('guard');\n");
let n = 0;
const fresh = () => join(scratch, `staged-${++n}.js`);

describe("staging a guard in /tmp", () => {
  it("keeps an identical, verified copy in place (same inode: no new space needed)", () => {
    const path = fresh();
    stagePinned(path, BYTES, owner);
    const before = statSync(path);
    stagePinned(path, BYTES, owner);
    expect(statSync(path).ino).toBe(before.ino);
    expect(stagedGuardProblem(path, BYTES, owner)).toBeUndefined();
  });

  const foreign: Array<[string, (path: string) => void]> = [
    ["other bytes", (path) => writeFileSync(path, "evil();\n", { mode: 0o444 })],
    ["the right bytes plus more", (path) => writeFileSync(path, Buffer.concat([BYTES, Buffer.from("evil();")]), { mode: 0o444 })],
    ["a writable mode", (path) => writeFileSync(path, BYTES, { mode: 0o644 })],
    ["a symlink to the right bytes", (path) => {
      writeFileSync(`${path}.target`, BYTES, { mode: 0o444 });
      symlinkSync(`${path}.target`, path);
    }],
    ["a FIFO", (path) => execFileSync("mkfifo", ["-m", "0444", path])],
  ];
  for (const [what, plant] of foreign) {
    it(`replaces ${what} with the trusted bytes`, () => {
      const path = fresh();
      plant(path);
      expect(stagedGuardProblem(path, BYTES, owner)).toBeDefined();
      stagePinned(path, BYTES, owner);
      expect(readFileSync(path)).toEqual(BYTES);
      const st = statSync(path);
      expect([st.isFile(), st.mode & 0o7777]).toEqual([true, 0o444]);
    });
  }

  it("names what is wrong with a staged copy", () => {
    const path = fresh();
    writeFileSync(path, BYTES);
    chmodSync(path, 0o644);
    expect(() => verifyStagedGuard(path, BYTES, owner)).toThrow(GuardError);
    expect(() => verifyStagedGuard(path, BYTES, owner)).toThrow(`staged guard ${path} has mode 644, expected 444`);
    expect(stagedGuardProblem(join(scratch, "none.js"), BYTES, owner)).toBe("is missing");
    expect(stagedGuardProblem(path, BYTES, { uid: owner.uid + 1, gid: 0 })).toMatch(/has mode 644/);
  });
});
