// OpenClaw's own supervision contract (read from OpenClaw 2026.9.6: gateway-supervision,
// supervisor-markers, gateway-boot-lifecycle), and the supervisor's side of it.
//
// - OPENCLAW_SUPERVISOR_MODE=external: OpenClaw hands lifecycle actions to us. `openclaw
//   gateway restart|stop` and self-update refuse with "managed by an external supervisor",
//   and the gateway never respawns itself. Sandbox shells need the mode too (the OpenClaw
//   image sets it for every process).
// - Restarts OpenClaw asks for itself (SIGUSR2, a config change that needs one) happen in
//   process with OPENCLAW_NO_RESPAWN=1 (the listener goes away and comes back under the same
//   pid: the state machine's "restarting"), or, without it, as an exit 0 after a restart
//   handoff that the supervisor consumes (restart-handoff.ts).
// - The restart-loop breaker: at each boot OpenClaw counts its unclean boots (no completed
//   stop recorded: killed, crashed, failed startup) that started within the last 5 minutes;
//   at 3 or more it suppresses channel/provider auto-start for that boot, and lifts that
//   once the window has drained. A stop by our SIGTERM that OpenClaw completes is a clean
//   boot; only our SIGKILL after the drain budget makes one unclean. OpenClaw drains for at
//   most 315 s within a 325 s shutdown, so restarts and stops with the default
//   restartDrainSeconds (330) never trip it; PID 1's own shutdown uses stopGraceSeconds.
// - OpenClaw warns "stopped after SIGTERM 3 times in 5 min: another supervisor may be
//   managing this Gateway" after three of our restarts: expected, and harmless here.
//
// The breaker lives in OpenClaw's state database, which the gateway user writes; PID 1 does
// not read it (hostile input). Status shows the supervisor's reckoning instead, from its own
// record of how each boot ended, by the same rule.
import type { GatewayRestarts } from "../shared/settings.js";

/**
 * The gateway's environment, on top of the launch plan's. OPENCLAW_NO_RESPAWN=1 makes OpenClaw
 * restart in process (same pid); without it, an external supervisor's gateway exits 0 after
 * writing a restart handoff instead (restart-handoff.ts).
 */
export function supervisedGatewayEnv(restarts: GatewayRestarts): Record<string, string> {
  return restarts === "in-process" ? { OPENCLAW_NO_RESPAWN: "1", OPENCLAW_SUPERVISOR_MODE: "external" } : { OPENCLAW_SUPERVISOR_MODE: "external" };
}

/** GATEWAY_BOOT_LOOP_UNCLEAN_THRESHOLD and GATEWAY_BOOT_LOOP_WINDOW_MS of OpenClaw. */
export const BREAKER_THRESHOLD = 3;
export const BREAKER_WINDOW_MS = 300_000;
