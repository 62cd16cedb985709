// When a failed gateway is launched again (docs/gateway-states.md): exponential backoff with
// a cap, reset once a gateway has been healthy for a stable period, and quarantine after
// too many crashes or failed boots in a window. Pure: the caller passes the clock in.

export interface CrashPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Healthy this long, and the backoff starts from the beginning again. */
  stableAfterMs: number;
  /** This many crashes or failed boots within windowMs put the gateway in quarantine. */
  quarantineAfter: number;
  windowMs: number;
}

/** A crash (unexpected exit, failed launch) or a failed boot (never became healthy). */
export type FailureKind = "crash" | "failed boot";

export interface CrashHistory {
  /** Failures within the window, oldest first. */
  failures: ReadonlyArray<{ at: number; kind: FailureKind }>;
  /** Failures since the gateway was last healthy for the stable period. */
  consecutive: number;
}

export const EMPTY_HISTORY: CrashHistory = { failures: [], consecutive: 0 };

export type CrashDecision = { kind: "relaunch"; delayMs: number } | { kind: "quarantine"; reason: string };

/** Delay before relaunch number `consecutive` (1-based): initial, doubling, capped. */
export function backoffDelayMs(consecutive: number, policy: Pick<CrashPolicy, "initialBackoffMs" | "maxBackoffMs">): number {
  const exponent = Math.min(Math.max(consecutive - 1, 0), 30);
  return Math.min(policy.initialBackoffMs * 2 ** exponent, policy.maxBackoffMs);
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Records a failure at `now` and decides what happens next. */
export function recordFailure(
  history: CrashHistory,
  kind: FailureKind,
  now: number,
  policy: CrashPolicy,
): { history: CrashHistory; decision: CrashDecision } {
  const failures = [...history.failures.filter((f) => now - f.at < policy.windowMs), { at: now, kind }];
  const next: CrashHistory = { failures, consecutive: history.consecutive + 1 };
  if (failures.length >= policy.quarantineAfter) {
    const crashes = failures.filter((f) => f.kind === "crash").length;
    const boots = failures.length - crashes;
    const what = [crashes > 0 ? count(crashes, "crash", "crashes") : "", boots > 0 ? count(boots, "failed boot", "failed boots") : ""]
      .filter(Boolean)
      .join(" and ");
    return { history: next, decision: { kind: "quarantine", reason: `${what} within ${Math.round(policy.windowMs / 1000)}s` } };
  }
  return { history: next, decision: { kind: "relaunch", delayMs: backoffDelayMs(next.consecutive, policy) } };
}
