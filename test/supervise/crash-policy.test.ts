import { describe, expect, it } from "vitest";
import { backoffDelayMs, EMPTY_HISTORY, recordFailure, type CrashHistory, type CrashPolicy, type FailureKind } from "../../supervisor/supervise/crash-policy.js";

const policy: CrashPolicy = { initialBackoffMs: 1000, maxBackoffMs: 60_000, stableAfterMs: 60_000, quarantineAfter: 5, windowMs: 300_000 };

function replay(events: Array<[number, FailureKind]>): ReturnType<typeof recordFailure>[] {
  let history: CrashHistory = EMPTY_HISTORY;
  return events.map(([at, kind]) => {
    const outcome = recordFailure(history, kind, at, policy);
    history = outcome.history;
    return outcome;
  });
}

describe("crash policy", () => {
  it("doubles the backoff from 1 s up to the 60 s cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelayMs(n, policy))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it("quarantines after the threshold of crashes within the window", () => {
    const decisions = replay([0, 1, 2, 3, 4].map((i) => [i * 1000, "crash"])).map((o) => o.decision);
    expect(decisions.slice(0, 4)).toEqual([1000, 2000, 4000, 8000].map((delayMs) => ({ kind: "relaunch", delayMs })));
    expect(decisions[4]).toEqual({ kind: "quarantine", reason: "5 crashes within 300s" });
  });

  it("counts failed boots like crashes and names both in the reason", () => {
    const kinds: FailureKind[] = ["failed boot", "crash", "failed boot", "failed boot", "crash"];
    const last = replay(kinds.map((kind, i) => [i, kind])).at(-1)!;
    expect(last.decision).toEqual({ kind: "quarantine", reason: "2 crashes and 3 failed boots within 300s" });
    expect(replay([[0, "failed boot"]])[0]!.decision).toEqual({ kind: "relaunch", delayMs: 1000 });
  });

  it("forgets failures older than the window", () => {
    const outcomes = replay([[0, "crash"], [1000, "crash"], [2000, "crash"], [3000, "crash"], [400_000, "crash"]]);
    expect(outcomes.at(-1)!.decision.kind).toBe("relaunch");
    expect(outcomes.at(-1)!.history.failures).toHaveLength(1);
  });
});
