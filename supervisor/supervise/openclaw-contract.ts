// OpenClaw's own supervision contract (read from OpenClaw 2026.9.6: gateway-supervision,
// supervisor-markers, gateway-boot-lifecycle), and the supervisor's side of it.
//
// - OPENCLAW_SUPERVISOR_MODE=external: OpenClaw hands lifecycle actions to us. `openclaw
//   gateway restart|stop` and self-update refuse with "managed by an external supervisor",
//   and the gateway never respawns itself. OPENCLAW_NO_RESPAWN=1 says the same to older
//   versions. Both go into the gateway's environment; sandbox shells need the mode too
//   (the OpenClaw image sets it for every process).
// - The restart-loop breaker: at each boot OpenClaw counts its unclean boots (no completed
//   stop recorded: killed, crashed, failed startup) that started within the last 5 minutes;
//   at 3 or more it suppresses channel/provider auto-start for that boot, and lifts that
//   once the window has drained. A stop by our SIGTERM that OpenClaw completes is a clean
//   boot; only our SIGKILL after the stop grace makes one unclean. So restarts and stops by
//   the supervisor never trip it as long as the gateway stops within stopGraceSeconds.
// - OpenClaw warns "stopped after SIGTERM 3 times in 5 min: another supervisor may be
//   managing this Gateway" after three of our restarts: expected, and harmless here.
//
// The breaker lives in OpenClaw's state database, which the gateway user writes; PID 1 does
// not read it (hostile input). Status shows the supervisor's reckoning instead, from its own
// record of how each boot ended, by the same rule.

/** The gateway's environment, on top of the launch plan's. */
export const SUPERVISED_GATEWAY_ENV: Readonly<Record<string, string>> = {
  OPENCLAW_NO_RESPAWN: "1",
  OPENCLAW_SUPERVISOR_MODE: "external",
};

/** GATEWAY_BOOT_LOOP_UNCLEAN_THRESHOLD and GATEWAY_BOOT_LOOP_WINDOW_MS of OpenClaw. */
export const BREAKER_THRESHOLD = 3;
export const BREAKER_WINDOW_MS = 300_000;
