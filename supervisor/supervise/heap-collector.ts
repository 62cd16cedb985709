// Full garbage collections for a PID 1 that lives as long as its container. V8 grows its
// old generation until an allocation limit far above what the supervisor keeps alive, so
// the garbage of each restart (probes, /proc reads, the launch) stays resident: +6 MB over
// 3,000 restarts, measured, with a live heap that stays flat. After a launch, at most once
// per MIN_INTERVAL_MS, the supervisor collects; a full collection of its few-MB heap takes
// a few milliseconds, then malloc_trim gives the pages freed inside malloc's heap back.
// Once the gateway has been healthy for SETTLE_MS, and every IDLE_INTERVAL_MS after, the
// collection is V8's "last resort" one: it also compacts the old generation, shrinks the
// young one back to its smallest size and gives the freed pages back, and the first one drops
// the boot's bytecode (recompiled from the bundle's source if ever needed). An idle PID 1
// then stays between 8.5 and 9.3 MB instead of climbing to 10.3 MB, for 13 ms of collection
// a minute (docs/startup-and-memory.md).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const MIN_INTERVAL_MS = 5_000;
const SETTLE_MS = 20_000;
const IDLE_INTERVAL_MS = 60_000;

/** V8's gc; the options select the collection (none: one full, "regular" collection). */
type Collect = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;
const DEEP = { type: "major", execution: "sync", flavor: "last-resort" } as const;

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

export interface HeapCollectorHooks {
  /** Returns free pages inside malloc's heaps to the kernel. */
  trim: () => void;
  /** V8's gc (default: exposedGc(), fetched at first use); null never collects. */
  collect?: Collect | null;
  /** Stops V8 from flushing bytecode (default: the V8 flag); called after the first deep collection. */
  stopFlushing?: () => void;
  now?: () => number;
}

export class HeapCollector {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;
  private deepTimer: NodeJS.Timeout | undefined;
  private collect: Collect | null | undefined;
  private flushing = true;

  constructor(private readonly hooks: HeapCollectorHooks) {
    this.collect = hooks.collect;
  }

  /** A launch happened: collect now, or once the interval since the last collection is over. */
  afterLaunch(): void {
    if (!this.ready() || this.timer !== undefined) return;
    const wait = this.last + MIN_INTERVAL_MS - this.now();
    if (wait <= 0) return this.run();
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  /** The gateway turned healthy: deep collections from SETTLE_MS on, every IDLE_INTERVAL_MS. */
  afterSettled(): void {
    if (this.ready()) this.armDeep(SETTLE_MS);
  }

  private ready(): boolean {
    if (this.collect === undefined) this.collect = exposedGc();
    return this.collect !== null;
  }

  private now(): number {
    return (this.hooks.now ?? Date.now)();
  }

  private armDeep(delay: number): void {
    clearTimeout(this.deepTimer);
    this.deepTimer = setTimeout(() => this.runDeep(), delay);
    this.deepTimer.unref();
  }

  // The first deep collection drops the boot's bytecode; later ones would also drop the
  // probes', which are then compiled again within seconds: measured, that recompiling cost
  // an idle PID 1 three times the CPU of the collections. So flushing stops after the first.
  private runDeep(): void {
    this.collect?.(DEEP);
    this.hooks.trim();
    if (this.flushing) {
      this.flushing = false;
      (this.hooks.stopFlushing ?? (() => setFlagsFromString("--no-flush-bytecode")))();
    }
    this.armDeep(IDLE_INTERVAL_MS);
  }

  private run(): void {
    this.timer = undefined;
    this.last = this.now();
    this.collect?.();
    this.hooks.trim();
  }
}
