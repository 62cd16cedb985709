// When the gateway is probed: one timer, at most one probe in flight. What a verdict means
// is the supervisor's decision; this only runs the proof (health.ts) on schedule.
export class ProbeTimer<Verdict> {
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  /** `probe` proves health (undefined: nothing to probe); `onVerdict` gets its answer. */
  constructor(
    private readonly probe: () => Promise<Verdict | undefined>,
    private readonly onVerdict: (verdict: Verdict) => void,
  ) {}

  schedule(delayMs: number): void {
    this.clear();
    this.timer = setTimeout(() => void this.run(), delayMs);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.probing) return;
    this.probing = true;
    let verdict: Verdict | undefined;
    try {
      verdict = await this.probe();
    } finally {
      this.probing = false;
    }
    if (verdict !== undefined) this.onVerdict(verdict);
  }
}
