// Reaps every zombie child of this process except the ones Node spawned itself.
//
// libuv waits only for the pids it spawned, so orphans re-parented to PID 1 would stay
// zombies forever. waitpid(-1) would steal the exit status libuv is waiting for and
// leave its handle hanging, so the native scan skips every pid Node spawned; those are
// learnt by wrapping the spawn method of each new ChildProcess, the one path all async
// spawns take (spawnSync blocks the loop, so no scan can run while its child lives).
// Each ChildProcess announces itself on the "child_process" diagnostics channel as it is
// constructed, before it spawns: listening there, rather than patching the class, keeps
// node:child_process (and the streams and sockets it loads, a tenth of `run`'s start-up)
// out of PID 1 until something really spawns.
import { subscribe } from "node:diagnostics_channel";
import type { ChildProcess } from "node:child_process";
import type { NativeAddon } from "../shared/native.js";

export type ReapedHandler = (pid: number, rawStatus: number) => void;

/**
 * Scans run on SIGCHLD; the timer covers a signal lost while a scan ran, and keeps the
 * event loop alive (signal handlers alone do not), so the supervisor lives until it
 * decides to exit.
 */
const FALLBACK_SCAN_MS = 2000;

const nodeChildren = new Set<number>();
let spawnHooked = false;

type Spawnable = ChildProcess & { spawn(this: ChildProcess, options: unknown): unknown };

function trackNodeChildren(): void {
  if (spawnHooked) return;
  spawnHooked = true;
  subscribe("child_process", (message) => {
    // Not in Node's typings, but it is what child_process.spawn/exec/execFile/fork call.
    const child = (message as { process: Spawnable }).process;
    const originalSpawn = child.spawn;
    child.spawn = function (this: ChildProcess, options: unknown) {
      const result = originalSpawn.call(this, options);
      const pid = this.pid;
      if (pid !== undefined) {
        nodeChildren.add(pid);
        this.once("exit", () => nodeChildren.delete(pid));
      }
      return result;
    };
  });
}

export class Reaper {
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly addon: NativeAddon,
    private readonly onReaped: ReapedHandler,
  ) {}

  start(): void {
    trackNodeChildren();
    process.on("SIGCHLD", this.schedule);
    this.timer = setInterval(this.schedule, FALLBACK_SCAN_MS);
    this.schedule();
  }

  stop(): void {
    process.off("SIGCHLD", this.schedule);
    if (this.timer) clearInterval(this.timer);
  }

  /** Reaps now; returns how many zombies were collected. */
  reapNow(): number {
    const flat = this.addon.reapZombies(Int32Array.from(nodeChildren));
    for (let i = 0; i + 1 < flat.length; i += 2) this.onReaped(flat[i]!, flat[i + 1]!);
    return flat.length / 2;
  }

  // Many SIGCHLDs in a burst collapse into one scan per loop turn.
  private readonly schedule = (): void => {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reapNow();
    });
  };
}
