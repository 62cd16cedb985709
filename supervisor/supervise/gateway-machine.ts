// The supervision state machine (docs/gateway-states.md): one pure function from
// (state, event, now) to the next state and the effects the driver (supervisor.ts) carries
// out. Timers are part of the state (when the next probe, grace expiry, relaunch or
// probation is due), so "every state names its way out" is a property of the state alone
// and is tested as such (test/supervise/gateway-machine.test.ts): a gateway phase always has a
// probe scheduled or in flight, stopping always has a stop in flight (which the driver
// bounds), backing-off a relaunch, quarantined a probation (unless disabled). Nothing here
// waits for a request to finish: requests are answered from the same transitions.
import type { ControlResult, FailedLayer, GatewayState, LastExit } from "./control-contract.js";
import type { Level } from "../shared/log.js";
import type { HealthLayer } from "./health.js";
import type { ProcessIdentity } from "./identity.js";
import type { StartupPhase } from "./probe-contracts.js";
import { backoffDelayMs, EMPTY_HISTORY, recordFailure, type CrashHistory, type CrashPolicy, type FailureKind } from "./crash-policy.js";
import { BREAKER_THRESHOLD, BREAKER_WINDOW_MS } from "./openclaw-contract.js";

export interface MachineConfig {
  policy: CrashPolicy;
  /** A booting gateway that shows no progress for this long is replaced (a failed boot). */
  bootGraceMs: number;
  /** ... and one that makes progress, once this long has passed since its launch. */
  bootGraceMaxMs: number;
  probeIntervalMs: number;
  unhealthyThreshold: number;
  /** Cool-down of a quarantine before one probation relaunch; 0 disables probation. */
  probationMs: number;
  probationMaxMs: number;
  /** SIGTERM to SIGKILL for PID 1's shutdown and the watchdog's replacements. */
  stopGraceMs: number;
  /** SIGTERM to SIGKILL for a requested restart or stop: the gateway's drain budget. */
  restartDrainMs: number;
  /**
   * The gateway restarts by exiting 0 after writing a restart handoff (OpenClaw without
   * OPENCLAW_NO_RESPAWN): such an exit is first offered to the handoff before it counts.
   */
  restartHandoff: boolean;
}

/** How long consuming a restart handoff may take: OpenClaw's CLI starts slowly on a loaded host. */
export const HANDOFF_TIMEOUT_MS = 90_000;
/** In config-error, how often the config's identity (a few lstat calls) is compared. */
export const CONFIG_POLL_MS = 2000;

/** While starting, probes are frequent so that a restart is answered as soon as the gateway is up... */
export const STARTING_PROBE_MS = 25;
/** ...for its first seconds; a slow boot is then probed less often. */
export const SLOW_STARTING_PROBE_MS = 250;
const FAST_STARTING_MS = 2000;
/** Clocks (ours in ms, the gateway's uptime) may disagree this much; a restart moves a run's start by seconds. */
const RUN_BEGAN_SLACK_MS = 1000;

/** What happens once a stop is done. */
export type AfterStop = "relaunch" | "replace" | "failed boot" | "stay" | "shutdown";

export interface Gateway {
  /** Launch number (1 for the first gateway of this supervisor). */
  launch: number;
  /** Null until the driver reports the process as started. */
  identity: ProcessIdentity | null;
  launchedAt: number;
  /** Launched on probation out of a quarantine. */
  probation: boolean;
  healthySince: number | null;
  failedProbes: number;
  listenerSeen: boolean;
  /** Since when the last CPU progress it showed was measured (any phase); null if never. */
  progressSince: number | null;
  /** When the first failing verdict on a healthy gateway came (null while probes pass): CPU sampled after it may prove a restart. */
  failingSince: number | null;
  /** When the probe under way began: its CPU sample is taken then. */
  probeStartedAt: number | null;
  /** Set while it restarts in process (same pid, listener gone, startup probe not started). */
  restartingSince: number | null;
  /** The uptime it gave at the last healthy probe: one that goes back is an in-process restart. */
  uptimeMs: number | null;
  /** The latest instant the run that probe saw can have begun (the probe's answer less its uptime). */
  runBeganBy: number | null;
  /** In-process restarts seen of this gateway (never counted as crashes). */
  inProcessRestarts: number;
  graceExtended: boolean;
  /** Why health is unknown now: the last probe could not run (a resource of PID 1's own). */
  unknown: string | null;
  /** The last failed proof while starting, for the log when the grace expires. */
  lastFailure: string | null;
  /** Set once the reaper reported its exit: whether it ended cleanly (exit 0 or by SIGTERM). */
  exit: { clean: boolean } | null;
}

export interface PendingRequest {
  id: number;
  kind: "restart" | "stop";
  /** The launch a restart waits for ("next": not launched yet). */
  launch: number | "next";
  /**
   * When a restart gives up waiting for health, counted from its launch (the old gateway's
   * drain has a budget of its own); stops have no deadline (the stop is bounded).
   */
  deadline: number | null;
  timeoutMs: number;
}

/** A stop under way: when it began and how long the gateway may take before SIGKILL. */
export interface StopUnderWay {
  since: number;
  graceMs: number;
}

export interface Timers {
  probe?: number;
  grace?: number;
  relaunch?: number;
  probation?: number;
  configPoll?: number;
}

export interface MachineState {
  phase: GatewayState;
  gateway: Gateway | null;
  /** Stopping: what comes once the stop is done, and why the stop was made. */
  after: AfterStop | null;
  stopWhy: string | null;
  stop: StopUnderWay | null;
  probing: boolean;
  timers: Timers;
  requests: PendingRequest[];
  launches: number;
  crashes: number;
  failedBoots: number;
  history: CrashHistory;
  /** Launch failures for want of a resource in a row (backoff only, never quarantine). */
  resourceRetries: number;
  probationDelayMs: number;
  /** Launch times of boots that ended uncleanly, within OpenClaw's breaker window. */
  uncleanBoots: number[];
  /** Unclean boots OpenClaw counted when the current gateway booted. */
  uncleanAtLaunch: number;
  lastExit: LastExit | null;
  detail: string | null;
  shuttingDown: boolean;
  /** config-error: the config's identity when it was refused; a launch waits until it differs. */
  configError: { identity: string } | null;
}

export type MachineEvent =
  | { type: "boot" }
  | { type: "launched"; identity: ProcessIdentity }
  /** configIdentity: set when the launch failed because of the config (config-error). */
  | { type: "launch-failed"; layer: FailedLayer; message: string; resource?: string; configIdentity?: string }
  | { type: "probe-due" }
  /** uptimeMs: how long the gateway says this run of it has been up (it restarts in process at 0). */
  | { type: "probe-result"; launch: number; verdict: "healthy" | "failed" | "unknown"; layer?: HealthLayer; startup?: StartupPhase; uptimeMs?: number; detail: string }
  /** since: when the CPU time it measures began to be counted (the previous sample). */
  | { type: "progress"; launch: number; what: string; since?: number }
  | { type: "grace-expired" }
  /** code: the exit code when it exited (not killed by a signal); configIdentity: the config's identity then. */
  /** portHeld: another uid listened on the gateway's port when it exited (EADDRINUSE, a squatter). */
  | { type: "exit"; launch: number; description: string; clean: boolean; code?: number; configIdentity?: string; portHeld?: string }
  | { type: "config-poll-due" }
  | { type: "config-polled"; identity: string }
  | { type: "handoff-result"; launch: number; accepted: boolean; detail: string }
  | { type: "stop-done"; launch: number; forced: boolean }
  | { type: "relaunch-due" }
  | { type: "probation-due" }
  /** drainMs: this request's drain budget (--wait, --force); the configured one when absent. */
  | { type: "request"; id: number; kind: "restart" | "stop"; from: string; timeoutMs: number; drainMs?: number }
  | { type: "request-deadline"; id: number }
  | { type: "shutdown" };

export type Effect =
  | { kind: "launch"; launch: number }
  | { kind: "stop"; launch: number; identity: ProcessIdentity | null; graceMs: number }
  /** A stop under way gets SIGKILL sooner: at most graceMs from now (PID 1 is shutting down). */
  | { kind: "hasten-stop"; launch: number; graceMs: number }
  /** SIGKILL to what a gateway that ended by itself left behind (its group, its tree, strays of its uid). */
  | { kind: "clean-up"; identity: ProcessIdentity }
  /** Read the config's identity (config-error waits for it to change). */
  | { kind: "poll-config" }
  /** Ask the gateway's restart handoff whether the exit of `identity` was a restart it asked for. */
  | { kind: "consume-handoff"; launch: number; identity: ProcessIdentity }
  /** `failing`: its probes fail; the driver then measures its CPU at every probe. */
  | { kind: "probe"; launch: number; identity: ProcessIdentity; starting: boolean; failing: boolean }
  | { kind: "log"; message: string; security?: boolean; event: string; level: Level; fields?: LogFields }
  | { kind: "progress"; id: number; message: string }
  | { kind: "answer"; id: number; result: ControlResult };

export function initialState(config: MachineConfig): MachineState {
  return {
    phase: "stopped",
    gateway: null,
    after: null,
    stopWhy: null,
    stop: null,
    probing: false,
    timers: {},
    requests: [],
    launches: 0,
    crashes: 0,
    failedBoots: 0,
    history: EMPTY_HISTORY,
    resourceRetries: 0,
    probationDelayMs: config.probationMs,
    uncleanBoots: [],
    uncleanAtLaunch: 0,
    lastExit: null,
    detail: "not launched yet",
    shuttingDown: false,
    configError: null,
  };
}

const RUNNING: ReadonlySet<GatewayState> = new Set(["starting", "healthy", "unhealthy", "restarting"]);
/** EX_CONFIG of sysexits.h: OpenClaw's "config error, do not loop". */
export const EXIT_CONFIG_ERROR = 78;

/** True in the phases where a gateway runs and is probed. */
export function isRunningPhase(phase: GatewayState): boolean {
  return RUNNING.has(phase);
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;
const iso = (ms: number): string => new Date(ms).toISOString();
/** The facts a log line carries in JSON form (docs/log-events.md). */
export type LogFields = Record<string, string | number | boolean | null>;

const pidOf = (gateway: Gateway | null): string => (gateway?.identity ? `pid ${gateway.identity.pid}` : "(not started)");

/**
 * How a state is left without any request: the timer or the operation in flight that moves
 * it on. "request" means only a request (or shutdown) does: stopped, or quarantined with
 * probation disabled. Undefined would be a state that can wedge; the table test proves
 * none is reachable.
 */
export function wayOut(state: MachineState, config: MachineConfig): string | undefined {
  switch (state.phase) {
    case "starting":
    case "restarting":
      if (state.timers.grace === undefined) return undefined;
      if (state.gateway?.exit != null) return "handoff answer or its timeout";
      return state.timers.probe !== undefined || state.probing ? "probe and grace timers" : undefined;
    case "healthy":
    case "unhealthy":
      return state.timers.probe !== undefined || state.probing ? "probe timer" : undefined;
    case "stopping":
      return state.gateway !== null && state.after !== null ? "stop in flight" : undefined;
    case "backing-off":
      return state.timers.relaunch !== undefined ? "relaunch timer" : undefined;
    case "quarantined":
      if (config.probationMs === 0 || state.shuttingDown) return "request";
      return state.timers.probation !== undefined ? "probation timer" : undefined;
    case "config-error":
      if (state.shuttingDown) return "request";
      return state.timers.configPoll !== undefined || state.probing ? "config poll" : undefined;
    case "stopped":
      return "request";
  }
}

/** OpenClaw's breaker as reckoned from our own records of its boots (openclaw-contract.ts). */
export function breakerOf(state: MachineState, now: number): { tripped: boolean; uncleanBoots: number; windowSeconds: number } {
  const recent = state.uncleanBoots.filter((at) => now - at < BREAKER_WINDOW_MS).length;
  const running = state.gateway !== null && state.phase !== "stopping";
  return {
    // OpenClaw decides at boot and lifts it itself once its window has drained.
    tripped: running && state.uncleanAtLaunch >= BREAKER_THRESHOLD && recent > 0,
    uncleanBoots: recent,
    windowSeconds: BREAKER_WINDOW_MS / 1000,
  };
}

/** The pure transition: never throws for any state and event; effects run in order. */
export function transition(state: MachineState, event: MachineEvent, now: number, config: MachineConfig): { state: MachineState; effects: Effect[] } {
  const next: MachineState = structuredClone(state);
  const effects: Effect[] = [];
  new Transition(next, effects, now, config).handle(event);
  if (next.phase !== state.phase) {
    const message = `gateway state ${state.phase} -> ${next.phase}${next.detail ? `: ${next.detail}` : ""}`;
    // Entering quarantine or config-error needs a person: an alert's level.
    const level: Level = next.phase === "quarantined" || next.phase === "config-error" ? "error" : "info";
    effects.push({ kind: "log", message, event: "gateway.state", level, fields: { from: state.phase, to: next.phase, state: next.phase } });
  }
  return { state: next, effects };
}

/** One transition in the making: the state it changes in place and the effects it collects. */
class Transition {
  constructor(
    private readonly state: MachineState,
    private readonly effects: Effect[],
    private readonly now: number,
    private readonly config: MachineConfig,
  ) {}

  handle(e: MachineEvent): void {
    switch (e.type) {
      case "boot":
        if (this.state.phase === "stopped" && this.state.launches === 0 && !this.state.shuttingDown) this.launch(false);
        return;
      case "launched":
        return this.launched(e.identity);
      case "launch-failed":
        return this.launchFailed(e);
      case "probe-due":
        return this.probeDue();
      case "probe-result":
        return this.probeResult(e);
      case "progress":
        return this.progress(e.launch, e.what, e.since);
      case "grace-expired":
        return this.graceExpired();
      case "exit":
        return this.exited(e);
      case "handoff-result":
        return this.handoffResult(e);
      case "stop-done":
        return this.stopDone(e.launch, e.forced);
      case "relaunch-due":
        if (this.state.phase === "backing-off" && this.state.timers.relaunch !== undefined) this.launch(false);
        return;
      case "config-poll-due":
        if (this.state.phase !== "config-error" || this.state.timers.configPoll === undefined) return;
        this.state.timers.configPoll = undefined;
        this.state.probing = true;
        this.effects.push({ kind: "poll-config" });
        return;
      case "config-polled":
        return this.configPolled(e.identity);
      case "probation-due":
        if (this.state.phase !== "quarantined" || this.state.timers.probation === undefined) return;
        this.log(`probation: relaunching the quarantined gateway after a cool-down of ${seconds(this.state.probationDelayMs)}`, "gateway.probation");
        return this.launch(true);
      case "request":
        return e.kind === "restart" ? this.restartRequest(e) : this.stopRequest(e);
      case "request-deadline":
        return this.requestDeadline(e.id);
      case "shutdown":
        return this.shutdown();
    }
  }

  // --- the phases, entered as a whole (phase, gateway, timers and detail together) ------

  private launch(probation: boolean): void {
    const state = this.state;
    state.launches++;
    const launch = state.launches;
    state.gateway = {
      launch,
      identity: null,
      launchedAt: this.now,
      probation,
      healthySince: null,
      failedProbes: 0,
      listenerSeen: false,
      progressSince: null,
      failingSince: null,
      probeStartedAt: null,
      restartingSince: null,
      uptimeMs: null,
      runBeganBy: null,
      inProcessRestarts: 0,
      graceExtended: false,
      unknown: null,
      lastFailure: null,
      exit: null,
    };
    state.phase = "starting";
    state.after = null;
    state.stopWhy = null;
    state.stop = null;
    state.configError = null;
    state.probing = false;
    state.timers = { probe: this.now + STARTING_PROBE_MS, grace: this.now + this.config.bootGraceMs };
    state.uncleanBoots = state.uncleanBoots.filter((at) => this.now - at < BREAKER_WINDOW_MS);
    state.uncleanAtLaunch = state.uncleanBoots.length;
    state.detail = `${probation ? "probation relaunch; " : ""}boot grace ${seconds(this.config.bootGraceMs)} without progress, at most ${seconds(this.config.bootGraceMaxMs)}`;
    for (const r of state.requests) {
      if (r.kind !== "restart" || r.launch !== "next") continue;
      r.launch = launch;
      r.deadline = this.now + r.timeoutMs;
    }
    this.effects.push({ kind: "launch", launch });
  }

  /** A stop with `graceMs` from SIGTERM to SIGKILL: the drain budget, or the short grace. */
  private beginStop(after: AfterStop, why: string, graceMs = this.config.stopGraceMs): void {
    const state = this.state;
    state.phase = "stopping";
    state.after = after;
    state.stopWhy = why;
    state.stop = { since: this.now, graceMs };
    state.probing = false;
    state.timers = {};
    state.detail = why;
    this.effects.push({ kind: "stop", launch: state.gateway!.launch, identity: state.gateway!.identity, graceMs });
  }

  private backOff(delayMs: number, why: string): void {
    const state = this.state;
    state.phase = "backing-off";
    state.gateway = null;
    state.timers = { relaunch: this.now + delayMs };
    state.detail = `relaunch in ${seconds(delayMs)} (at ${iso(this.now + delayMs)}) after: ${why}`;
  }

  private quarantine(reason: string): void {
    const state = this.state;
    state.phase = "quarantined";
    state.gateway = null;
    const probation = this.config.probationMs > 0 && !state.shuttingDown;
    state.timers = probation ? { probation: this.now + state.probationDelayMs } : {};
    state.detail = `${reason}; ${probation ? `probation relaunch at ${iso(this.now + state.probationDelayMs)}` : "no relaunch until 'supervisor restart'"}`;
  }

  private stopped(detail: string): void {
    const state = this.state;
    state.phase = "stopped";
    state.gateway = null;
    state.after = null;
    state.stopWhy = null;
    state.stop = null;
    state.probing = false;
    state.timers = {};
    state.detail = detail;
  }

  private liftQuarantine(): void {
    this.state.history = EMPTY_HISTORY;
    this.state.resourceRetries = 0;
    this.state.probationDelayMs = this.config.probationMs;
  }

  /** A crash or a failed boot: backoff, quarantine, or back to quarantine after a failed probation. */
  private failure(kind: FailureKind, what: string, wasProbation: boolean): void {
    const state = this.state;
    if (state.shuttingDown) return this.stopped("the supervisor is shutting down");
    if (wasProbation) {
      state.probationDelayMs = Math.min(state.probationDelayMs * 2, this.config.probationMaxMs);
      this.log(`probation failed (${what}): quarantined again`, "gateway.quarantine", "error");
      return this.quarantine(`probation failed: ${what}`);
    }
    const { history, decision } = recordFailure(state.history, kind, this.now, this.config.policy);
    state.history = history;
    if (decision.kind === "quarantine") {
      this.log(`gateway quarantined (${decision.reason}); last: ${what}`, "gateway.quarantine", "error");
      return this.quarantine(`${decision.reason}; last: ${what}`);
    }
    this.backOff(decision.delayMs, what);
  }

  // --- events ------------------------------------------------------------------------

  private launched(identity: ProcessIdentity): void {
    const gateway = this.state.gateway;
    if (gateway === null || gateway.identity !== null || this.state.phase !== "starting") return;
    gateway.identity = identity;
    for (const r of this.state.requests) {
      if (r.kind === "restart" && r.launch === gateway.launch) this.progressTo(r.id, `launched gateway pid ${identity.pid}; waiting until it is healthy`);
    }
  }

  private launchFailed(e: Extract<MachineEvent, { type: "launch-failed" }>): void {
    const { layer, message, resource } = e;
    const state = this.state;
    const gateway = state.gateway;
    if (gateway === null || gateway.identity !== null) return;
    const line = layer === "guards missing" ? `refusing unguarded gateway relaunch: ${message}` : `gateway launch failed (${layer}): ${message}`;
    this.log(line, "gateway.launch-failed", "warn", { layer }, layer === "guards missing" || layer === "config integrity");
    this.answerRestarts(gateway.launch, { ok: false, layer, message });
    state.gateway = null;
    if (state.shuttingDown) return this.stopped("the supervisor is shutting down");
    if (e.configIdentity !== undefined) return this.enterConfigError(line, e.configIdentity);
    if (resource !== undefined) {
      // PID 1 lacks something (disk space, processes): not the gateway's fault.
      state.resourceRetries++;
      const delay = backoffDelayMs(state.resourceRetries, this.config.policy);
      this.log(`waiting for ${resource}: retrying the launch in ${seconds(delay)} (not counted as a crash)`, "gateway.waiting", "warn", { resource, delayMs: delay });
      return this.backOff(delay, `waiting for ${resource}: ${line}`);
    }
    state.crashes++;
    this.failure("crash", line, gateway.probation);
  }

  private probeDue(): void {
    const state = this.state;
    const gateway = state.gateway;
    if (!isRunningPhase(state.phase) || state.timers.probe === undefined || gateway?.identity == null || gateway.exit !== null) return;
    state.timers.probe = undefined;
    state.probing = true;
    gateway.probeStartedAt = this.now;
    this.effects.push({ kind: "probe", launch: gateway.launch, identity: gateway.identity, starting: state.phase === "starting", failing: gateway.failingSince !== null });
  }

  private nextProbe(): void {
    const state = this.state;
    const gateway = state.gateway!;
    // Starting and restarting in process are probed often, so that "started" is seen at once.
    const since = state.phase === "starting" ? gateway.launchedAt : state.phase === "restarting" ? gateway.restartingSince : null;
    const delay =
      since === null ? this.config.probeIntervalMs : this.now - since < FAST_STARTING_MS ? STARTING_PROBE_MS : SLOW_STARTING_PROBE_MS;
    state.timers.probe = this.now + delay;
  }

  private probeResult(e: Extract<MachineEvent, { type: "probe-result" }>): void {
    const state = this.state;
    const gateway = state.gateway;
    // A verdict about an earlier gateway, or one that is being stopped, means nothing now.
    if (gateway === null || gateway.launch !== e.launch || !isRunningPhase(state.phase)) return;
    state.probing = false;
    if (e.verdict === "unknown") {
      if (gateway.unknown === null) this.log(`probe could not run (${e.detail}): not counted against gateway ${pidOf(gateway)}`, "probe.unknown");
      gateway.unknown = e.detail;
      state.detail = `health unknown: ${e.detail}`;
      return this.nextProbe();
    }
    gateway.unknown = null;
    if (e.verdict === "healthy") {
      this.noticeUptime(gateway, e.uptimeMs);
      return this.healthy(gateway);
    }
    if (state.phase === "starting" || state.phase === "restarting") return this.notYetStarted(gateway, e);
    // CPU proves a restart only from the first failing verdict on: a sample reaching back before
    // it covers the listener's closing, which costs a deaf gateway CPU too (tens of ms under qemu).
    gateway.failingSince ??= this.now;
    if (this.restartsInProcess(gateway, e)) return this.beginInProcessRestart(gateway, e.detail);
    gateway.failedProbes++;
    state.phase = "unhealthy";
    state.detail = `${gateway.failedProbes} failed probe(s): ${e.detail}`;
    if (gateway.failedProbes >= this.config.unhealthyThreshold) {
      const why = `${gateway.failedProbes} failed probes in a row (${e.detail})`;
      this.log(`watchdog: gateway ${pidOf(gateway)} ${why}: replacing it`, "gateway.watchdog", "warn");
      return this.beginStop("replace", `watchdog: ${why}`);
    }
    this.nextProbe();
  }

  /** Starting, or restarting in process: a failed proof is only "not yet"; the grace decides. */
  private notYetStarted(gateway: Gateway, e: Extract<MachineEvent, { type: "probe-result" }>): void {
    const state = this.state;
    gateway.lastFailure = e.detail;
    state.detail = `${state.phase === "restarting" ? "restarting in process" : "not healthy yet"}: ${e.detail}`;
    // A listener that appears is progress, even before the HTTP answer is right.
    const live = e.layer === "http" || e.layer === "liveness" || e.layer === "startup";
    if (live && !gateway.listenerSeen) {
      gateway.listenerSeen = true;
      this.progress(gateway.launch, "a listener appeared");
    }
    this.nextProbe();
  }

  /**
   * OpenClaw restarts itself in process (OPENCLAW_NO_RESPAWN=1: SIGUSR2, a config change that
   * needs a restart): its startup probe says draining or starting, or its listener goes away
   * while it computes. Such a gateway is restarting, not failing (docs/gateway-states.md).
   */
  private restartsInProcess(gateway: Gateway, e: Extract<MachineEvent, { type: "probe-result" }>): boolean {
    if (gateway.healthySince === null) return false;
    if (e.startup === "draining" || e.startup === "starting") return true;
    // CPU time measured entirely after its listener went away: it works, it is not deaf.
    const gone = e.layer === "listener" || e.layer === "liveness";
    return gone && gateway.failingSince !== null && gateway.progressSince !== null && gateway.progressSince >= gateway.failingSince;
  }

  /**
   * A restart that fits between two probes shows only in the uptime: it went back, or the run
   * it counts began after the run the last probe saw. A gateway that restarts soon after a
   * probe can report more uptime at the next one than at that probe, so the comparison is of
   * when each run began: no earlier than this probe's start less its uptime, no later than the
   * last answer less its uptime. RUN_BEGAN_SLACK_MS absorbs the clocks' rounding.
   */
  private noticeUptime(gateway: Gateway, uptimeMs: number | undefined): void {
    const previous = gateway.uptimeMs;
    const previousBeganBy = gateway.runBeganBy;
    gateway.uptimeMs = uptimeMs ?? null;
    gateway.runBeganBy = uptimeMs === undefined ? null : this.now - uptimeMs;
    if (uptimeMs === undefined || previous === null || gateway.restartingSince !== null) return;
    const beganAfter = (gateway.probeStartedAt ?? this.now) - uptimeMs;
    let why: string;
    if (uptimeMs < previous) why = `its uptime went back from ${seconds(previous)} to ${seconds(uptimeMs)}`;
    else if (previousBeganBy !== null && beganAfter > previousBeganBy + RUN_BEGAN_SLACK_MS) {
      why = `its uptime of ${seconds(uptimeMs)} began ${seconds(beganAfter - previousBeganBy)} after the run the last probe saw`;
    } else return;
    gateway.inProcessRestarts++;
    this.log(`gateway ${pidOf(gateway)} restarted in process since the last probe (${why}): not counted`, "gateway.in-process-restart");
  }

  private beginInProcessRestart(gateway: Gateway, detail: string): void {
    const state = this.state;
    gateway.inProcessRestarts++;
    this.log(`gateway ${pidOf(gateway)} is restarting in process (${detail}): not counted, waiting until it has started again`, "gateway.in-process-restart");
    state.phase = "restarting";
    gateway.restartingSince = this.now;
    gateway.failedProbes = 0;
    gateway.listenerSeen = false;
    gateway.graceExtended = false;
    gateway.lastFailure = detail;
    state.timers.grace = this.now + this.config.bootGraceMs;
    state.detail = `restarting in process: ${detail}`;
    this.nextProbe();
  }

  private healthy(gateway: Gateway): void {
    const state = this.state;
    gateway.failedProbes = 0;
    gateway.failingSince = null;
    gateway.healthySince ??= this.now;
    if (state.phase !== "healthy") {
      if (state.phase === "starting") this.log(`gateway ${pidOf(gateway)} is healthy (${this.now - gateway.launchedAt} ms after launch)`, "gateway.healthy", "info", { afterMs: this.now - gateway.launchedAt });
      if (state.phase === "restarting") {
        this.log(`gateway ${pidOf(gateway)} restarted in process and is healthy again (${this.now - gateway.restartingSince!} ms)`, "gateway.healthy", "info", { afterMs: this.now - gateway.restartingSince! });
        gateway.restartingSince = null;
      }
      state.phase = "healthy";
      state.timers.grace = undefined;
    }
    state.detail = null;
    this.answerRestarts(gateway.launch, { ok: true, gateway: gateway.identity });
    if (this.now - gateway.healthySince >= this.config.policy.stableAfterMs) {
      state.history = { ...state.history, consecutive: 0 };
      state.resourceRetries = 0;
      if (gateway.probation) {
        gateway.probation = false;
        this.liftQuarantine();
        this.log(`probation passed: gateway ${pidOf(gateway)} healthy for ${seconds(this.now - gateway.healthySince)}; quarantine lifted`, "gateway.probation");
      }
    }
    this.nextProbe();
  }

  private progress(launch: number, what: string, since = this.now): void {
    const state = this.state;
    const gateway = state.gateway;
    if (gateway === null || gateway.launch !== launch) return;
    gateway.progressSince = since;
    if ((state.phase !== "starting" && state.phase !== "restarting") || state.timers.grace === undefined) return;
    const cap = (gateway.restartingSince ?? gateway.launchedAt) + this.config.bootGraceMaxMs;
    const extended = Math.min(cap, this.now + this.config.bootGraceMs);
    if (extended <= state.timers.grace) return;
    state.timers.grace = extended;
    if (!gateway.graceExtended && extended > (gateway.restartingSince ?? gateway.launchedAt) + this.config.bootGraceMs) {
      gateway.graceExtended = true;
      this.log(`gateway ${pidOf(gateway)} is slow to start but making progress (${what}): boot grace extended while it does, at most ${seconds(this.config.bootGraceMaxMs)}`, "gateway.progress");
    }
  }

  private graceExpired(): void {
    const state = this.state;
    const gateway = state.gateway;
    if ((state.phase !== "starting" && state.phase !== "restarting") || gateway === null || state.timers.grace === undefined) return;
    if (gateway.exit !== null) {
      this.log(`restart handoff of gateway ${pidOf(gateway)} gave no answer within ${seconds(HANDOFF_TIMEOUT_MS)}: its exit counts as a crash`, "gateway.handoff", "warn");
      return this.crashed(gateway, "exited with 0", true);
    }
    if (gateway.unknown !== null) {
      // Probes that cannot run prove nothing against the gateway: look again later.
      state.timers.grace = this.now + this.config.probeIntervalMs;
      return;
    }
    const capped = this.now - (gateway.restartingSince ?? gateway.launchedAt) >= this.config.bootGraceMaxMs;
    const restart = gateway.restartingSince === null ? "" : " after its in-process restart";
    const why = capped
      ? `not healthy${restart} within the boot grace cap of ${seconds(this.config.bootGraceMaxMs)}`
      : `not healthy${restart} and no progress for ${seconds(this.config.bootGraceMs)}`;
    this.log(`watchdog: gateway ${pidOf(gateway)} ${why}${gateway.lastFailure ? ` (${gateway.lastFailure})` : ""}: replacing it (a failed boot)`, "gateway.watchdog", "warn");
    this.answerRestarts(gateway.launch, { ok: false, layer: "health timeout", message: `gateway ${pidOf(gateway)} ${why}; it is being replaced` });
    this.beginStop("failed boot", `watchdog: ${why}`);
  }

  private exited(e: Extract<MachineEvent, { type: "exit" }>): void {
    const { launch, description, clean } = e;
    const state = this.state;
    const gateway = state.gateway;
    if (gateway === null || gateway.launch !== launch || gateway.exit !== null) return;
    const expected = state.phase === "stopping";
    state.lastExit = { description, at: iso(this.now), expected };
    gateway.exit = { clean };
    if (expected) {
      this.log(`gateway ${pidOf(gateway)} ${description} (expected: ${state.stopWhy})`, "gateway.exit", "info", { exit: description, expected: true });
      return;
    }
    if (this.config.restartHandoff && e.code === 0 && gateway.identity !== null && !state.shuttingDown) return this.consumeHandoff(gateway);
    if (e.portHeld !== undefined && !clean && !state.shuttingDown && gateway.healthySince === null) return this.portTaken(gateway, description, e.portHeld);
    if (e.code === EXIT_CONFIG_ERROR && e.configIdentity !== undefined && !state.shuttingDown) {
      // Its own word that its config is wrong (OpenClaw's exit 78): relaunching cannot help.
      const what = `gateway ${pidOf(gateway)} ${description}: a configuration error`;
      this.log(what, "gateway.crash", "warn", { exit: description, configError: true });
      if (gateway.identity !== null) this.effects.push({ kind: "clean-up", identity: gateway.identity });
      this.answerRestarts(gateway.launch, { ok: false, layer: "config integrity", message: what });
      state.gateway = null;
      return this.enterConfigError(what, e.configIdentity);
    }
    this.crashed(gateway, description, clean);
  }

  /** A gateway that never got its port, taken by someone else: a shortage to wait out, not counted. */
  private portTaken(gateway: Gateway, description: string, resource: string): void {
    const state = this.state;
    if (gateway.identity !== null) this.effects.push({ kind: "clean-up", identity: gateway.identity });
    this.answerRestarts(gateway.launch, { ok: false, layer: "launch failure", message: `gateway ${pidOf(gateway)} ${description}: ${resource}` });
    state.gateway = null;
    state.resourceRetries++;
    const delay = backoffDelayMs(state.resourceRetries, this.config.policy);
    this.log(`gateway ${pidOf(gateway)} ${description} while another uid holds ${resource}: waiting for it, relaunch in ${seconds(delay)} (not counted as a crash)`, "gateway.waiting", "warn", { exit: description, resource, delayMs: delay });
    this.backOff(delay, `waiting for ${resource}`);
  }

  /**
   * A launch the config prevents: no gateway, not counted, no backoff. The config's identity
   * is polled, and the next launch comes once it changes (or on request).
   */
  private enterConfigError(why: string, identity: string): void {
    const state = this.state;
    state.phase = "config-error";
    state.gateway = null;
    state.probing = false;
    state.configError = { identity };
    state.timers = { configPoll: this.now + CONFIG_POLL_MS };
    state.detail = `${why}; launches again once the config changes, or on 'supervisor restart'`;
  }

  private configPolled(identity: string): void {
    const state = this.state;
    if (state.phase !== "config-error" || state.configError === null) return;
    state.probing = false;
    if (identity === state.configError.identity) {
      state.timers.configPoll = this.now + CONFIG_POLL_MS;
      return;
    }
    this.log("config changed: launching the gateway again", "config.changed");
    state.configError = null;
    this.launch(false);
  }

  /** An exit 0 that may be a fresh-process restart the gateway asked for: its handoff decides. */
  private consumeHandoff(gateway: Gateway): void {
    const state = this.state;
    this.log(`gateway ${pidOf(gateway)} exited 0: asking its restart handoff whether it asked for a fresh-process restart`, "gateway.handoff");
    state.phase = "restarting";
    state.probing = false;
    state.timers = { grace: this.now + HANDOFF_TIMEOUT_MS };
    state.detail = `consuming the restart handoff of gateway ${pidOf(gateway)}`;
    this.effects.push({ kind: "consume-handoff", launch: gateway.launch, identity: gateway.identity! });
  }

  private handoffResult(e: Extract<MachineEvent, { type: "handoff-result" }>): void {
    const state = this.state;
    const gateway = state.gateway;
    if (state.phase !== "restarting" || gateway === null || gateway.launch !== e.launch || gateway.exit === null) return;
    if (!e.accepted) {
      this.log(`restart handoff of gateway ${pidOf(gateway)} refused (${e.detail}): its exit counts as a crash`, "gateway.handoff", "warn");
      return this.crashed(gateway, "exited with 0", true);
    }
    state.lastExit = { description: "exited with 0", at: state.lastExit?.at ?? iso(this.now), expected: true };
    this.log(`gateway ${pidOf(gateway)} asked for a fresh-process restart (handoff accepted: ${e.detail}): relaunching at once, not counted`, "gateway.handoff");
    if (gateway.identity !== null) this.effects.push({ kind: "clean-up", identity: gateway.identity });
    for (const r of state.requests) if (r.kind === "restart" && r.launch === gateway.launch) r.launch = "next";
    this.launch(false);
  }

  /** An unexpected exit: counted, its leftovers killed, then backoff or quarantine. */
  private crashed(gateway: Gateway, description: string, clean: boolean): void {
    const state = this.state;
    const launch = gateway.launch;
    state.crashes++;
    if (!clean) state.uncleanBoots.push(gateway.launchedAt);
    const what = `gateway ${pidOf(gateway)} ${description} unexpectedly`;
    this.log(what, "gateway.crash", "warn", { exit: description, crashes: state.crashes });
    // Its children would hold its port and outlive it: the next gateway starts clean.
    if (gateway.identity !== null) this.effects.push({ kind: "clean-up", identity: gateway.identity });
    this.answerRestarts(launch, { ok: false, layer: "launch failure", message: `gateway ${pidOf(gateway)} ${description} before it was healthy` });
    this.failure("crash", what, gateway.probation);
  }

  private stopDone(launch: number, forced: boolean): void {
    const state = this.state;
    const gateway = state.gateway;
    if (state.phase !== "stopping" || gateway === null || gateway.launch !== launch) return;
    if (forced || gateway.exit?.clean === false) state.uncleanBoots.push(gateway.launchedAt);
    const why = state.stopWhy ?? "stopped";
    switch (state.after) {
      case "relaunch":
        return this.launch(false);
      case "replace":
        if (gateway.probation) return this.failure("crash", why, true);
        return this.launch(false);
      case "failed boot":
        state.failedBoots++;
        return this.failure("failed boot", `gateway ${pidOf(gateway)} ${why.replace(/^watchdog: /, "")}`, gateway.probation);
      case "stay":
        for (const r of state.requests.filter((r) => r.kind === "stop")) this.answer(r.id, { ok: true, gateway: gateway.identity });
        return this.stopped("stopped on request; 'supervisor restart' starts it again");
      case "shutdown":
      case null:
        return this.stopped("the supervisor is shutting down");
    }
  }

  private restartUnderWay(): boolean {
    return this.state.requests.some((r) => r.kind === "restart") || (this.state.phase === "stopping" && this.state.after === "relaunch");
  }

  private restartRequest(e: Extract<MachineEvent, { type: "request" }>): void {
    const state = this.state;
    const { id, from, timeoutMs } = e;
    this.log(`restart requested by ${from}`, "restart.request", "info", { requestedBy: from });
    if (state.shuttingDown) return this.answer(id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (state.requests.some((r) => r.kind === "stop")) return this.answer(id, { ok: false, layer: "busy", message: "a stop is under way" });
    // The deadline starts with the launch it waits for: the old gateway's drain has its own budget.
    const request: PendingRequest = { id, kind: "restart", launch: "next", deadline: null, timeoutMs };
    if (this.restartUnderWay()) {
      // Concurrent requests share the one restart under way: never two gateways.
      const joined = state.requests.find((r) => r.kind === "restart");
      request.launch = joined?.launch ?? "next";
      if (request.launch !== "next") request.deadline = this.now + timeoutMs;
      state.requests.push(request);
      this.progressTo(id, "joining the restart already under way");
      return;
    }
    state.requests.push(request);
    // An explicit restart is what lifts a quarantine and forgets the crash window.
    this.liftQuarantine();
    if (isRunningPhase(state.phase)) {
      const drainMs = e.drainMs ?? this.config.restartDrainMs;
      this.progressTo(id, `stopping gateway ${pidOf(state.gateway)} (drain budget ${seconds(drainMs)})`);
      return this.beginStop("relaunch", `restart requested by ${from}`, drainMs);
    }
    if (state.phase === "stopping") {
      // A watchdog replacement is under way: the request takes it over (no backoff).
      this.progressTo(id, `joining the replacement of gateway ${pidOf(state.gateway)} under way`);
      state.after = "relaunch";
      return;
    }
    this.launch(false);
  }

  private stopRequest(e: Extract<MachineEvent, { type: "request" }>): void {
    const state = this.state;
    const { id, from } = e;
    this.log(`stop requested by ${from}`, "stop.request", "info", { requestedBy: from });
    if (state.shuttingDown) return this.answer(id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (this.restartUnderWay()) return this.answer(id, { ok: false, layer: "busy", message: "a restart is under way" });
    if (state.requests.some((r) => r.kind === "stop")) return this.answer(id, { ok: false, layer: "busy", message: "a stop is under way" });
    if (isRunningPhase(state.phase) || state.phase === "stopping") {
      state.requests.push({ id, kind: "stop", launch: "next", deadline: null, timeoutMs: 0 });
      if (state.phase === "stopping") {
        state.after = "stay";
        return;
      }
      return this.beginStop("stay", `stop requested by ${from}`, e.drainMs ?? this.config.restartDrainMs);
    }
    this.stopped("stopped on request; 'supervisor restart' starts it again");
    this.answer(id, { ok: true, gateway: null });
  }

  private requestDeadline(id: number): void {
    const r = this.state.requests.find((p) => p.id === id);
    if (r === undefined || r.kind !== "restart") return;
    const gateway = this.state.gateway;
    const which = gateway !== null && r.launch === gateway.launch ? `gateway ${pidOf(gateway)}` : "the gateway";
    this.answer(id, { ok: false, layer: "health timeout", message: `${which} not healthy within ${seconds(r.timeoutMs)} (state ${this.state.phase})` });
  }

  private shutdown(): void {
    const state = this.state;
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    for (const r of [...state.requests]) this.answer(r.id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (isRunningPhase(state.phase)) return this.beginStop("shutdown", "the supervisor is shutting down");
    if (state.phase === "stopping") {
      state.after = "shutdown";
      // A restart's long drain must not outlast the runtime's own stop timeout: the short grace from now.
      const left = state.stop === null ? 0 : state.stop.since + state.stop.graceMs - this.now;
      if (left > this.config.stopGraceMs) {
        state.stop = { since: this.now, graceMs: this.config.stopGraceMs };
        this.effects.push({ kind: "hasten-stop", launch: state.gateway!.launch, graceMs: this.config.stopGraceMs });
      }
      return;
    }
    this.stopped("the supervisor is shutting down");
  }

  // --- requests and the log -------------------------------------------------------------

  private answer(id: number, result: ControlResult): void {
    this.state.requests = this.state.requests.filter((r) => r.id !== id);
    this.effects.push({ kind: "answer", id, result });
  }

  private answerRestarts(launch: number, result: ControlResult): void {
    for (const r of this.state.requests) if (r.kind === "restart" && r.launch === launch) this.answer(r.id, result);
  }

  private progressTo(id: number, message: string): void {
    this.effects.push({ kind: "progress", id, message });
  }

  /** One log line: a stable dotted event, a level alerts can key on, facts for JSON. */
  private log(message: string, event: string, level: Level = "info", fields: LogFields = {}, security = false): void {
    const gateway = this.state.gateway;
    const facts: LogFields = { state: this.state.phase, ...(gateway?.identity ? { pid: gateway.identity.pid } : {}), ...fields };
    this.effects.push({ kind: "log", message, event, level, fields: facts, ...(security ? { security } : {}) });
  }
}
