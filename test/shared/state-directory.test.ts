// The state directory and its records: nothing is trusted as found (a fresh tmpfs is 1777,
// the sandbox user may plant names in it), everything is repaired through descriptors.
import { chmodSync, chownSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ANCHOR_FILE, CONFIG_FILE, INTENT_FILE, verifyConfig, writeConfigAndHash } from "../../supervisor/boot/config-integrity.js";
import { openStateDirectory } from "../../supervisor/shared/state-directory.js";

const scratch = mkdtempSync(join(tmpdir(), "state-dir-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const root = process.getuid!() === 0;
let counter = 0;
const fresh = () => join(scratch, `case-${++counter}`);

describe.skipIf(!root)("the state directory", () => {
  it("is created with each new name made durable, and a 1777 one (a fresh tmpfs) is taken back to 0700", () => {
    const made = join(fresh(), "a", "b");
    closeSync(openStateDirectory(made, { uid: 0, gid: 0 }));
    expect(statSync(made).mode & 0o7777).toBe(0o700);
    const tmpfs = fresh();
    mkdirSync(tmpfs);
    chownSync(tmpfs, 65534, 65534);
    chmodSync(tmpfs, 0o1777);
    closeSync(openStateDirectory(tmpfs, { uid: 0, gid: 0 }));
    expect(statSync(tmpfs)).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(tmpfs).mode & 0o7777).toBe(0o700);
  });

  it("refuses to follow a symlink in its place", () => {
    const target = fresh();
    mkdirSync(target);
    const link = fresh();
    symlinkSync(target, link);
    expect(() => openStateDirectory(link, { uid: 0, gid: 0 })).toThrow(/ELOOP/);
  });

  it("moves planted records aside (a directory, another owner's file, a hard link) and boots as if there were none", () => {
    const base = fresh();
    const paths = { configDir: join(base, "config"), stateDir: join(base, "state") };
    mkdirSync(paths.configDir, { recursive: true });
    writeConfigAndHash(paths, Buffer.from('{"gateway":{"auth":{"token":"t"}}}\n'), { mode: 0o444, uid: 0, gid: 0 });
    mkdirSync(join(paths.stateDir, INTENT_FILE));
    const verdict = verifyConfig(paths, "locked");
    expect(verdict).toMatchObject({ ok: true, integrity: "verified" });
    expect(existsSync(join(paths.stateDir, INTENT_FILE))).toBe(false);
    expect(readdirSync(paths.stateDir).some((name) => name.startsWith(`.${INTENT_FILE}.untrusted-`))).toBe(true);

    rmSync(join(paths.stateDir, ANCHOR_FILE));
    writeFileSync(join(paths.stateDir, ANCHOR_FILE), `${"0".repeat(64)}\n`);
    chownSync(join(paths.stateDir, ANCHOR_FILE), 1000, 1000);
    expect(verifyConfig(paths, "locked")).toMatchObject({ ok: true, integrity: "verified" });
    expect(existsSync(join(paths.stateDir, ANCHOR_FILE))).toBe(false);

    writeFileSync(join(base, "elsewhere"), `${"0".repeat(64)}\n`);
    linkSync(join(base, "elsewhere"), join(paths.stateDir, ANCHOR_FILE));
    expect(verifyConfig(paths, "locked")).toMatchObject({ ok: true, integrity: "verified" });
    expect(existsSync(join(paths.stateDir, ANCHOR_FILE))).toBe(false);
    expect(existsSync(join(paths.configDir, CONFIG_FILE))).toBe(true);
  });
});
