// Full garbage collections for a PID 1 that lives as long as its container. V8 grows its
// old generation until an allocation limit far above what the supervisor keeps alive, so
// the garbage of each restart (probes, /proc reads, the launch) stays resident: +6 MB over
// 3,000 restarts, measured, with a live heap that stays flat. After a launch, at most once
// per MIN_INTERVAL_MS, the supervisor collects; a full collection of its few-MB heap takes
// a few milliseconds, then malloc_trim gives the pages freed inside malloc's heap back.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const MIN_INTERVAL_MS = 5_000;

type Collect = () => void;

/**
 * V8's `gc`, without running the whole process under --expose-gc: any V8 flag on the
 * command line changes V8's flag hash, and Node then rejects the code cache of every
 * built-in module it loads (37 of them for node:crypto alone, compiled from source at each
 * start). The flag is set only while the function is fetched, then restored, so the hash is
 * the default one again.
 */
export function exposedGc(): Collect | null {
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    return typeof gc === "function" ? (gc as Collect) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}

export class HeapCollector {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private collect: Collect | null | undefined;

  /** collect: V8's gc (default: exposedGc(), fetched at the first launch); null never collects. */
  constructor(
    private readonly trim: () => void,
    collect?: Collect | null,
    private readonly now: () => number = Date.now,
  ) {
    this.collect = collect;
  }

  /** A launch happened: collect now, or once the interval since the last collection is over. */
  afterLaunch(): void {
    if (this.collect === undefined) this.collect = exposedGc();
    if (this.collect === null || this.timer !== undefined) return;
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
