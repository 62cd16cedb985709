// Which signals `sandboxctl signal` relays to a container's PID 1: exactly those the
// supervisor handles (supervisor/shared/signals.ts). HUP restarts the gateway; TERM, INT and QUIT
// shut the container down gracefully; the others are passed on to the gateway. Refused:
// KILL and STOP (cannot be handled: KILL ends the container with no graceful stop of the
// gateway; use `docker kill` knowingly), USR1 (Node starts its inspector on it) and
// everything else (PID 1 of a container ignores a signal it has no handler for).
import { FORWARDED_SIGNALS, type ForwardedSignal } from "../supervisor/shared/signals.js";

export type RelayedSignal = ForwardedSignal;

export const RELAYED_SIGNALS: readonly RelayedSignal[] = FORWARDED_SIGNALS;

const WHY_REFUSED: Record<string, string> = {
  SIGKILL: "it cannot be handled and ends the container without stopping the gateway gracefully (use TERM, or docker kill knowingly)",
  SIGSTOP: "it cannot be handled and freezes PID 1 (use docker pause knowingly)",
  SIGUSR1: "Node starts its inspector on it in PID 1",
};

/** Pure: "HUP", "hup" or "SIGHUP" → "SIGHUP"; numbers are refused (they differ between architectures). */
export function parseSignal(text: string): { ok: true; signal: RelayedSignal } | { ok: false; message: string } {
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const allowed = RELAYED_SIGNALS.map((s) => s.slice(3)).join(", ");
  if ((RELAYED_SIGNALS as readonly string[]).includes(name)) return { ok: true, signal: name as RelayedSignal };
  const why = WHY_REFUSED[name];
  if (why !== undefined) return { ok: false, message: `refusing to send ${name}: ${why}; allowed: ${allowed}` };
  return { ok: false, message: `signal '${text}': expected a signal name, one of ${allowed}` };
}
