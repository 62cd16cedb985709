// What every PID 1 loop of this program stands on, in this order: a warning when it can be
// neither PID 1 nor a subreaper, its signal handlers (Node as PID 1 ignores an unhandled
// TERM or INT), the reaper, and the signals caught before the loop existed, handed on once
// there is something to hand them to. The one-child loop (init-loop.ts) and the gateway
// loop of the composition root (supervisor/pid1.ts) both start here, so the two cannot
// drift apart.
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { FORWARDED_SIGNALS, type ForwardedSignal } from "../shared/signals.js";
import { takeEarlySignals } from "./early-signals.js";
import { Reaper, type ReapedHandler } from "./reaper.js";

export interface Pid1Skeleton {
  isPid1: boolean;
  reaper: Reaper;
  /** Signals that came before the handlers, oldest first: replay them once the loop can act. */
  early: ForwardedSignal[];
  /**
   * SIGKILL to every other process of the namespace when PID 1; outside a namespace -1
   * would mean every process of the machine, so only `group` then (if given).
   */
  killAllOthers(group?: number): void;
}

export function startPid1Skeleton(addon: NativeAddon, onReaped: ReapedHandler, onSignal: (signal: NodeJS.Signals) => void): Pid1Skeleton {
  const isPid1 = process.pid === 1;
  if (!isPid1 && !addon.setChildSubreaper()) {
    log("not PID 1 and cannot become a child subreaper: orphaned processes will not be reaped by the supervisor", { level: "warn", event: "init.no-subreaper" });
  }
  const reaper = new Reaper(addon, onReaped);
  // Handlers first, then the early signals are taken: no moment is left without a handler.
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => onSignal(signal));
  const early = takeEarlySignals();
  reaper.start();
  return {
    isPid1,
    reaper,
    early,
    killAllOthers(group?: number): void {
      const target = isPid1 ? -1 : group === undefined ? undefined : -group;
      if (target === undefined) return;
      try {
        process.kill(target, "SIGKILL");
      } catch {
        // Nothing left to kill.
      }
    },
  };
}
