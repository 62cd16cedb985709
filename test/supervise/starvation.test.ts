import { describe, expect, it } from "vitest";
import { runQueueWaitMs, starvedBecause } from "../../supervisor/supervise/starvation.js";

describe("probes judged by whether they ran", () => {
  it("calls a probe starved when PID 1 or the gateway waited half its timeout for a CPU", () => {
    expect(starvedBecause({ pid1: 1200, gateway: 10 }, 2000)).toBe("PID 1 waited 1200 ms for a CPU during a probe of 2000 ms");
    expect(starvedBecause({ pid1: 5, gateway: 1500 }, 2000)).toBe("the gateway waited 1500 ms for a CPU during a probe of 2000 ms");
    expect(starvedBecause({ pid1: 999, gateway: 999 }, 2000)).toBeUndefined();
    expect(starvedBecause({}, 2000)).toBeUndefined();
  });

  it("reads a thread's run-queue wait from /proc", () => {
    expect(runQueueWaitMs("self")).toBeGreaterThanOrEqual(0);
    expect(runQueueWaitMs(999_999_999)).toBeUndefined();
  });
});
