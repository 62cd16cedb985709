// Identity proof and proven signals against real processes (docs/architecture.md): a pid
// alone is never trusted, a recycled pid is never signalled.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parseStat, proveIdentity, readIdentity, signalProven } from "../../supervisor/supervise/identity.js";
import { listProcesses } from "../../supervisor/supervise/process-tree.js";
import { loadAddon } from "../helpers/native.js";
import { type Exit, settlesWithin, start, waitFor } from "../helpers/processes.js";

const addon = loadAddon();
const { SIGTERM, SIGKILL } = constants.signals;
const ESRCH = constants.errno.ESRCH;
const EXDEV = constants.errno.EXDEV;
const uid = process.getuid!();

const started: Array<{ pid: number; exited: Promise<Exit> }> = [];
function sleeper(file = "sleep", options = {}): { pid: number; exited: Promise<Exit> } {
  const s = start(file, ["30"], options);
  started.push(s);
  return s;
}

afterEach(async () => {
  for (const s of started.splice(0)) {
    try {
      process.kill(s.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await s.exited;
  }
});

const stillRunning = (pid: number): boolean => readIdentity(pid) !== undefined;

describe("identity of a real process", () => {
  it("is pid, start time (stat field 22) and real uid, and is proven while it runs", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep to exec", () => readIdentity(s.pid));
    const stat = parseStat(readFileSync(`/proc/${s.pid}/stat`, "latin1"));
    expect(identity).toEqual({ pid: s.pid, startTime: stat.startTime, uid });
    expect(proveIdentity(identity)).toBe(true);
  });

  it("records the real uid of a process of another user", async () => {
    const s = sleeper("sleep", { uid: 65534, gid: 65534 });
    const identity = await waitFor("sleep as 65534", () => readIdentity(s.pid));
    expect(identity.uid).toBe(65534);
    expect(proveIdentity({ ...identity, uid })).toBe(false);
    expect(proveIdentity({ ...identity, uid }, { allowAnyUid: true })).toBe(true);
  });

  it("is undefined for a pid that does not exist", () => {
    expect(readIdentity(0x3fffff + 1)).toBeUndefined();
  });

  it("is undefined for a zombie, which cannot be signalled and is not proven", async () => {
    // `true` exits, and sleep (exec'ed over its parent shell) never waits for it.
    const s = start("sh", ["-c", "true & exec sleep 30"]);
    started.push(s);
    const zombie = await waitFor("a zombie child", () => {
      const children = readFileSync(`/proc/${s.pid}/task/${s.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
      return children.find((pid) => parseStat(readFileSync(`/proc/${pid}/stat`, "latin1")).state === "Z");
    });
    const stat = parseStat(readFileSync(`/proc/${zombie}/stat`, "latin1"));
    expect(readIdentity(zombie)).toBeUndefined();
    expect(proveIdentity({ pid: zombie, startTime: stat.startTime, uid })).toBe(false);
    expect(signalProven(addon, { pid: zombie, startTime: stat.startTime, uid }, "SIGKILL")).toBe("gone");
    expect(addon.pidfdSignal(zombie, stat.startTime, SIGKILL)).toBe(-ESRCH);
  });

  it("reads the fields of a process whose name is full of parentheses, spaces and newlines", async () => {
    const dir = mkdtempSync(join(tmpdir(), "identity-"));
    try {
      for (const name of ["a) b (c", ")", "x\n) S 1 2 3"]) {
        const file = join(dir, name);
        copyFileSync("/usr/bin/sleep", file);
        execFileSync("chmod", ["755", file]);
        const s = sleeper(file);
        // Wait until sleep is asleep (status' State line cannot be confused by the name), so the
        // state read from stat is known: a fresh exec may still be running.
        const identity = await waitFor(`${JSON.stringify(name)} to sleep`, () => {
          const i = readIdentity(s.pid);
          const asleep = /^State:\s+S/m.test(readFileSync(`/proc/${s.pid}/status`, "latin1"));
          return i && asleep && parseStat(readFileSync(`/proc/${s.pid}/stat`, "latin1")).comm === name ? i : undefined;
        });
        expect(proveIdentity(identity)).toBe(true);
        expect(listProcesses().find((p) => p.pid === s.pid)).toMatchObject({ comm: name, ppid: process.pid, state: "S" });
        expect(addon.pidfdSignal(s.pid, identity.startTime, 0)).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("signalProven", () => {
  it("signals the process it proves: SIGTERM kills a matching sleep", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep", () => readIdentity(s.pid));
    expect(signalProven(addon, identity, "SIGTERM")).toBe("signalled");
    expect(await s.exited).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("refuses the same pid with another start time, and the process lives on", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep", () => readIdentity(s.pid));
    expect(signalProven(addon, { ...identity, startTime: identity.startTime - 1 }, "SIGKILL")).toBe("mismatch");
    expect(signalProven(addon, { ...identity, uid: uid + 1 }, "SIGKILL")).toBe("mismatch");
    expect(await settlesWithin(s.exited, 200)).toBe(false);
    expect(stillRunning(s.pid)).toBe(true);
  });

  it("reports a dead, reaped pid as gone", async () => {
    const s = start("true", []);
    const identity = await waitFor("true to run", () => readIdentity(s.pid) ?? { pid: s.pid, startTime: 1, uid });
    await s.exited;
    expect(signalProven(addon, identity, "SIGTERM")).toBe("gone");
    expect(addon.pidfdSignal(s.pid, identity.startTime, SIGTERM)).toBe(-ESRCH);
  });

  it("refuses an identity recorded for an unrelated process's pid (wrong start time)", async () => {
    // An unrelated user's process holds the pid now; the identity is from an older holder.
    const s = sleeper("sleep", { uid: 65534, gid: 65534 });
    const now = await waitFor("sleep as 65534", () => readIdentity(s.pid));
    const recorded = { pid: s.pid, startTime: now.startTime - 100, uid: 65534 };
    expect(proveIdentity(recorded)).toBe(false);
    expect(signalProven(addon, recorded, "SIGKILL")).toBe("mismatch");
    expect(addon.pidfdSignal(s.pid, recorded.startTime, SIGKILL)).toBe(-EXDEV);
    expect(await settlesWithin(s.exited, 200)).toBe(false);
  });

  it.skipIf(uid !== 0)("never signals a process that really took over a recorded pid", async () => {
    // Force the kernel to hand the dead gateway's pid to a new process (ns_last_pid,
    // root only); other forks on the machine may win the pid, so try a few times.
    for (let attempt = 0; attempt < 20; attempt++) {
      const old = start("sleep", ["30"]);
      const recorded = await waitFor("sleep", () => readIdentity(old.pid));
      // Start times count 10 ms ticks: the new holder must start in a later tick.
      await new Promise((r) => setTimeout(r, 30));
      process.kill(old.pid, "SIGKILL");
      await old.exited;
      writeFileSync("/proc/sys/kernel/ns_last_pid", String(recorded.pid - 1));
      const successor = sleeper();
      if (successor.pid !== recorded.pid) continue;
      const current = await waitFor("successor", () => readIdentity(successor.pid));
      expect(current.startTime).toBeGreaterThan(recorded.startTime);
      expect(proveIdentity(recorded)).toBe(false);
      expect(signalProven(addon, recorded, "SIGKILL")).toBe("mismatch");
      expect(addon.pidfdSignal(recorded.pid, recorded.startTime, SIGKILL)).toBe(-EXDEV);
      expect(await settlesWithin(successor.exited, 200)).toBe(false);
      return;
    }
    throw new Error("the kernel never handed the recorded pid to the successor in 20 attempts");
  });

  it("throws on a refusal that is a bug, not a state (no permission)", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep", () => readIdentity(s.pid));
    const refusing = { pidfdSignal: () => -constants.errno.EPERM };
    expect(() => signalProven(refusing, identity, "SIGTERM")).toThrow(`cannot send signal ${SIGTERM} to pid ${s.pid}`);
    expect(() => signalProven(refusing, identity, "SIGTERM")).toThrow(/EPERM/);
  });
});

describe("the addon's pidfdSignal contract", () => {
  it("returns 0 for a signal sent through the pidfd (signal 0 probes)", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep", () => readIdentity(s.pid));
    expect(addon.pidfdSignal(s.pid, identity.startTime, 0)).toBe(0);
    expect(addon.pidfdSignal(s.pid, identity.startTime, SIGKILL)).toBe(0);
    expect(await s.exited).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("returns -EINVAL for an invalid signal number and leaves the process alone", async () => {
    const s = sleeper();
    const identity = await waitFor("sleep", () => readIdentity(s.pid));
    expect(addon.pidfdSignal(s.pid, identity.startTime, 999)).toBe(-constants.errno.EINVAL);
    expect(stillRunning(s.pid)).toBe(true);
  });

  it("throws on arguments that would address a group or every process", () => {
    expect(() => addon.pidfdSignal(0, 1, SIGTERM)).toThrow(RangeError);
    expect(() => addon.pidfdSignal(-1, 1, SIGTERM)).toThrow(RangeError);
    expect(() => addon.pidfdSignal(1, 1.5, SIGTERM)).toThrow(RangeError);
    expect(() => addon.pidfdSignal(1, -1, SIGTERM)).toThrow(RangeError);
    expect(() => (addon.pidfdSignal as (...a: unknown[]) => number)(1, 1)).toThrow(TypeError);
  });
});

afterAll(() => {
  // Nothing of this file may outlive it.
  expect(started).toEqual([]);
});
