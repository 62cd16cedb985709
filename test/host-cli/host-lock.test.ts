// The per-container host lock of sandboxctl, with real files: where it lives, which
// directories it refuses, waiting, giving up as busy, interrupts, stale locks.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireHostLock, HostLockError, lockDirectory, prepareLockDirectory, type LockTuning } from "../../host-cli/host-lock.js";

const scratch = mkdtempSync(join(tmpdir(), "host-lock-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const FAST: LockTuning = { staleMs: 2_000, updateMs: 500, retryMs: 50 };
const UID = process.getuid!();
const never = new AbortController().signal;
let n = 0;
const freshDir = () => join(scratch, `case-${++n}`);

describe("host lock", () => {
  it("lives in $XDG_RUNTIME_DIR/sandboxctl, else in a per-user directory under /tmp", () => {
    expect(lockDirectory({ XDG_RUNTIME_DIR: "/run/user/1000" }, 1000)).toBe("/run/user/1000/sandboxctl");
    expect(lockDirectory({}, 1000)).toBe("/tmp/sandboxctl-1000");
    expect(lockDirectory({ XDG_RUNTIME_DIR: "relative" }, 1000)).toBe("/tmp/sandboxctl-1000");
  });

  it("creates its directory 0700 and refuses a symlink, a foreign owner or an open mode", () => {
    const dir = freshDir();
    prepareLockDirectory(dir, UID);
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);

    const target = freshDir();
    mkdirSync(target, { mode: 0o700 });
    const link = freshDir();
    symlinkSync(target, link);
    expect(() => prepareLockDirectory(link, UID)).toThrow(/is a symlink: remove it/);

    const open = freshDir();
    mkdirSync(open);
    chmodSync(open, 0o755);
    expect(() => prepareLockDirectory(open, UID)).toThrow(/must be owned by uid \d+ with mode 0700, found uid \d+ mode 0755/);

    if (UID === 0) {
      const foreign = freshDir();
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 4242, 4242);
      expect(() => prepareLockDirectory(foreign, UID)).toThrow(HostLockError);
    }
  });

  it("makes a second holder wait, then gives up as busy at the deadline", async () => {
    const dir = freshDir();
    const first = await acquireHostLock(dir, "c1", Date.now() + 1000, never, () => {}, FAST);
    expect(first.kind).toBe("held");
    let waitedOn: string | undefined;
    const started = Date.now();
    const second = await acquireHostLock(dir, "c1", Date.now() + 600, never, (path) => (waitedOn = path), FAST);
    expect(second).toMatchObject({ kind: "busy", path: join(dir, "c1.lock") });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(waitedOn).toBe(join(dir, "c1.lock"));
    // Another container's lock is independent.
    const other = await acquireHostLock(dir, "c2", Date.now() + 100, never, () => {}, FAST);
    expect(other.kind).toBe("held");
    if (first.kind === "held") await first.lock.release();
    if (other.kind === "held") await other.lock.release();
    expect(existsSync(join(dir, "c1.lock"))).toBe(false);
  });

  it("gets the lock as soon as the holder releases it", async () => {
    const dir = freshDir();
    const first = await acquireHostLock(dir, "c", Date.now() + 1000, never, () => {}, FAST);
    if (first.kind !== "held") throw new Error("expected the lock");
    setTimeout(() => void first.lock.release(), 300);
    const second = await acquireHostLock(dir, "c", Date.now() + 5000, never, () => {}, FAST);
    expect(second.kind).toBe("held");
    if (second.kind === "held") await second.lock.release();
  });

  it("stops waiting on an interrupt", async () => {
    const dir = freshDir();
    const first = await acquireHostLock(dir, "c", Date.now() + 1000, never, () => {}, FAST);
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT"), 200);
    const started = Date.now();
    const second = await acquireHostLock(dir, "c", Date.now() + 10_000, controller.signal, () => {}, FAST);
    expect(second).toEqual({ kind: "aborted" });
    expect(Date.now() - started).toBeLessThan(2000);
    if (first.kind === "held") await first.lock.release();
  });

  it("takes over a lock its holder stopped refreshing", async () => {
    const dir = freshDir();
    prepareLockDirectory(dir, UID);
    mkdirSync(join(dir, "c.lock"));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, "c.lock"), old, old);
    const taken = await acquireHostLock(dir, "c", Date.now() + 1000, never, () => {}, FAST);
    expect(taken.kind).toBe("held");
    if (taken.kind === "held") await taken.lock.release();
  });

  it("refuses a lock path that is a symlink", async () => {
    const dir = freshDir();
    prepareLockDirectory(dir, UID);
    symlinkSync(scratch, join(dir, "c.lock"));
    await expect(acquireHostLock(dir, "c", Date.now() + 1000, never, () => {}, FAST)).rejects.toThrow(/refusing lock .*c\.lock: it is a symlink/);
  });
});
