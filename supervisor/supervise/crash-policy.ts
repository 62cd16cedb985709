// When a crashed gateway is launched again (SPEC 4 "Crash loop"): exponential backoff
// with a cap, reset once a gateway has been healthy for a stable period, and quarantine
// after too many crashes in a window. Pure: the supervise loop passes the clock in.

export interface CrashPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Healthy this long, and the backoff starts from the beginning again. */
  stableAfterMs: number;
  /** This many crashes within windowMs put the gateway in quarantine. */
  quarantineAfter: number;
  windowMs: number;
}

export type CrashDecision = { kind: "relaunch"; delayMs: number } | { kind: "quarantine"; reason: string };

/** Delay before relaunch number `consecutive` (1-based): initial, doubling, capped. */
export function backoffDelayMs(consecutive: number, policy: CrashPolicy): number {
  const exponent = Math.min(Math.max(consecutive - 1, 0), 30);
  return Math.min(policy.initialBackoffMs * 2 ** exponent, policy.maxBackoffMs);
}

export class CrashHistory {
  private times: number[] = [];
  private consecutive = 0;

  constructor(private readonly policy: CrashPolicy) {}

  /** Records an unexpected exit at `now` and decides what happens next. */
  recordCrash(now: number): CrashDecision {
    this.times = this.times.filter((t) => now - t < this.policy.windowMs);
    this.times.push(now);
    this.consecutive++;
    if (this.times.length >= this.policy.quarantineAfter) {
      return {
        kind: "quarantine",
        reason: `${this.times.length} crashes within ${Math.round(this.policy.windowMs / 1000)}s`,
      };
    }
    return { kind: "relaunch", delayMs: backoffDelayMs(this.consecutive, this.policy) };
  }

  /** The gateway has been healthy for the stable period: the next crash starts over. */
  recordStable(): void {
    this.consecutive = 0;
  }

  /** An explicit restart lifts the quarantine and forgets the crash window. */
  reset(): void {
    this.times = [];
    this.consecutive = 0;
  }
}
