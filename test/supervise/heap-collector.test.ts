import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { exposedGc, HeapCollector } from "../../supervisor/supervise/heap-collector.js";

describe("HeapCollector", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("collects and trims at the first launch, then at most once per 5 s however many launches come", () => {
    const calls: string[] = [];
    const collector = new HeapCollector({ trim: () => calls.push("trim"), collect: () => calls.push("gc"), now: () => Date.now() });
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
    const collector = new HeapCollector({ trim, collect: null });
    collector.afterLaunch();
    collector.afterSettled();
    vi.advanceTimersByTime(120_000);
    collector.afterLaunch();
    expect(trim).not.toHaveBeenCalled();
  });

  it("collects deeply 20 s after the gateway settles, then every minute; flushing stops after the first", () => {
    const calls: string[] = [];
    const collector = new HeapCollector({
      trim: () => calls.push("trim"),
      collect: (options) => calls.push(options?.flavor ?? "regular"),
      stopFlushing: () => calls.push("stop-flushing"),
    });
    collector.afterSettled();
    vi.advanceTimersByTime(15_000);
    // Healthy again (a restart in process): the quiet period starts over.
    collector.afterSettled();
    vi.advanceTimersByTime(19_000);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(calls).toEqual(["last-resort", "trim", "stop-flushing"]);
    vi.advanceTimersByTime(120_000);
    expect(calls).toEqual(["last-resort", "trim", "stop-flushing", "last-resort", "trim", "last-resort", "trim"]);
  });

  it("a last-resort collection gives pages back under the executable's Node and flags: the young generation shrinks", () => {
    // The Node build.mjs compiles the executables from (npm test builds first), with PID 1's heap flags.
    const cache = resolve(import.meta.dirname, "../../.cache/node");
    const dir = readdirSync(cache).find((name) => name.endsWith(`-linux-${process.arch}`) && !name.endsWith(".gz"))!;
    const script = `
      const young = () => require("v8").getHeapSpaceStatistics().find((s) => s.space_name === "new_space").physical_space_size;
      let keep = [];
      for (let i = 0; i < 300000; i++) keep.push({ i });
      keep = null;
      gc();
      const before = young();
      gc({ type: "major", execution: "sync", flavor: "last-resort" });
      console.log(JSON.stringify({ before, after: young() }));`;
    const out = execFileSync(join(cache, dir, "bin/node"), ["--expose-gc", "--jitless", "--max-semi-space-size=1", "-e", script], { encoding: "utf8" });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    expect(after).toBeLessThan(before / 2);
  });

  it("fetches V8's gc without leaving --expose-gc set", () => {
    const gc = exposedGc();
    expect(typeof gc).toBe("function");
    gc!();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
