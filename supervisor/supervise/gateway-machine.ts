// The supervision state machine (SPEC 4; docs/gateway-states.md): one pure function from
// (state, event, now) to the next state and the effects the driver (supervisor.ts) carries
// out. Timers are part of the state (when the next probe, grace expiry, relaunch or
// probation is due), so "every state names its way out" is a property of the state alone
// and is tested as such (test/unit/gateway-machine.test.ts): a gateway phase always has a
// probe scheduled or in flight, stopping always has a stop in flight (which the driver
// bounds), backing-off a relaunch, quarantined a probation (unless disabled). Nothing here
// waits for a request to finish: requests are answered from the same transitions.
import type { ControlResult, FailedLayer, GatewayState, LastExit, ProcessIdentity } from "./gateway-state.js";
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
}

/** While starting, probes are frequent so that a restart is answered as soon as the gateway is up... */
export const STARTING_PROBE_MS = 25;
/** ...for its first seconds; a slow boot is then probed less often. */
export const SLOW_STARTING_PROBE_MS = 250;
const FAST_STARTING_MS = 2000;

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
  /** When a restart gives up waiting for health; stops have no deadline (the stop is bounded). */
  deadline: number | null;
  timeoutMs: number;
}

export interface Timers {
  probe?: number;
  grace?: number;
  relaunch?: number;
  probation?: number;
}

export interface MachineState {
  phase: GatewayState;
  gateway: Gateway | null;
  /** Stopping: what comes once the stop is done, and why the stop was made. */
  after: AfterStop | null;
  stopWhy: string | null;
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
}

export type MachineEvent =
  | { type: "boot" }
  | { type: "launched"; identity: ProcessIdentity }
  | { type: "launch-failed"; layer: FailedLayer; message: string; resource?: string }
  | { type: "probe-due" }
  | { type: "probe-result"; launch: number; verdict: "healthy" | "failed" | "unknown"; layer?: "identity" | "listener" | "http"; detail: string }
  | { type: "progress"; launch: number; what: string }
  | { type: "grace-expired" }
  | { type: "exit"; launch: number; description: string; clean: boolean }
  | { type: "stop-done"; launch: number; forced: boolean }
  | { type: "relaunch-due" }
  | { type: "probation-due" }
  | { type: "request"; id: number; kind: "restart" | "stop"; from: string; timeoutMs: number }
  | { type: "request-deadline"; id: number }
  | { type: "shutdown" };

export type Effect =
  | { kind: "launch"; launch: number }
  | { kind: "stop"; launch: number; identity: ProcessIdentity | null }
  /** SIGKILL to what a gateway that ended by itself left behind (its group, its tree, strays of its uid). */
  | { kind: "clean-up"; identity: ProcessIdentity }
  | { kind: "probe"; launch: number; identity: ProcessIdentity; starting: boolean }
  | { kind: "log"; message: string; security?: boolean }
  | { kind: "progress"; id: number; message: string }
  | { kind: "answer"; id: number; result: ControlResult };

export function initialState(config: MachineConfig): MachineState {
  return {
    phase: "stopped",
    gateway: null,
    after: null,
    stopWhy: null,
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
  };
}

const RUNNING: ReadonlySet<GatewayState> = new Set(["starting", "healthy", "unhealthy"]);

/** True in the phases where a gateway runs and is probed. */
export function isRunningPhase(phase: GatewayState): boolean {
  return RUNNING.has(phase);
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;
const iso = (ms: number): string => new Date(ms).toISOString();
const pidOf = (g: Gateway | null): string => (g?.identity ? `pid ${g.identity.pid}` : "(not started)");

/**
 * How a state is left without any request: the timer or the operation in flight that moves
 * it on. "request" means only a request (or shutdown) does: stopped, or quarantined with
 * probation disabled. Undefined would be a state that can wedge; the table test proves
 * none is reachable.
 */
export function wayOut(s: MachineState, config: MachineConfig): string | undefined {
  switch (s.phase) {
    case "starting":
      if (s.timers.grace === undefined) return undefined;
      return s.timers.probe !== undefined || s.probing ? "probe and grace timers" : undefined;
    case "healthy":
    case "unhealthy":
      return s.timers.probe !== undefined || s.probing ? "probe timer" : undefined;
    case "stopping":
      return s.gateway !== null && s.after !== null ? "stop in flight" : undefined;
    case "backing-off":
      return s.timers.relaunch !== undefined ? "relaunch timer" : undefined;
    case "quarantined":
      if (config.probationMs === 0 || s.shuttingDown) return "request";
      return s.timers.probation !== undefined ? "probation timer" : undefined;
    case "stopped":
      return "request";
  }
}

/** OpenClaw's breaker as reckoned from our own records of its boots (openclaw-contract.ts). */
export function breakerOf(s: MachineState, now: number): { tripped: boolean; uncleanBoots: number; windowSeconds: number } {
  const recent = s.uncleanBoots.filter((at) => now - at < BREAKER_WINDOW_MS).length;
  const running = s.gateway !== null && s.phase !== "stopping";
  return {
    // OpenClaw decides at boot and lifts it itself once its window has drained.
    tripped: running && s.uncleanAtLaunch >= BREAKER_THRESHOLD && recent > 0,
    uncleanBoots: recent,
    windowSeconds: BREAKER_WINDOW_MS / 1000,
  };
}

/** The pure transition: never throws for any state and event; effects run in order. */
export function transition(state: MachineState, event: MachineEvent, now: number, config: MachineConfig): { state: MachineState; effects: Effect[] } {
  const s: MachineState = structuredClone(state);
  const fx: Effect[] = [];
  const step = new Step(s, fx, now, config);
  step.handle(event);
  if (s.phase !== state.phase) fx.push({ kind: "log", message: `gateway state ${state.phase} -> ${s.phase}${s.detail ? `: ${s.detail}` : ""}` });
  return { state: s, effects: fx };
}

class Step {
  constructor(
    private readonly s: MachineState,
    private readonly fx: Effect[],
    private readonly now: number,
    private readonly c: MachineConfig,
  ) {}

  handle(e: MachineEvent): void {
    switch (e.type) {
      case "boot":
        if (this.s.phase === "stopped" && this.s.launches === 0 && !this.s.shuttingDown) this.launch(false);
        return;
      case "launched":
        return this.launched(e.identity);
      case "launch-failed":
        return this.launchFailed(e.layer, e.message, e.resource);
      case "probe-due":
        return this.probeDue();
      case "probe-result":
        return this.probeResult(e);
      case "progress":
        return this.progress(e.launch, e.what);
      case "grace-expired":
        return this.graceExpired();
      case "exit":
        return this.exited(e.launch, e.description, e.clean);
      case "stop-done":
        return this.stopDone(e.launch, e.forced);
      case "relaunch-due":
        if (this.s.phase === "backing-off" && this.s.timers.relaunch !== undefined) this.launch(false);
        return;
      case "probation-due":
        if (this.s.phase !== "quarantined" || this.s.timers.probation === undefined) return;
        this.log(`probation: relaunching the quarantined gateway after a cool-down of ${seconds(this.s.probationDelayMs)}`);
        return this.launch(true);
      case "request":
        return e.kind === "restart" ? this.restartRequest(e.id, e.from, e.timeoutMs) : this.stopRequest(e.id, e.from);
      case "request-deadline":
        return this.requestDeadline(e.id);
      case "shutdown":
        return this.shutdown();
    }
  }

  // --- the phases, entered as a whole (phase, gateway, timers and detail together) ------

  private launch(probation: boolean): void {
    const s = this.s;
    s.launches++;
    const launch = s.launches;
    s.gateway = {
      launch,
      identity: null,
      launchedAt: this.now,
      probation,
      healthySince: null,
      failedProbes: 0,
      listenerSeen: false,
      graceExtended: false,
      unknown: null,
      lastFailure: null,
      exit: null,
    };
    s.phase = "starting";
    s.after = null;
    s.stopWhy = null;
    s.probing = false;
    s.timers = { probe: this.now + STARTING_PROBE_MS, grace: this.now + this.c.bootGraceMs };
    s.uncleanBoots = s.uncleanBoots.filter((at) => this.now - at < BREAKER_WINDOW_MS);
    s.uncleanAtLaunch = s.uncleanBoots.length;
    s.detail = `${probation ? "probation relaunch; " : ""}boot grace ${seconds(this.c.bootGraceMs)} without progress, at most ${seconds(this.c.bootGraceMaxMs)}`;
    for (const r of s.requests) if (r.kind === "restart" && r.launch === "next") r.launch = launch;
    this.fx.push({ kind: "launch", launch });
  }

  private beginStop(after: AfterStop, why: string): void {
    const s = this.s;
    s.phase = "stopping";
    s.after = after;
    s.stopWhy = why;
    s.probing = false;
    s.timers = {};
    s.detail = why;
    this.fx.push({ kind: "stop", launch: s.gateway!.launch, identity: s.gateway!.identity });
  }

  private backOff(delayMs: number, why: string): void {
    const s = this.s;
    s.phase = "backing-off";
    s.gateway = null;
    s.timers = { relaunch: this.now + delayMs };
    s.detail = `relaunch in ${seconds(delayMs)} (at ${iso(this.now + delayMs)}) after: ${why}`;
  }

  private quarantine(reason: string): void {
    const s = this.s;
    s.phase = "quarantined";
    s.gateway = null;
    const probation = this.c.probationMs > 0 && !s.shuttingDown;
    s.timers = probation ? { probation: this.now + s.probationDelayMs } : {};
    s.detail = `${reason}; ${probation ? `probation relaunch at ${iso(this.now + s.probationDelayMs)}` : "no relaunch until 'supervisor restart'"}`;
  }

  private stopped(detail: string): void {
    const s = this.s;
    s.phase = "stopped";
    s.gateway = null;
    s.after = null;
    s.stopWhy = null;
    s.probing = false;
    s.timers = {};
    s.detail = detail;
  }

  private liftQuarantine(): void {
    this.s.history = EMPTY_HISTORY;
    this.s.resourceRetries = 0;
    this.s.probationDelayMs = this.c.probationMs;
  }

  /** A crash or a failed boot: backoff, quarantine, or back to quarantine after a failed probation. */
  private failure(kind: FailureKind, what: string, wasProbation: boolean): void {
    const s = this.s;
    if (s.shuttingDown) return this.stopped("the supervisor is shutting down");
    if (wasProbation) {
      s.probationDelayMs = Math.min(s.probationDelayMs * 2, this.c.probationMaxMs);
      this.log(`probation failed (${what}): quarantined again`);
      return this.quarantine(`probation failed: ${what}`);
    }
    const { history, decision } = recordFailure(s.history, kind, this.now, this.c.policy);
    s.history = history;
    if (decision.kind === "quarantine") {
      this.log(`gateway quarantined (${decision.reason}); last: ${what}`);
      return this.quarantine(`${decision.reason}; last: ${what}`);
    }
    this.backOff(decision.delayMs, what);
  }

  // --- events ------------------------------------------------------------------------

  private launched(identity: ProcessIdentity): void {
    const g = this.s.gateway;
    if (g === null || g.identity !== null || this.s.phase !== "starting") return;
    g.identity = identity;
    for (const r of this.s.requests) {
      if (r.kind === "restart" && r.launch === g.launch) this.progressTo(r.id, `launched gateway pid ${identity.pid}; waiting until it is healthy`);
    }
  }

  private launchFailed(layer: FailedLayer, message: string, resource: string | undefined): void {
    const s = this.s;
    const g = s.gateway;
    if (g === null || g.identity !== null) return;
    const line = layer === "guards missing" ? `refusing unguarded gateway relaunch: ${message}` : `gateway launch failed (${layer}): ${message}`;
    this.log(line, layer === "guards missing" || layer === "config integrity");
    this.answerRestarts(g.launch, { ok: false, layer, message });
    s.gateway = null;
    if (s.shuttingDown) return this.stopped("the supervisor is shutting down");
    if (resource !== undefined) {
      // PID 1 lacks something (disk space, processes): not the gateway's fault.
      s.resourceRetries++;
      const delay = backoffDelayMs(s.resourceRetries, this.c.policy);
      this.log(`waiting for ${resource}: retrying the launch in ${seconds(delay)} (not counted as a crash)`);
      return this.backOff(delay, `waiting for ${resource}: ${line}`);
    }
    s.crashes++;
    this.failure("crash", line, g.probation);
  }

  private probeDue(): void {
    const s = this.s;
    const g = s.gateway;
    if (!isRunningPhase(s.phase) || s.timers.probe === undefined || g?.identity == null) return;
    s.timers.probe = undefined;
    s.probing = true;
    this.fx.push({ kind: "probe", launch: g.launch, identity: g.identity, starting: s.phase === "starting" });
  }

  private nextProbe(): void {
    const s = this.s;
    const g = s.gateway!;
    const delay =
      s.phase === "starting"
        ? this.now - g.launchedAt < FAST_STARTING_MS
          ? STARTING_PROBE_MS
          : SLOW_STARTING_PROBE_MS
        : this.c.probeIntervalMs;
    s.timers.probe = this.now + delay;
  }

  private probeResult(e: Extract<MachineEvent, { type: "probe-result" }>): void {
    const s = this.s;
    const g = s.gateway;
    // A verdict about an earlier gateway, or one that is being stopped, means nothing now.
    if (g === null || g.launch !== e.launch || !isRunningPhase(s.phase)) return;
    s.probing = false;
    if (e.verdict === "unknown") {
      if (g.unknown === null) this.log(`probe could not run (${e.detail}): not counted against gateway ${pidOf(g)}`);
      g.unknown = e.detail;
      s.detail = `health unknown: ${e.detail}`;
      return this.nextProbe();
    }
    g.unknown = null;
    if (e.verdict === "healthy") return this.healthy(g);
    if (s.phase === "starting") {
      g.lastFailure = e.detail;
      s.detail = `not healthy yet: ${e.detail}`;
      // A listener that appears is progress, even before the HTTP answer is right.
      if (e.layer === "http" && !g.listenerSeen) {
        g.listenerSeen = true;
        this.progress(g.launch, "a listener appeared");
      }
      return this.nextProbe();
    }
    g.failedProbes++;
    s.phase = "unhealthy";
    s.detail = `${g.failedProbes} failed probe(s): ${e.detail}`;
    if (g.failedProbes >= this.c.unhealthyThreshold) {
      const why = `${g.failedProbes} failed probes in a row (${e.detail})`;
      this.log(`watchdog: gateway ${pidOf(g)} ${why}: replacing it`);
      return this.beginStop("replace", `watchdog: ${why}`);
    }
    this.nextProbe();
  }

  private healthy(g: Gateway): void {
    const s = this.s;
    g.failedProbes = 0;
    g.healthySince ??= this.now;
    if (s.phase !== "healthy") {
      if (s.phase === "starting") this.log(`gateway ${pidOf(g)} is healthy (${this.now - g.launchedAt} ms after launch)`);
      s.phase = "healthy";
      s.timers.grace = undefined;
    }
    s.detail = null;
    this.answerRestarts(g.launch, { ok: true, gateway: g.identity });
    if (this.now - g.healthySince >= this.c.policy.stableAfterMs) {
      s.history = { ...s.history, consecutive: 0 };
      s.resourceRetries = 0;
      if (g.probation) {
        g.probation = false;
        this.liftQuarantine();
        this.log(`probation passed: gateway ${pidOf(g)} healthy for ${seconds(this.now - g.healthySince)}; quarantine lifted`);
      }
    }
    this.nextProbe();
  }

  private progress(launch: number, what: string): void {
    const s = this.s;
    const g = s.gateway;
    if (s.phase !== "starting" || g === null || g.launch !== launch || s.timers.grace === undefined) return;
    const cap = g.launchedAt + this.c.bootGraceMaxMs;
    const extended = Math.min(cap, this.now + this.c.bootGraceMs);
    if (extended <= s.timers.grace) return;
    s.timers.grace = extended;
    if (!g.graceExtended && extended > g.launchedAt + this.c.bootGraceMs) {
      g.graceExtended = true;
      this.log(`gateway ${pidOf(g)} is slow to start but making progress (${what}): boot grace extended while it does, at most ${seconds(this.c.bootGraceMaxMs)}`);
    }
  }

  private graceExpired(): void {
    const s = this.s;
    const g = s.gateway;
    if (s.phase !== "starting" || g === null || s.timers.grace === undefined) return;
    if (g.unknown !== null) {
      // Probes that cannot run prove nothing against the gateway: look again later.
      s.timers.grace = this.now + this.c.probeIntervalMs;
      return;
    }
    const capped = this.now - g.launchedAt >= this.c.bootGraceMaxMs;
    const why = capped
      ? `not healthy within the boot grace cap of ${seconds(this.c.bootGraceMaxMs)}`
      : `not healthy and no progress for ${seconds(this.c.bootGraceMs)}`;
    this.log(`watchdog: gateway ${pidOf(g)} ${why}${g.lastFailure ? ` (${g.lastFailure})` : ""}: replacing it (a failed boot)`);
    this.answerRestarts(g.launch, { ok: false, layer: "health timeout", message: `gateway ${pidOf(g)} ${why}; it is being replaced` });
    this.beginStop("failed boot", `watchdog: ${why}`);
  }

  private exited(launch: number, description: string, clean: boolean): void {
    const s = this.s;
    const g = s.gateway;
    if (g === null || g.launch !== launch || g.exit !== null) return;
    const expected = s.phase === "stopping";
    s.lastExit = { description, at: iso(this.now), expected };
    g.exit = { clean };
    if (expected) {
      this.log(`gateway ${pidOf(g)} ${description} (expected: ${s.stopWhy})`);
      return;
    }
    s.crashes++;
    if (!clean) s.uncleanBoots.push(g.launchedAt);
    const what = `gateway ${pidOf(g)} ${description} unexpectedly`;
    this.log(what);
    // Its children would hold its port and outlive it: the next gateway starts clean.
    if (g.identity !== null) this.fx.push({ kind: "clean-up", identity: g.identity });
    this.answerRestarts(launch, { ok: false, layer: "launch failure", message: `gateway ${pidOf(g)} ${description} before it was healthy` });
    this.failure("crash", what, g.probation);
  }

  private stopDone(launch: number, forced: boolean): void {
    const s = this.s;
    const g = s.gateway;
    if (s.phase !== "stopping" || g === null || g.launch !== launch) return;
    if (forced || g.exit?.clean === false) s.uncleanBoots.push(g.launchedAt);
    const why = s.stopWhy ?? "stopped";
    switch (s.after) {
      case "relaunch":
        return this.launch(false);
      case "replace":
        if (g.probation) return this.failure("crash", why, true);
        return this.launch(false);
      case "failed boot":
        s.failedBoots++;
        return this.failure("failed boot", `gateway ${pidOf(g)} ${why.replace(/^watchdog: /, "")}`, g.probation);
      case "stay":
        for (const r of s.requests.filter((r) => r.kind === "stop")) this.answer(r.id, { ok: true, gateway: g.identity });
        return this.stopped("stopped on request; 'supervisor restart' starts it again");
      case "shutdown":
      case null:
        return this.stopped("the supervisor is shutting down");
    }
  }

  private restartUnderWay(): boolean {
    return this.s.requests.some((r) => r.kind === "restart") || (this.s.phase === "stopping" && this.s.after === "relaunch");
  }

  private restartRequest(id: number, from: string, timeoutMs: number): void {
    const s = this.s;
    this.log(`restart requested by ${from}`);
    if (s.shuttingDown) return this.answer(id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (s.requests.some((r) => r.kind === "stop")) return this.answer(id, { ok: false, layer: "busy", message: "a stop is under way" });
    const request: PendingRequest = { id, kind: "restart", launch: "next", deadline: this.now + timeoutMs, timeoutMs };
    if (this.restartUnderWay()) {
      // Concurrent requests share the one restart under way: never two gateways.
      request.launch = s.requests.find((r) => r.kind === "restart")?.launch ?? "next";
      s.requests.push(request);
      this.progressTo(id, "joining the restart already under way");
      return;
    }
    s.requests.push(request);
    // An explicit restart is what lifts a quarantine and forgets the crash window.
    this.liftQuarantine();
    if (isRunningPhase(s.phase)) {
      this.progressTo(id, `stopping gateway ${pidOf(s.gateway)}`);
      return this.beginStop("relaunch", `restart requested by ${from}`);
    }
    if (s.phase === "stopping") {
      // A watchdog replacement is under way: the request takes it over (no backoff).
      this.progressTo(id, `joining the replacement of gateway ${pidOf(s.gateway)} under way`);
      s.after = "relaunch";
      return;
    }
    this.launch(false);
  }

  private stopRequest(id: number, from: string): void {
    const s = this.s;
    this.log(`stop requested by ${from}`);
    if (s.shuttingDown) return this.answer(id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (this.restartUnderWay()) return this.answer(id, { ok: false, layer: "busy", message: "a restart is under way" });
    if (s.requests.some((r) => r.kind === "stop")) return this.answer(id, { ok: false, layer: "busy", message: "a stop is under way" });
    if (isRunningPhase(s.phase) || s.phase === "stopping") {
      s.requests.push({ id, kind: "stop", launch: "next", deadline: null, timeoutMs: 0 });
      if (s.phase === "stopping") {
        s.after = "stay";
        return;
      }
      return this.beginStop("stay", `stop requested by ${from}`);
    }
    this.stopped("stopped on request; 'supervisor restart' starts it again");
    this.answer(id, { ok: true, gateway: null });
  }

  private requestDeadline(id: number): void {
    const r = this.s.requests.find((p) => p.id === id);
    if (r === undefined || r.kind !== "restart") return;
    const g = this.s.gateway;
    const which = g !== null && r.launch === g.launch ? `gateway ${pidOf(g)}` : "the gateway";
    this.answer(id, { ok: false, layer: "health timeout", message: `${which} not healthy within ${seconds(r.timeoutMs)} (state ${this.s.phase})` });
  }

  private shutdown(): void {
    const s = this.s;
    if (s.shuttingDown) return;
    s.shuttingDown = true;
    for (const r of [...s.requests]) this.answer(r.id, { ok: false, layer: "unavailable", message: "the supervisor is shutting down" });
    if (isRunningPhase(s.phase)) return this.beginStop("shutdown", "the supervisor is shutting down");
    if (s.phase === "stopping") {
      s.after = "shutdown";
      return;
    }
    this.stopped("the supervisor is shutting down");
  }

  // --- requests and the log -------------------------------------------------------------

  private answer(id: number, result: ControlResult): void {
    this.s.requests = this.s.requests.filter((r) => r.id !== id);
    this.fx.push({ kind: "answer", id, result });
  }

  private answerRestarts(launch: number, result: ControlResult): void {
    for (const r of this.s.requests) if (r.kind === "restart" && r.launch === launch) this.answer(r.id, result);
  }

  private progressTo(id: number, message: string): void {
    this.fx.push({ kind: "progress", id, message });
  }

  private log(message: string, security = false): void {
    this.fx.push(security ? { kind: "log", message, security } : { kind: "log", message });
  }
}
