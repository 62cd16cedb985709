// The control contract: what the control channel may ask of the supervise loop and what it
// gets back (states, status reports, request outcomes). The loop implements it; the control
// stage and the commands that talk to it only use it.
import type { ProcessIdentity } from "./identity.js";
import type { PortProtection } from "./port-guard.js";
import type { Posture } from "../shared/settings.js";

/**
 * restarting: the same gateway restarts in process; config-error: no gateway because the
 * config prevents a launch, until it changes (docs/gateway-states.md).
 */
export type GatewayState =
  | "starting"
  | "healthy"
  | "unhealthy"
  | "restarting"
  | "stopping"
  | "backing-off"
  | "quarantined"
  | "config-error"
  | "stopped";

export const GATEWAY_STATES: readonly GatewayState[] = [
  "starting",
  "healthy",
  "unhealthy",
  "restarting",
  "stopping",
  "backing-off",
  "quarantined",
  "config-error",
  "stopped",
];

export interface LastExit {
  /** "exited with 1", "killed by SIGKILL" */
  description: string;
  at: string;
  /** Caused by the supervisor itself (restart, stop, watchdog): never counted as a crash. */
  expected: boolean;
}

export interface StatusReport {
  state: GatewayState;
  gateway: (ProcessIdentity & { startedAt: string; uptimeSeconds: number }) | null;
  restarts: number;
  crashes: number;
  /** Boots replaced because they never became healthy; they count towards quarantine like crashes. */
  failedBoots: number;
  /** In-process restarts of the running gateway (OpenClaw's own, same pid): never counted as crashes. */
  inProcessRestarts: number;
  lastExit: LastExit | null;
  /** When a quarantined gateway gets its next probation relaunch (ISO time); null if none is due. */
  probationAt: string | null;
  /**
   * OpenClaw's restart-loop breaker as the supervisor reckons it by OpenClaw's own rule
   * (docs/gateway-states.md): boots that ended uncleanly within its window.
   */
  breaker: { tripped: boolean; uncleanBoots: number; windowSeconds: number };
  /** Why the state is what it is, e.g. the quarantine reason or the next launch time. */
  detail: string | null;
  /**
   * What the gateway's readiness probe said last (health mode probes): shown, never acted
   * on. null when unknown (no readiness probe, not started, or not the contract).
   */
  readiness: { ready: boolean; failing: string[] } | null;
  /** Stopping: the SIGTERM-to-SIGKILL budget of the stop under way and what is left of it. */
  drain: { budgetSeconds: number; secondsLeft: number } | null;
  capabilities: {
    /** Must-drop capabilities the running gateway kept (empty: clean; null: unknown). */
    gatewayKept: string[] | null;
    /** Capabilities of SUPERVISOR_DROPS still in PID 1's bounding set. */
    supervisorKept: string[];
  };
  mode: "root" | "non-root";
  posture: Posture;
  /** Whether only a privileged process may listen on the gateway's port (docs/threat-model.md, attack 5). */
  port?: PortProtection;
}

/** Which layer a failed request failed in; the CLI prints it first. */
export type FailedLayer =
  | "guards missing"
  | "config integrity"
  | "launch failure"
  | "health timeout"
  | "busy"
  | "unavailable"
  | "stale request"
  | "bad request";

export type ControlResult =
  /** alreadyStarted (start only): the state in which a gateway ran or was due, so none was launched. */
  | { ok: true; gateway: ProcessIdentity | null; alreadyStarted?: GatewayState }
  /** refused: turned down before anything was stopped (the next launch cannot happen). */
  | { ok: false; layer: FailedLayer; message: string; refused?: true };

export interface RestartRequest {
  timeoutMs: number;
  /** This restart's drain budget (--wait, or the short grace for --force); the configured one when absent. */
  drainMs?: number;
  /** Who asked, for the log (the exec'd command, a signal); at most MAX_FROM_CHARS. */
  from?: string;
  /** Restart only if this is still the running gateway (compare-and-restart). */
  expect?: { pid: number; startTime: number };
}

export const MAX_FROM_CHARS = 200;

/** What the control channel asks of the supervise loop; the loop owns all state. */
export interface ControlHandler {
  restart(request: RestartRequest, progress: (message: string) => void): Promise<ControlResult>;
  stop(progress: (message: string) => void, from?: string, drainMs?: number): Promise<ControlResult>;
  /** A restart only if no gateway runs nor is due (stopped, quarantined); else alreadyStarted. */
  startIfStopped(request: Omit<RestartRequest, "expect">, progress: (message: string) => void): Promise<ControlResult>;
  status(): StatusReport;
}
