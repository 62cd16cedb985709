// The driver of the supervise loop: it alone owns the gateway. Every decision is the state
// machine's (gateway-machine.ts); this driver only feeds it events (timers, the reaper,
// probes, requests) and carries out its effects (launch, stop, probe, log, answer). The
// process mechanics are gateway-process.ts, the proofs health.ts and progress.ts.
//
// PID 1 cannot crash: every handler that runs here (timer, child exit, probe, request,
// signal) is contained (shared/contained.ts). A failure becomes one log line, and the machine
// is fed what is true (a probe that failed inside is "health unknown", an exit is still an exit).
import { join } from "node:path";
import { constants } from "node:os";
import { contained } from "../shared/contained.js";
import { firstLine } from "../shared/errors.js";
import { log, logInternalError } from "../shared/log.js";
import type { Launch } from "../init/init-loop.js";
import { decodeWaitStatus, describeStatus, type ExitStatus } from "../init/wait-status.js";
import { injectFault } from "./faults.js";
import {
  breakerOf,
  initialState,
  isRunningPhase,
  transition,
  type Effect,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
  type Timers,
} from "./gateway-machine.js";
import { GatewayProcesses, type GatewayProcessOptions } from "./gateway-process.js";
import type { ControlHandler, ControlResult, FailedLayer, RestartRequest, StatusReport } from "./control-contract.js";
import { proveHealthy, type ProbeUrls } from "./health.js";
import { HeapCollector } from "./heap-collector.js";
import { useSockDiag } from "./listener.js";
import { proveIdentity, type ProcessIdentity } from "./identity.js";
import type { HealthMode } from "../shared/settings.js";
import { ProgressMeter } from "./progress.js";
import { shortageOf } from "./resources.js";
import type { RestartHandoff } from "./restart-handoff.js";
import { StarvationWitness } from "./starvation.js";

/**
 * A launch is prepared afresh every time: config re-verified, guards re-staged. `configError`:
 * the config itself prevents it (no retry until the config changes).
 */
export type PreparedLaunch = { ok: true; launch: Launch } | { ok: false; layer: FailedLayer; message: string; configError?: boolean };

export interface SuperviseOptions extends GatewayProcessOptions {
  prepareLaunch: () => PreparedLaunch;
  /** The config's identity (its files' inode, size and times): what config-error waits to change. */
  configIdentity: () => string;
  /** Whether a launch now would be possible, writing nothing: a restart asks before it stops anything. */
  checkLaunch: () => { ok: true } | { ok: false; layer: FailedLayer; message: string };
  /** Consumes the gateway's restart handoff after an exit 0 (gatewayRestarts handoff). */
  restartHandoff?: Pick<RestartHandoff, "consume">;
  /** Runs once the gateway process exists (capability report); returns the capabilities it kept. */
  afterLaunch: (pid: number) => Promise<string[] | undefined>;
  urls: ProbeUrls;
  healthMode: HealthMode;
  machine: MachineConfig;
  probeTimeoutMs: number;
  staticStatus: Pick<StatusReport, "mode" | "posture"> & { supervisorKept: string[] };
}

interface Running {
  launch: number;
  identity: ProcessIdentity;
  launchedAt: number;
  kept: string[] | null;
  meter: ProgressMeter;
  /** What its readiness probe said last; null until known. */
  readiness: { ready: boolean; failing: string[] } | null;
  exited: Promise<ExitStatus>;
  resolveExit: (status: ExitStatus) => void;
}

interface Waiting {
  resolve: (result: ControlResult) => void;
  progress: (message: string) => void;
}

/** Beyond its own timeout a probe gets this long before the driver calls it lost. */
const PROBE_LOST_MS = 5000;
/** Beyond the stop grace, shutdown waits this long for the machine before PID 1 goes on. */
const SHUTDOWN_MARGIN_MS = 40_000;
const TIMER_NAMES: ReadonlyArray<keyof Timers> = ["probe", "grace", "relaunch", "probation", "configPoll"];

export class GatewayDriver implements ControlHandler {
  private state: MachineState;
  private readonly queue: MachineEvent[] = [];
  private draining = false;
  private readonly timers = new Map<string, { at: number; handle: NodeJS.Timeout }>();
  /** Timer keys (with their due time) that fired: never re-armed for the same time. */
  private readonly fired = new Set<string>();
  private running: Running | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private nextRequestId = 1;
  private readonly processes: GatewayProcesses;
  private readonly heap: HeapCollector;
  private readonly settledWaiters = new Set<() => void>();
  /** Whether the last stop needed SIGKILL: PID 1's exit status says so. */
  private lastStopForced = false;

  constructor(private readonly options: SuperviseOptions) {
    this.state = initialState(options.machine);
    this.processes = new GatewayProcesses(options);
    this.heap = new HeapCollector({ trim: () => options.addon.trimMalloc() });
    // The listener proof of every probe asks the kernel (sock_diag), not /proc/net/tcp.
    useSockDiag((port) => options.addon.tcpListeners(port));
  }

  /** First launch at boot; a leftover gateway of an earlier supervisor is stopped first. */
  async start(): Promise<void> {
    try {
      await this.processes.stopLeftover();
    } catch (error) {
      logInternalError(`stopping a leftover gateway: ${firstLine(error)}`);
    }
    this.dispatch({ type: "boot" });
  }

  /** Called by the reaper for every reaped child; only the gateway matters here. */
  onReaped(pid: number, rawStatus: number): void {
    const running = this.running;
    if (running === undefined || running.identity.pid !== pid) return;
    const status = decodeWaitStatus(rawStatus);
    this.running = undefined;
    running.resolveExit(status);
    const exit: MachineEvent = {
      type: "exit",
      launch: running.launch,
      description: describeStatus(status),
      // What OpenClaw records as a completed stop: it exited by itself, 0, or on SIGTERM.
      clean: status.code === 0 || status.signal === constants.signals.SIGTERM,
      ...(status.code !== null ? { code: status.code, configIdentity: this.configIdentity() } : {}),
      ...this.portHeld(),
    };
    contained(
      "the child-exit handler",
      () => {
        injectFault("reaped");
        this.processes.forget();
        this.dispatch(exit);
      },
      () => this.dispatch(exit),
    );
  }

  restart(request: RestartRequest, progress: (message: string) => void): Promise<ControlResult> {
    injectFault("request");
    if (request.expect) {
      const current = this.state.gateway?.identity;
      if (current == null || current.pid !== request.expect.pid || current.startTime !== request.expect.startTime) {
        return Promise.resolve(fail("stale request", `pid ${request.expect.pid} with start time ${request.expect.startTime} is not the running gateway; nothing was signalled`));
      }
    }
    // Make before break: a serving gateway is stopped only when the next launch can happen.
    if (isRunningPhase(this.state.phase)) {
      const check = this.checkLaunch();
      if (!check.ok) {
        log(`restart requested by ${request.from ?? "a control request"} refused (${check.layer}): ${check.message}; gateway ${this.state.gateway?.identity?.pid ?? "?"} keeps serving`, { event: "restart.refused", level: "warn", fields: { requestedBy: request.from ?? "a control request", layer: check.layer } });
        return Promise.resolve({ ok: false, layer: check.layer, message: `${check.message}; nothing was stopped, the gateway keeps serving`, refused: true });
      }
    }
    return this.ask("restart", request.from ?? "a control request", request.timeoutMs, progress, request.drainMs);
  }

  /** Never throws: a check that fails inside refuses the restart. */
  private checkLaunch(): { ok: true } | { ok: false; layer: FailedLayer; message: string } {
    try {
      return this.options.checkLaunch();
    } catch (error) {
      return { ok: false, layer: "launch failure", message: `cannot check the next launch: ${firstLine(error)}` };
    }
  }

  /**
   * Checked and asked in one turn of the event loop, so no other request comes in between:
   * a launch only where no gateway runs nor is due. A stop under way answers busy.
   */
  startIfStopped(request: Omit<RestartRequest, "expect">, progress: (message: string) => void): Promise<ControlResult> {
    injectFault("request");
    const phase = this.state.phase;
    if (phase === "stopped" || phase === "quarantined" || phase === "config-error" || phase === "stopping") {
      return this.ask("restart", request.from ?? "a control request", request.timeoutMs, progress);
    }
    return Promise.resolve({ ok: true, gateway: this.state.gateway?.identity ?? null, alreadyStarted: phase });
  }

  stop(progress: (message: string) => void, from?: string, drainMs?: number): Promise<ControlResult> {
    injectFault("request");
    return this.ask("stop", from ?? "a control request", 0, progress, drainMs);
  }

  /** SIGHUP: the same path as a restart request. */
  restartFromSignal(): void {
    contained("the SIGHUP handler", () => {
      injectFault("signal");
      const timeoutMs = this.options.machine.bootGraceMaxMs;
      void this.ask("restart", "signal SIGHUP", timeoutMs, (message) => log(`restart (SIGHUP): ${message}`)).then((result) => {
        log(result.ok ? `restart (SIGHUP): gateway pid ${result.gateway?.pid} is healthy` : `restart (SIGHUP) failed (${result.layer}): ${result.message}`);
      });
    });
  }

  /** Passes a signal on to the gateway's process group, after proving who it is. */
  forward(signal: NodeJS.Signals): void {
    contained(`forwarding ${signal}`, () => {
      injectFault("signal");
      if (this.running !== undefined) this.processes.forward(this.running.identity, signal);
    });
  }

  /**
   * Graceful shutdown of the gateway for PID 1's own exit; resolves with its exit status,
   * and whether it had to be killed (it did not stop within the grace).
   */
  async shutdown(): Promise<{ status: ExitStatus | undefined; forced: boolean } | undefined> {
    const running = this.running;
    const settled = this.whenSettled();
    this.dispatch({ type: "shutdown" });
    const bound = this.options.stopGraceMs + SHUTDOWN_MARGIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), bound)));
    if ((await Promise.race([settled, late])) === "late") log(`shutdown: the gateway's stop did not settle within ${bound / 1000}s; going on`);
    clearTimeout(timer);
    if (running === undefined) return undefined;
    return { status: await Promise.race([running.exited, Promise.resolve(undefined)]), forced: this.lastStopForced };
  }

  status(): StatusReport {
    injectFault("status");
    const machine = this.state;
    const now = Date.now();
    const gateway = machine.gateway;
    const identity = gateway?.identity ?? null;
    let state = machine.phase;
    let detail = machine.detail;
    // Never call a gateway healthy that is gone (its exit may still be on its way here).
    if (state === "healthy" && identity !== null && !this.stillThere(identity)) {
      state = "unhealthy";
      detail = `gateway pid ${identity.pid} is gone; its exit is being handled`;
    }
    return {
      state,
      gateway: identity
        ? {
            ...identity,
            startedAt: new Date(gateway!.launchedAt).toISOString(),
            uptimeSeconds: Math.round((now - gateway!.launchedAt) / 1000),
          }
        : null,
      restarts: Math.max(0, machine.launches - 1),
      crashes: machine.crashes,
      failedBoots: machine.failedBoots,
      inProcessRestarts: gateway?.inProcessRestarts ?? 0,
      lastExit: machine.lastExit,
      probationAt: machine.timers.probation !== undefined ? new Date(machine.timers.probation).toISOString() : null,
      breaker: breakerOf(machine, now),
      detail,
      readiness: state === "healthy" ? (this.running?.readiness ?? null) : null,
      drain:
        machine.phase === "stopping" && machine.stop !== null
          ? {
              budgetSeconds: Math.round(machine.stop.graceMs / 1000),
              secondsLeft: Math.max(0, Math.ceil((machine.stop.since + machine.stop.graceMs - now) / 1000)),
            }
          : null,
      capabilities: { gatewayKept: this.running?.kept ?? null, supervisorKept: this.options.staticStatus.supervisorKept },
      mode: this.options.staticStatus.mode,
      posture: this.options.staticStatus.posture,
    };
  }

  /** Whether the identity is still live; a /proc read PID 1 cannot make proves nothing against it. */
  private stillThere(identity: ProcessIdentity): boolean {
    try {
      return proveIdentity(identity);
    } catch {
      return true;
    }
  }

  private ask(kind: "restart" | "stop", from: string, timeoutMs: number, progress: (message: string) => void, drainMs?: number): Promise<ControlResult> {
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve, progress });
      this.dispatch({ type: "request", id, kind, from, timeoutMs, ...(drainMs !== undefined ? { drainMs } : {}) });
    });
  }

  /** Resolves once the machine is stopped for good (shutdown) or has nothing to stop. */
  private whenSettled(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.state.shuttingDown && this.state.phase !== "stopping" && !isRunningPhase(this.state.phase)) {
          this.settledWaiters.delete(check);
          resolve();
        }
      };
      this.settledWaiters.add(check);
    });
  }

  // --- the loop: events in, effects out ---------------------------------------------------

  /** Feeds one event; events raised while effects run are queued and fed in order. */
  private dispatch(event: MachineEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    const phaseBefore = this.state.phase;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const current = next;
        contained(`the supervision of event ${current.type}`, () => {
          const { state, effects } = transition(this.state, current, Date.now(), this.options.machine);
          this.state = state;
          for (const effect of effects) contained(`effect ${effect.kind}`, () => this.perform(effect));
        });
      }
    } finally {
      this.draining = false;
    }
    if (this.state.phase === "healthy" && phaseBefore !== "healthy") contained("the heap collection", () => this.heap.afterSettled());
    contained("the timers", () => this.syncTimers());
    for (const check of [...this.settledWaiters]) check();
  }

  private perform(effect: Effect): void {
    switch (effect.kind) {
      case "log":
        return log(effect.message, { prefix: effect.security ? "[SECURITY]" : "[supervisor]", event: effect.event, level: effect.level, ...(effect.fields ? { fields: effect.fields } : {}) });
      case "progress":
        return this.waiting.get(effect.id)?.progress(effect.message);
      case "answer": {
        const waiting = this.waiting.get(effect.id);
        this.waiting.delete(effect.id);
        return waiting?.resolve(effect.result);
      }
      case "launch":
        return this.launch(effect.launch);
      case "stop":
        return void this.stopGateway(effect.launch, effect.graceMs);
      case "hasten-stop":
        return this.processes.hastenStop(effect.graceMs);
      case "poll-config":
        return this.dispatch({ type: "config-polled", identity: this.configIdentity() });
      case "consume-handoff":
        return void this.consumeHandoff(effect.launch, effect.identity.pid);
      case "clean-up": {
        const killed = this.processes.killLeftovers(effect.identity);
        if (killed > 0) log(`killed ${killed} process(es) left behind by gateway pid ${effect.identity.pid}`, { event: "gateway.clean-up", fields: { pid: effect.identity.pid, killed } });
        return;
      }
      case "probe":
        return void this.probe(effect.launch, effect.identity, effect.failing);
    }
  }

  /** Timers follow the machine's state: what is due when (and each request's deadline). */
  private syncTimers(): void {
    const want = new Map<string, number>();
    for (const name of TIMER_NAMES) {
      const at = this.state.timers[name];
      if (at !== undefined) want.set(name, at);
    }
    for (const r of this.state.requests) if (r.deadline !== null) want.set(`request:${r.id}`, r.deadline);
    for (const [key, timer] of this.timers) {
      if (want.get(key) !== timer.at) {
        clearTimeout(timer.handle);
        this.timers.delete(key);
      }
    }
    for (const key of [...this.fired]) if (want.get(key.slice(0, key.lastIndexOf("@"))) === undefined) this.fired.delete(key);
    for (const [key, at] of want) {
      if (this.timers.has(key) || this.fired.has(`${key}@${at}`)) continue;
      const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
      const handle = setTimeout(() => this.timerFired(key, at), delay);
      this.timers.set(key, { at, handle });
    }
  }

  private timerFired(key: string, at: number): void {
    this.timers.delete(key);
    this.fired.add(`${key}@${at}`);
    const event = timerEvent(key);
    contained(
      `the ${key} timer`,
      () => {
        injectFault("timer");
        this.dispatch(event);
      },
      () => this.dispatch(event),
    );
  }

  // --- effects ----------------------------------------------------------------------------

  private launch(launch: number): void {
    let failed: MachineEvent | undefined;
    try {
      const prepared = this.options.prepareLaunch();
      if (!prepared.ok) {
        const configIdentity = prepared.configError ? this.configIdentity() : undefined;
        failed = launchFailed(prepared.layer, prepared.message, shortageOf(prepared.message), configIdentity);
      } else {
        const spawned = this.processes.spawn(prepared.launch);
        if (!spawned.ok) {
          failed = launchFailed(spawned.layer, spawned.message, spawned.resource);
        } else {
          this.started(launch, spawned.identity);
          return;
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      failed = launchFailed("launch failure", firstLine(error), shortageOf(code ?? firstLine(error)));
    }
    this.dispatch(failed);
  }

  private started(launch: number, identity: ProcessIdentity): void {
    let resolveExit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (resolveExit = resolve));
    const running: Running = {
      launch,
      identity,
      launchedAt: Date.now(),
      kept: null,
      meter: new ProgressMeter(identity.pid, identity.startTime),
      readiness: null,
      exited,
      resolveExit,
    };
    this.running = running;
    this.dispatch({ type: "launched", identity });
    contained("the heap collection", () => this.heap.afterLaunch());
    void this.options.afterLaunch(identity.pid).then(
      (kept) => {
        if (this.running === running && kept !== undefined) running.kept = kept;
      },
      (error: unknown) => logInternalError(`checking gateway pid ${identity.pid}'s capabilities: ${firstLine(error)}`),
    );
  }

  /** Stops the gateway of `launch`; the machine hears "stop-done" whatever happens here. */
  private async stopGateway(launch: number, graceMs: number): Promise<void> {
    const running = this.running?.launch === launch ? this.running : undefined;
    let forced = false;
    const progress = (message: string): void => {
      log(`stop: ${message}`);
      for (const r of this.state.requests) this.waiting.get(r.id)?.progress(message);
    };
    try {
      if (running !== undefined) forced = await this.processes.stop(running.identity, running.exited, progress, graceMs);
    } catch (error) {
      logInternalError(`stopping gateway pid ${running?.identity.pid}: ${firstLine(error)}`);
      forced = true;
    }
    this.lastStopForced = forced;
    this.dispatch({ type: "stop-done", launch, forced });
  }

  /** A foreign listener on the gateway's port when it exited: its exit was likely EADDRINUSE. */
  private portHeld(): { portHeld?: string } {
    try {
      const held = this.processes.foreignListener();
      return held === undefined ? {} : { portHeld: held };
    } catch {
      return {};
    }
  }

  /** Never throws: an identity that cannot be read is one that differs from any other. */
  private configIdentity(): string {
    try {
      return this.options.configIdentity();
    } catch (error) {
      return `unreadable: ${firstLine(error)}`;
    }
  }

  /** The handoff's answer reaches the machine whatever happens here. */
  private async consumeHandoff(launch: number, pid: number): Promise<void> {
    let verdict: { accepted: boolean; detail: string };
    try {
      verdict = this.options.restartHandoff ? await this.options.restartHandoff.consume(pid) : { accepted: false, detail: "no restart-handoff command" };
    } catch (error) {
      verdict = { accepted: false, detail: `internal error: ${firstLine(error)}` };
    }
    this.dispatch({ type: "handoff-result", launch, ...verdict });
  }

  private async probe(launch: number, identity: ProcessIdentity, failing: boolean): Promise<void> {
    const events: MachineEvent[] = [];
    try {
      injectFault("probe");
      const running = this.running?.launch === launch ? this.running : undefined;
      // CPU time is how a slow start, or an in-process restart, shows it is not stuck.
      // While its probes fail, every probe measures: an in-process restart must show before the watchdog's count.
      const progress = running?.meter.sample(Date.now(), undefined, failing);
      if (progress !== undefined) events.push({ type: "progress", launch, what: progress.what, since: progress.since });
      events.push(await this.proveOnce(launch, identity, running));
    } catch (error) {
      logInternalError(`in the health probe: ${firstLine(error)}; health unknown until the next probe`);
      events.push({ type: "probe-result", launch, verdict: "unknown", detail: `the probe failed inside the supervisor: ${firstLine(error)}` });
    }
    for (const event of events) this.dispatch(event);
  }

  /** One health proof, bounded beyond its own timeout; its readiness is kept for the status. */
  private async proveOnce(launch: number, identity: ProcessIdentity, running: Running | undefined): Promise<MachineEvent> {
    const { port, urls, healthMode: mode, probeTimeoutMs: timeoutMs } = this.options;
    const lostAfter = timeoutMs * 3 + PROBE_LOST_MS;
    let timer: NodeJS.Timeout | undefined;
    const lost = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), lostAfter)));
    const witness = new StarvationWitness(identity.pid);
    const verdict = await Promise.race([proveHealthy({ identity, port, urls, mode, timeoutMs }), lost]);
    clearTimeout(timer);
    if (verdict === undefined) return { type: "probe-result", launch, verdict: "unknown", detail: `the probe did not finish within ${lostAfter} ms` };
    if (running !== undefined && verdict.readiness !== undefined) running.readiness = verdict.readiness;
    // A failure while PID 1 or the gateway could not get a CPU proves nothing either way.
    const starved = verdict.healthy || verdict.unknown ? undefined : witness.verdict(timeoutMs);
    if (starved !== undefined) return { type: "probe-result", launch, verdict: "unknown", detail: `the probe could not run fairly: ${starved}` };
    const result = verdict.healthy ? "healthy" : verdict.unknown ? "unknown" : "failed";
    return {
      type: "probe-result",
      launch,
      verdict: result,
      detail: verdict.detail,
      ...(verdict.layer ? { layer: verdict.layer } : {}),
      ...(verdict.startup ? { startup: verdict.startup } : {}),
      ...(verdict.uptimeMs !== undefined ? { uptimeMs: verdict.uptimeMs } : {}),
    };
  }
}

function timerEvent(key: string): MachineEvent {
  if (key.startsWith("request:")) return { type: "request-deadline", id: Number(key.slice("request:".length)) };
  switch (key as keyof Timers) {
    case "probe":
      return { type: "probe-due" };
    case "grace":
      return { type: "grace-expired" };
    case "relaunch":
      return { type: "relaunch-due" };
    case "probation":
      return { type: "probation-due" };
    case "configPoll":
      return { type: "config-poll-due" };
  }
}

function launchFailed(layer: FailedLayer, message: string, resource: string | undefined, configIdentity?: string): MachineEvent {
  return {
    type: "launch-failed",
    layer,
    message,
    ...(resource !== undefined ? { resource } : {}),
    ...(configIdentity !== undefined ? { configIdentity } : {}),
  };
}

function fail(layer: FailedLayer, message: string): ControlResult {
  return { ok: false, layer, message };
}

export function gatewayStateFile(runDir: string): string {
  return join(runDir, "gateway.json");
}
