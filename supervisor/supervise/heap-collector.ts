// Full garbage collections for a PID 1 that lives as long as its container. V8 grows its
// old generation until an allocation limit far above what the supervisor keeps alive, so
// the garbage of each restart (probes, /proc reads, the launch) stays resident: +6 MB over
// 3,000 restarts, measured, with a live heap that stays flat. After a launch, at most once
// per MIN_INTERVAL_MS, the supervisor collects; a full collection of its few-MB heap takes
// a few milliseconds, then malloc_trim gives the pages freed inside malloc's heap back.
// `gc` exists only under --expose-gc (baked into the executable, build.mjs); without it
// (plain node, the tests' bundle) this does nothing.

const MIN_INTERVAL_MS = 5_000;

type Collect = () => void;

export class HeapCollector {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly trim: () => void,
    private readonly collect: Collect | undefined = (globalThis as { gc?: Collect }).gc,
    private readonly now: () => number = Date.now,
  ) {}

  /** A launch happened: collect now, or once the interval since the last collection is over. */
  afterLaunch(): void {
    if (this.collect === undefined || this.timer !== undefined) return;
    const wait = this.last + MIN_INTERVAL_MS - this.now();
    if (wait <= 0) return this.run();
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    this.last = this.now();
    this.collect?.();
    this.trim();
  }
}
