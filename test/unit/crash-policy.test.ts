import { describe, expect, it } from "vitest";
import { backoffDelayMs, CrashHistory, type CrashPolicy } from "../../supervisor/supervise/crash-policy.js";

const policy: CrashPolicy = { initialBackoffMs: 1000, maxBackoffMs: 60_000, stableAfterMs: 60_000, quarantineAfter: 5, windowMs: 300_000 };

describe("crash policy", () => {
  it("doubles the backoff from 1 s up to the 60 s cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelayMs(n, policy))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it("quarantines after the threshold of crashes within the window", () => {
    const history = new CrashHistory(policy);
    const decisions = [0, 1, 2, 3, 4].map((i) => history.recordCrash(i * 1000));
    expect(decisions.slice(0, 4)).toEqual([1000, 2000, 4000, 8000].map((delayMs) => ({ kind: "relaunch", delayMs })));
    expect(decisions[4]).toEqual({ kind: "quarantine", reason: "5 crashes within 300s" });
  });

  it("forgets crashes older than the window", () => {
    const history = new CrashHistory(policy);
    for (let i = 0; i < 4; i++) history.recordCrash(i * 1000);
    expect(history.recordCrash(400_000).kind).toBe("relaunch");
  });

  it("starts the backoff over after a stable period, and a reset lifts everything", () => {
    const history = new CrashHistory(policy);
    history.recordCrash(0);
    history.recordCrash(1);
    history.recordStable();
    expect(history.recordCrash(2)).toEqual({ kind: "relaunch", delayMs: 1000 });
    history.recordCrash(3);
    history.reset();
    for (let i = 0; i < 4; i++) expect(history.recordCrash(10 + i).kind).toBe("relaunch");
  });
});
