import { describe, expect, it } from "vitest";
import { isProgress, ProgressMeter, ticksUsedSince } from "../../supervisor/supervise/progress.js";
import { shortageOf } from "../../supervisor/supervise/resources.js";
import type { StatFields } from "../../supervisor/supervise/identity.js";

const proc = (pid: number, ppid: number, utime: number, stime = 0, startTime = 1000 + pid): StatFields => ({
  pid,
  ppid,
  utime,
  stime,
  startTime,
  comm: "node",
  state: "S",
  pgrp: pid,
  session: pid,
});

describe("progress of a booting gateway", () => {
  it("adds the CPU time each process of the tree used since the last sample; an exit hides nothing", () => {
    const before = new Map([["10:1010", 30], ["11:1011", 7], ["12:1012", 500]]);
    // 12 exited (its 500 ticks are gone from the sum), 13 is new (counted whole).
    expect(ticksUsedSince(before, [proc(10, 1, 35), proc(11, 10, 7), proc(13, 10, 2, 1)])).toBe(5 + 0 + 3);
    // A pid recycled with another start time is another process.
    expect(ticksUsedSince(new Map([["10:1", 100]]), [proc(10, 1, 40)])).toBe(40);
  });

  it("counts 2% of a CPU or more as progress", () => {
    expect(isProgress(2, 1000)).toBe(true);
    expect(isProgress(1, 1000)).toBe(false);
    expect(isProgress(0, 5000)).toBe(false);
    expect(isProgress(10, 0)).toBe(false);
  });

  it("compares samples at least a second apart", () => {
    const meter = new ProgressMeter(10, 1010);
    const tree = (ticks: number) => ({ processes: [proc(10, 1, ticks)], complete: true });
    expect(meter.sample(0, tree(0))).toBeUndefined();
    expect(meter.sample(500, tree(50))).toBeUndefined();
    expect(meter.sample(1000, tree(50))).toEqual({ what: "500 ms of CPU time in 1000 ms", since: 0 });
    expect(meter.sample(2000, tree(51))).toBeUndefined();
  });

  it("compares at every probe while the gateway's probes fail (always)", () => {
    const meter = new ProgressMeter(10, 1010);
    const tree = (ticks: number) => ({ processes: [proc(10, 1, ticks)], complete: true });
    meter.sample(0, tree(0));
    expect(meter.sample(500, tree(25), true)).toEqual({ what: "250 ms of CPU time in 500 ms", since: 0 });
    expect(meter.sample(1000, tree(50), true)).toEqual({ what: "250 ms of CPU time in 500 ms", since: 500 });
  });
});

describe("resources PID 1 can run short of", () => {
  it("names the resource behind an error code or a message that carries one", () => {
    expect(shortageOf("EADDRNOTAVAIL")).toBe("local ports (EADDRNOTAVAIL: no ephemeral port left)");
    expect(shortageOf("cannot write /tmp/x: ENOSPC: no space left on device")).toBe("disk space (ENOSPC)");
    expect(shortageOf("EAGAIN")).toMatch(/^processes or threads/);
    expect(shortageOf("ECONNREFUSED")).toBeUndefined();
    expect(shortageOf(undefined)).toBeUndefined();
  });
});
