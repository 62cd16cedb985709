// One line per interval at most, so a flood of bad requests cannot flood PID 1's log.
export class RateLimitedLog {
  private lastAt = -Infinity;
  private suppressed = 0;
  private latest = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (message: string) => void,
    private readonly intervalMs: number,
  ) {}

  note(message: string): void {
    const now = Date.now();
    if (this.suppressed === 0 && now - this.lastAt >= this.intervalMs) {
      this.lastAt = now;
      this.write(message);
      return;
    }
    this.suppressed++;
    this.latest = message;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastAt + this.intervalMs - now)).unref();
  }

  private flush(): void {
    this.timer = undefined;
    const more = this.suppressed - 1;
    this.write(more > 0 ? `${this.latest} (and ${more} more in the last ${this.intervalMs / 1000} s)` : this.latest);
    this.suppressed = 0;
    this.lastAt = Date.now();
  }

  stop(): void {
    if (this.timer !== undefined) this.flush();
    clearTimeout(this.timer);
  }
}
