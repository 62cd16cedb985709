import { describe, expect, it } from "vitest";
import { isProgress, ProgressMeter, treeCpuTicks } from "../../supervisor/supervise/progress.js";
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
  it("adds the CPU time of the gateway and all its descendants, nothing else", () => {
    const processes = [proc(1, 0, 500), proc(10, 1, 30, 5), proc(11, 10, 7), proc(12, 11, 1, 1), proc(20, 1, 900)];
    expect(treeCpuTicks(processes, 10, 1010)).toBe(30 + 5 + 7 + 2);
    expect(treeCpuTicks(processes, 10, 999)).toBeUndefined();
    expect(treeCpuTicks(processes, 99, 1099)).toBeUndefined();
  });

  it("counts 2% of a CPU or more as progress", () => {
    expect(isProgress(2, 1000)).toBe(true);
    expect(isProgress(1, 1000)).toBe(false);
    expect(isProgress(0, 5000)).toBe(false);
    expect(isProgress(10, 0)).toBe(false);
  });

  it("compares samples at least a second apart", () => {
    const meter = new ProgressMeter(10, 1010);
    expect(meter.sample(0, [proc(10, 1, 0)])).toBeUndefined();
    expect(meter.sample(500, [proc(10, 1, 50)])).toBeUndefined();
    expect(meter.sample(1000, [proc(10, 1, 50)])).toBe("500 ms of CPU time in 1000 ms");
    expect(meter.sample(2000, [proc(10, 1, 51)])).toBeUndefined();
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
