// The supervise loop (SPEC 4): it alone owns the gateway. It launches it, learns of its
// exit from the reaper, judges its health, relaunches it after a crash with backoff or
// quarantines it, and carries out what the control channel and signals ask for. The
// process mechanics are gateway-process.ts, the probe schedule probe-timer.ts.
import { join } from "node:path";
import { log } from "../shared/log.js";
import type { Launch } from "../init/init-loop.js";
import { decodeWaitStatus, describeStatus, type ExitStatus } from "../init/wait-status.js";
import { CrashHistory, type CrashPolicy } from "./crash-policy.js";
import { GatewayProcesses, type GatewayProcessOptions } from "./gateway-process.js";
import type {
  ControlHandler,
  ControlResult,
  FailedLayer,
  GatewayState,
  LastExit,
  ProcessIdentity,
  RestartRequest,
  StatusReport,
} from "./gateway-state.js";
import { proveHealthy, type HealthVerdict } from "./health.js";
import { ProbeTimer } from "./probe-timer.js";

/** A launch is prepared afresh every time: config re-verified, guards re-staged. */
export type PreparedLaunch = { ok: true; launch: Launch } | { ok: false; layer: FailedLayer; message: string };

export interface SuperviseOptions extends GatewayProcessOptions {
  prepareLaunch: () => PreparedLaunch;
  /** Runs once the gateway process exists (capability report); returns the capabilities it kept. */
  afterLaunch: (pid: number) => Promise<string[] | undefined>;
  healthUrl: string;
  policy: CrashPolicy;
  bootGraceMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  unhealthyThreshold: number;
  staticStatus: Pick<StatusReport, "mode" | "posture"> & { supervisorKept: string[] };
}

interface Running {
  identity: ProcessIdentity;
  launchedAt: number;
  healthySince: number | undefined;
  failedProbes: number;
  kept: string[] | null;
  /** Set when the supervisor itself ends this gateway: its exit is then never a crash. */
  expectedExit: boolean;
  exited: Promise<ExitStatus>;
  resolveExit: (status: ExitStatus) => void;
}

/** While starting, probes are frequent so a restart is answered as soon as the gateway is up. */
const STARTING_PROBE_MS = 25;

export class GatewaySupervisor implements ControlHandler {
  private state: GatewayState = "stopped";
  private running: Running | undefined;
  private detail: string | null = null;
  /** Launches so far; every one after the first is a restart, whatever caused it. */
  private launches = 0;
  private crashes = 0;
  private lastExit: LastExit | null = null;
  private readonly history: CrashHistory;
  private relaunchTimer: NodeJS.Timeout | undefined;
  private readonly processes: GatewayProcesses;
  private readonly prober: ProbeTimer<{ running: Running; verdict: HealthVerdict }>;
  private inFlight: { kind: "restart" | "stop"; done: Promise<ControlResult> } | undefined;
  private shuttingDown = false;
  /** Re-checked on every state change and gateway exit (restart requests waiting for health). */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: SuperviseOptions) {
    this.history = new CrashHistory(o.policy);
    this.processes = new GatewayProcesses(o);
    this.prober = new ProbeTimer(
      async () => {
        const running = this.running;
        if (running === undefined) return undefined;
        const verdict = await proveHealthy({ identity: running.identity, port: o.port, url: o.healthUrl, timeoutMs: o.probeTimeoutMs });
        return { running, verdict };
      },
      ({ running, verdict }) => this.judge(running, verdict),
    );
  }

  /** First launch at boot; a leftover gateway of an earlier supervisor is stopped first. */
  async start(): Promise<void> {
    await this.processes.stopLeftover();
    const result = this.launch();
    if (!result.ok) this.handleFailedLaunch(result.layer, result.message);
  }

  /** Called by the reaper for every reaped child; only the gateway matters here. */
  onReaped(pid: number, rawStatus: number): void {
    const running = this.running;
    if (running === undefined || running.identity.pid !== pid) return;
    const status = decodeWaitStatus(rawStatus);
    this.running = undefined;
    this.prober.clear();
    this.processes.forget();
    this.lastExit = { description: describeStatus(status), at: new Date().toISOString(), expected: running.expectedExit };
    running.resolveExit(status);
    for (const check of [...this.waiters]) check();
    if (running.expectedExit || this.shuttingDown) return;
    this.crashes++;
    const decision = this.history.recordCrash(Date.now());
    if (decision.kind === "quarantine") {
      this.setState("quarantined", `${decision.reason}; last exit: ${this.lastExit.description}; waiting for supervisor restart`);
      log(`gateway pid ${pid} ${this.lastExit.description}: quarantined (${decision.reason}); no relaunch until 'supervisor restart'`);
      return;
    }
    this.setState("backing-off", `relaunch in ${decision.delayMs / 1000}s after: ${this.lastExit.description}`);
    log(`gateway pid ${pid} ${this.lastExit.description} unexpectedly: relaunch in ${decision.delayMs / 1000}s`);
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = undefined;
      const result = this.launch();
      if (!result.ok) this.handleFailedLaunch(result.layer, result.message);
    }, decision.delayMs);
  }

  restart(request: RestartRequest, progress: (message: string) => void): Promise<ControlResult> {
    if (request.expect) {
      const current = this.running?.identity;
      if (current === undefined || current.pid !== request.expect.pid || current.startTime !== request.expect.startTime) {
        return Promise.resolve(fail("stale request", `pid ${request.expect.pid} with start time ${request.expect.startTime} is not the running gateway; nothing was signalled`));
      }
    }
    // Concurrent requests share the one restart under way: never two gateways.
    if (this.inFlight?.kind === "restart") {
      progress("joining the restart already under way");
      return this.inFlight.done;
    }
    if (this.inFlight) return Promise.resolve(fail("busy", "a stop is under way"));
    if (this.shuttingDown) return Promise.resolve(fail("unavailable", "the supervisor is shutting down"));
    const done = this.doRestart(request.timeoutMs, progress).finally(() => (this.inFlight = undefined));
    this.inFlight = { kind: "restart", done };
    return done;
  }

  stop(progress: (message: string) => void): Promise<ControlResult> {
    if (this.inFlight) return Promise.resolve(fail("busy", `a ${this.inFlight.kind} is under way`));
    const done = (async (): Promise<ControlResult> => {
      this.cancelRelaunch();
      const identity = this.running?.identity ?? null;
      await this.stopGateway(progress);
      this.setState("stopped", "stopped on request; 'supervisor restart' starts it again");
      return { ok: true, gateway: identity };
    })().finally(() => (this.inFlight = undefined));
    this.inFlight = { kind: "stop", done };
    return done;
  }

  /** SIGHUP: the same path as a restart request. */
  restartFromSignal(): void {
    void this.restart({ timeoutMs: this.o.bootGraceMs }, (message) => log(`restart (SIGHUP): ${message}`)).then((result) => {
      log(result.ok ? `restart (SIGHUP): gateway pid ${result.gateway?.pid} is healthy` : `restart (SIGHUP) failed (${result.layer}): ${result.message}`);
    });
  }

  /** Passes a signal on to the gateway's process group, after proving who it is. */
  forward(signal: NodeJS.Signals): void {
    if (this.running !== undefined) this.processes.forward(this.running.identity, signal);
  }

  /** Graceful shutdown of the gateway for PID 1's own exit; resolves with its exit status. */
  async shutdown(): Promise<ExitStatus | undefined> {
    this.shuttingDown = true;
    this.cancelRelaunch();
    const running = this.running;
    if (running === undefined) return undefined;
    await this.stopGateway((message) => log(`shutdown: ${message}`));
    return running.exited;
  }

  status(): StatusReport {
    const running = this.running;
    return {
      state: this.state,
      gateway: running
        ? {
            ...running.identity,
            startedAt: new Date(running.launchedAt).toISOString(),
            uptimeSeconds: Math.round((Date.now() - running.launchedAt) / 1000),
          }
        : null,
      restarts: Math.max(0, this.launches - 1),
      crashes: this.crashes,
      lastExit: this.lastExit,
      detail: this.detail,
      capabilities: { gatewayKept: running?.kept ?? null, supervisorKept: this.o.staticStatus.supervisorKept },
      mode: this.o.staticStatus.mode,
      posture: this.o.staticStatus.posture,
    };
  }

  private async doRestart(timeoutMs: number, progress: (message: string) => void): Promise<ControlResult> {
    const deadline = Date.now() + timeoutMs;
    this.cancelRelaunch();
    if (this.running) {
      progress(`stopping gateway pid ${this.running.identity.pid}`);
      await this.stopGateway(progress);
    }
    // An explicit restart is what lifts a quarantine.
    this.history.reset();
    const launched = this.launch();
    if (!launched.ok) {
      this.handleFailedLaunch(launched.layer, launched.message);
      return fail(launched.layer, launched.message);
    }
    progress(`launched gateway pid ${launched.identity.pid}; waiting until it is healthy`);
    const healthy = await this.waitHealthy(launched.identity, deadline);
    if (healthy) return { ok: true, gateway: launched.identity };
    const now = this.running?.identity.pid === launched.identity.pid ? `state ${this.state}` : "it exited";
    return fail("health timeout", `gateway pid ${launched.identity.pid} not healthy within ${Math.round(timeoutMs / 1000)}s (${now})`);
  }

  private launch(): { ok: true; identity: ProcessIdentity } | { ok: false; layer: FailedLayer; message: string } {
    // A restart that was under way when PID 1 was told to shut down must not start another.
    if (this.shuttingDown) return { ok: false, layer: "unavailable", message: "the supervisor is shutting down" };
    const prepared = this.o.prepareLaunch();
    if (!prepared.ok) return prepared;
    const spawned = this.processes.spawn(prepared.launch);
    if (!spawned.ok) return spawned;
    const { identity } = spawned;
    const pid = identity.pid;
    this.launches++;
    let resolveExit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (resolveExit = resolve));
    this.running = { identity, launchedAt: Date.now(), healthySince: undefined, failedProbes: 0, kept: null, expectedExit: false, exited, resolveExit };
    this.setState("starting", `launched; boot grace ${this.o.bootGraceMs / 1000}s`);
    void this.o.afterLaunch(pid).then((kept) => {
      if (this.running?.identity.pid === pid && kept !== undefined) this.running.kept = kept;
    });
    this.prober.schedule(STARTING_PROBE_MS);
    return { ok: true, identity };
  }

  private handleFailedLaunch(layer: FailedLayer, message: string): void {
    if (this.shuttingDown) return;
    this.crashes++;
    const decision = this.history.recordCrash(Date.now());
    const line = layer === "guards missing" ? `refusing unguarded gateway relaunch: ${message}` : `gateway launch failed (${layer}): ${message}`;
    log(line, layer === "guards missing" || layer === "config integrity" ? "[SECURITY]" : "[supervisor]");
    if (decision.kind === "quarantine") {
      this.setState("quarantined", `${decision.reason}; last failure: ${line}`);
      return;
    }
    this.setState("backing-off", `retry in ${decision.delayMs / 1000}s after: ${line}`);
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = undefined;
      const result = this.launch();
      if (!result.ok) this.handleFailedLaunch(result.layer, result.message);
    }, decision.delayMs);
  }

  /** Stops the running gateway; its exit is recorded as expected, never as a crash. */
  private async stopGateway(progress: (message: string) => void): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    running.expectedExit = true;
    this.prober.clear();
    await this.processes.stop(running.identity, running.exited, progress);
  }

  /** What a probe's verdict means for the gateway it was about. */
  private judge(running: Running, result: HealthVerdict): void {
    if (this.running !== running || running.expectedExit) return;
    const now = Date.now();
    if (result.healthy) {
      running.failedProbes = 0;
      running.healthySince ??= now;
      if (this.state !== "healthy") {
        this.setState("healthy", null);
        log(`gateway pid ${running.identity.pid} is healthy (${now - running.launchedAt} ms after launch)`);
      }
      if (now - running.healthySince >= this.o.policy.stableAfterMs) this.history.recordStable();
      this.prober.schedule(this.o.probeIntervalMs);
      return;
    }
    if (this.state === "starting") {
      if (now - running.launchedAt < this.o.bootGraceMs) return this.prober.schedule(STARTING_PROBE_MS);
      return this.watchdogRestart(running, `not healthy within the boot grace of ${this.o.bootGraceMs / 1000}s (${result.detail})`);
    }
    running.failedProbes++;
    this.setState("unhealthy", `${running.failedProbes} failed probe(s): ${result.detail}`);
    if (running.failedProbes >= this.o.unhealthyThreshold) {
      return this.watchdogRestart(running, `${running.failedProbes} failed probes in a row (${result.detail})`);
    }
    this.prober.schedule(this.o.probeIntervalMs);
  }

  private watchdogRestart(running: Running, why: string): void {
    log(`watchdog: gateway pid ${running.identity.pid} ${why}: replacing it`);
    void this.restart({ timeoutMs: this.o.bootGraceMs }, (message) => log(`watchdog: ${message}`));
  }

  private waitHealthy(identity: ProcessIdentity, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (healthy: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(healthy);
      };
      const check = (): void => {
        if (this.running?.identity.pid !== identity.pid) finish(false);
        else if (this.state === "healthy") finish(true);
        else if (Date.now() >= deadline) finish(false);
      };
      const timer = setTimeout(check, Math.max(0, deadline - Date.now()));
      this.waiters.add(check);
      check();
    });
  }

  private cancelRelaunch(): void {
    if (this.relaunchTimer) clearTimeout(this.relaunchTimer);
    this.relaunchTimer = undefined;
  }

  private setState(state: GatewayState, detail: string | null): void {
    this.state = state;
    this.detail = detail;
    for (const check of [...this.waiters]) check();
  }
}

function fail(layer: FailedLayer, message: string): ControlResult {
  return { ok: false, layer, message };
}

export function gatewayStateFile(runDir: string): string {
  return join(runDir, "gateway.json");
}
