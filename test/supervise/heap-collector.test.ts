import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { exposedGc, HeapCollector } from "../../supervisor/supervise/heap-collector.js";

describe("HeapCollector", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("collects and trims at the first launch, then at most once per 5 s however many launches come", () => {
    const calls: string[] = [];
    const collector = new HeapCollector(() => calls.push("trim"), () => calls.push("gc"), () => Date.now());
    collector.afterLaunch();
    expect(calls).toEqual(["gc", "trim"]);
    for (let i = 0; i < 50; i++) {
      vi.advanceTimersByTime(90);
      collector.afterLaunch();
    }
    // 4.5 s of launches: one collection is pending, none ran.
    expect(calls).toEqual(["gc", "trim"]);
    vi.advanceTimersByTime(500);
    expect(calls).toEqual(["gc", "trim", "gc", "trim"]);
    vi.advanceTimersByTime(60_000);
    expect(calls.length).toBe(4);
    collector.afterLaunch();
    expect(calls.length).toBe(6);
  });

  it("does nothing without a gc function", () => {
    const trim = vi.fn();
    const collector = new HeapCollector(trim, null);
    collector.afterLaunch();
    vi.advanceTimersByTime(10_000);
    collector.afterLaunch();
    expect(trim).not.toHaveBeenCalled();
  });

  it("fetches V8's gc without leaving --expose-gc set", () => {
    const gc = exposedGc();
    expect(typeof gc).toBe("function");
    gc!();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
