// Boot step 1: PID 1 removes the dangerous capabilities from its own bounding set, and from
// its permitted, effective and inheritable sets, so that neither PID 1 nor anything it ever
// starts can have them again.
//
// The sets belong to each thread, not to the process, and Node runs several threads from
// its first instant (V8's platform workers, its delayed-task thread, later libuv's pool).
// So the addon makes every thread drop its own (dropCapabilities), and then every thread's
// /proc status is read back: only when none keeps any of them is the drop done, in-process,
// in a few milliseconds. Otherwise (a thread that blocks the addon's signal: Node's SIGUSR1
// inspector thread, which build.mjs's --disable-sigusr1 removes) PID 1 falls back to what
// it did before: re-execute itself through `setpriv --bounding-set` (process.execve keeps the
// PID, so it stays PID 1; exec as root leaves permitted and effective within the bounding set),
// a second start of the whole program. The guard variable stops a second attempt when the
// first could not remove them all. docs/startup-and-memory.md compares both.
import { readdirSync, readFileSync } from "node:fs";
import {
  CAPABILITY_NAMES,
  decodeCapabilityMask,
  presentIn,
  readCapabilities,
  SUPERVISOR_DROPS,
  type CapabilityName,
} from "../shared/capabilities.js";
import type { NativeAddon } from "../shared/native.js";
import { findSetpriv } from "../init/step-down.js";

export const REEXEC_GUARD = "SUPERVISOR_CAPABILITIES_DROPPED";

export type DropOutcome =
  | { kind: "clean"; message: string }
  | { kind: "residual"; message: string; residual: string[] };

/** argv that re-executes this very program with `drops` removed from the bounding set. */
export function reexecArgv(setpriv: string, drops: readonly string[], execPath: string, args: readonly string[]): string[] {
  return [setpriv, `--bounding-set=${drops.map((c) => `-${c}`).join(",")}`, "--", execPath, ...args];
}

const SETS = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] as const;

/** Pure: which of `names` one thread's /proc status text still has in any of its sets. */
export function keptByThread(statusText: string, names: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const set of SETS) {
    const mask = new RegExp(`^${set}:\\s*([0-9a-f]+)$`, "m").exec(statusText)?.[1];
    // A kernel without the line (CapAmb before 4.3) has no such set to keep anything in.
    if (mask === undefined) continue;
    for (const name of presentIn(decodeCapabilityMask(mask), names)) kept.add(name);
  }
  return names.filter((name) => kept.has(name));
}

/** Which of `names` any thread of this process still has. */
function keptByAnyThread(names: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      for (const name of keptByThread(readFileSync(`/proc/self/task/${tid}/status`, "utf8"), names)) kept.add(name);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return names.filter((name) => kept.has(name));
}

/** Drops `names` on every thread; returns what any thread kept (none: done). */
function dropInProcess(addon: NativeAddon, names: readonly string[]): string[] {
  const rc = addon.dropCapabilities(names.map((name) => CAPABILITY_NAMES.indexOf(name as (typeof CAPABILITY_NAMES)[number])));
  const kept = keptByAnyThread(names);
  return rc === 0 || kept.length > 0 ? kept : [...names];
}

/**
 * Returns what happened, or does not return at all (the fallback re-exec). `keep`:
 * capabilities of SUPERVISOR_DROPS PID 1 keeps to hand to the gateway (gatewayNetBindService).
 */
export function dropOwnCapabilities(addon: NativeAddon, keep: readonly CapabilityName[] = []): DropOutcome {
  const afterReexec = process.env[REEXEC_GUARD] === "1";
  delete process.env[REEXEC_GUARD];
  const drops = SUPERVISOR_DROPS.filter((cap) => !keep.includes(cap));
  const caps = readCapabilities();
  const present = presentIn(caps.bounding, drops);
  const kept = keep.length > 0 ? `; kept ${keep.join(",")} for the gateway alone` : "";
  const dropped = `capabilities: dropped ${drops.join(",")} from PID 1's bounding set${kept}`;
  if (present.length === 0) {
    return {
      kind: "clean",
      message: afterReexec ? dropped : `capabilities: PID 1's bounding set already lacks every dangerous capability${kept}`,
    };
  }
  if (afterReexec) return { kind: "residual", residual: present, message: `capabilities: PID 1 keeps ${present.join(",")} (still present after re-exec)` };
  if (!caps.effective.has("setpcap")) {
    return { kind: "residual", residual: present, message: `capabilities: PID 1 keeps ${present.join(",")} (no CAP_SETPCAP to drop them)` };
  }
  const left = dropInProcess(addon, present);
  if (left.length === 0) return { kind: "clean", message: dropped };
  const setpriv = findSetpriv();
  if (setpriv === undefined) {
    return { kind: "residual", residual: left, message: `capabilities: PID 1 keeps ${left.join(",")} (no setpriv (install util-linux))` };
  }
  return process.execve!(setpriv, reexecArgv(setpriv, present, process.execPath, process.argv.slice(2)), {
    ...process.env,
    [REEXEC_GUARD]: "1",
  });
}
