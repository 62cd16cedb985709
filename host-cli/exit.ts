// How sandboxctl ends: one status per outcome, the same for every command
// (docs/sandboxctl.md). The supervisor's own statuses (docs/supervisor-*.md) are mapped onto
// these in relay.ts; 3 means something else here, so its "busy" becomes 5.
import { constants } from "node:os";

export const EXIT = {
  ok: 0,
  /** The request failed (the layer is printed), or the gateway is not healthy (health). */
  failed: 1,
  usage: 2,
  /** The container does not exist or is not running. */
  notRunning: 3,
  /** Nothing could be asked: no docker, no supervisor in the container, no answer. */
  unavailable: 4,
  /** Another restart or signal on the same container held on for the whole timeout. */
  busy: 5,
  /** restart: refused before anything was stopped (the next launch cannot happen); check: a problem found. */
  refused: 78,
  /** sandboxctl itself failed unexpectedly (a bug): the supervisor's convention. */
  ownFailure: 125,
} as const;

/** The shell convention for a command ended by a signal: 130 after Ctrl-C. */
export function interruptedStatus(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}
