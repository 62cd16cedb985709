// Boot step 1: PID 1 removes the dangerous capabilities from its own bounding set by
// re-executing itself through setpriv (process.execve keeps the PID, so it stays PID 1).
// The guard variable stops a second attempt when the first could not remove them all.
import { presentIn, readCapabilities, SUPERVISOR_DROPS, type CapabilityName } from "../shared/capabilities.js";
import { findSetpriv } from "../init/step-down.js";

export const REEXEC_GUARD = "SUPERVISOR_CAPABILITIES_DROPPED";

export type DropOutcome =
  | { kind: "clean"; message: string }
  | { kind: "residual"; message: string; residual: string[] };

/** argv that re-executes this very program with `drops` removed from the bounding set. */
export function reexecArgv(setpriv: string, drops: readonly string[], execPath: string, args: readonly string[]): string[] {
  return [setpriv, `--bounding-set=${drops.map((c) => `-${c}`).join(",")}`, "--", execPath, ...args];
}

/**
 * Returns what happened, or does not return at all (re-exec). `keep`: capabilities of
 * SUPERVISOR_DROPS PID 1 keeps to hand to the gateway (gatewayNetBindService).
 */
export function dropOwnCapabilities(keep: readonly CapabilityName[] = []): DropOutcome {
  const afterReexec = process.env[REEXEC_GUARD] === "1";
  delete process.env[REEXEC_GUARD];
  const drops = SUPERVISOR_DROPS.filter((cap) => !keep.includes(cap));
  const caps = readCapabilities();
  const present = presentIn(caps.bounding, drops);
  const kept = keep.length > 0 ? `; kept ${keep.join(",")} for the gateway alone` : "";
  if (present.length === 0) {
    return {
      kind: "clean",
      message: afterReexec
        ? `capabilities: dropped ${drops.join(",")} from PID 1's bounding set${kept}`
        : `capabilities: PID 1's bounding set already lacks every dangerous capability${kept}`,
    };
  }
  const why = afterReexec
    ? "still present after re-exec"
    : !caps.effective.has("setpcap")
      ? "no CAP_SETPCAP to drop them"
      : findSetpriv() === undefined
        ? "no setpriv (install util-linux)"
        : undefined;
  if (why !== undefined) {
    return { kind: "residual", residual: present, message: `capabilities: PID 1 keeps ${present.join(",")} (${why})` };
  }
  const setpriv = findSetpriv()!;
  return process.execve!(setpriv, reexecArgv(setpriv, present, process.execPath, process.argv.slice(2)), {
    ...process.env,
    [REEXEC_GUARD]: "1",
  });
}
