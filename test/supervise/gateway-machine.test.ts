// The supervision state machine as a table: state × event → next state and effects, and
// the properties no sequence of events may break (every state has a way out that does not
// depend on a request in flight; a probe is scheduled or running whenever a gateway runs;
// never two gateways; every restart request is answered).
import { describe, expect, it } from "vitest";
import {
  breakerOf,
  initialState,
  isRunningPhase,
  STARTING_PROBE_MS,
  transition,
  wayOut,
  type Effect,
  type MachineConfig,
  type MachineEvent,
  type MachineState,
} from "../../supervisor/supervise/gateway-machine.js";
import type { GatewayState } from "../../supervisor/supervise/control-contract.js";
import type { HealthLayer } from "../../supervisor/supervise/health.js";
import type { StartupPhase } from "../../supervisor/supervise/probe-contracts.js";

const config: MachineConfig = {
  policy: { initialBackoffMs: 1000, maxBackoffMs: 8000, stableAfterMs: 60_000, quarantineAfter: 3, windowMs: 300_000 },
  bootGraceMs: 30_000,
  bootGraceMaxMs: 300_000,
  probeIntervalMs: 5000,
  unhealthyThreshold: 2,
  probationMs: 600_000,
  probationMaxMs: 2_400_000,
  stopGraceMs: 8000,
  restartDrainMs: 330_000,
  restartHandoff: false,
};

const configDefault = () => config;
const identity = (pid: number) => ({ pid, startTime: 1000 + pid, uid: 1001 });

/** A machine driven by events, with a clock, recording every effect. */
class Run {
  state: MachineState;
  now = 1_000_000;
  effects: Effect[] = [];
  private nextPid = 100;

  constructor(readonly config: MachineConfig = configDefault()) {
    this.state = initialState(config);
  }

  send(event: MachineEvent, advanceMs = 0): Effect[] {
    this.now += advanceMs;
    const { state, effects } = transition(this.state, event, this.now, this.config);
    this.state = state;
    this.effects.push(...effects);
    // The driver answers a launch at once: the process exists (or the launch failed).
    for (const effect of effects) if (effect.kind === "launch") this.send({ type: "launched", identity: identity(this.nextPid++) });
    return effects;
  }

  get launch(): number {
    return this.state.gateway!.launch;
  }

  get pid(): number {
    return this.state.gateway!.identity!.pid;
  }

  probe(verdict: "healthy" | "failed" | "unknown", layer?: HealthLayer, startup?: StartupPhase): Effect[] {
    this.send({ type: "probe-due" }, Math.max(0, (this.state.timers.probe ?? this.now) - this.now));
    return this.send({ type: "probe-result", launch: this.launch, verdict, detail: `${verdict} probe`, ...(layer ? { layer } : {}), ...(startup ? { startup } : {}) });
  }

  /** A healthy probe when it is due, whose startup probe gave uptimeMs; its answer came lateMs after it began. */
  healthyProbe(uptimeMs: number, lateMs = 0): Effect[] {
    this.send({ type: "probe-due" }, Math.max(0, (this.state.timers.probe ?? this.now) - this.now));
    return this.send({ type: "probe-result", launch: this.launch, verdict: "healthy", detail: "ok", uptimeMs }, lateMs);
  }

  /** Exit (expected or not) and, when stopping, the driver's stop-done. */
  exit(clean: boolean, description = clean ? "exited with 0" : "killed by SIGKILL"): Effect[] {
    const launch = this.launch;
    const effects = this.send({ type: "exit", launch, description, clean });
    if (this.state.phase === "stopping") effects.push(...this.send({ type: "stop-done", launch, forced: false }));
    return effects;
  }
}

type Setup = (run: Run) => void;

const starting: Setup = (r) => r.send({ type: "boot" });
const healthy: Setup = (r) => {
  starting(r);
  r.probe("healthy");
};
const unhealthy: Setup = (r) => {
  healthy(r);
  r.probe("failed", "listener");
};
const restarting: Setup = (r) => {
  healthy(r);
  r.probe("failed", "startup", "draining");
};
const configError: Setup = (r) => {
  starting(r);
  r.send({ type: "exit", launch: r.launch, description: "exited with 78", clean: false, code: 78, configIdentity: "config-1" });
};
const stopping: Setup = (r) => {
  healthy(r);
  r.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 60_000 });
};
const backingOff: Setup = (r) => {
  healthy(r);
  r.exit(false);
};
const quarantined: Setup = (r) => {
  starting(r);
  for (let i = 0; i < config.policy.quarantineAfter; i++) {
    if (r.state.phase === "backing-off") r.send({ type: "relaunch-due" }, r.state.timers.relaunch! - r.now);
    r.exit(false);
  }
};
const stopped: Setup = (r) => {
  healthy(r);
  r.send({ type: "request", id: 9, kind: "stop", from: "test", timeoutMs: 0 });
  r.exit(true);
};
const SETUPS: Record<GatewayState, Setup> = {
  starting,
  healthy,
  unhealthy,
  restarting,
  stopping,
  "backing-off": backingOff,
  quarantined,
  "config-error": configError,
  stopped,
};

function at(phase: GatewayState): Run {
  const run = new Run();
  SETUPS[phase](run);
  expect(run.state.phase).toBe(phase);
  return run;
}

const kinds = (effects: Effect[]) => effects.filter((e) => e.kind !== "log" && e.kind !== "progress").map((e) => e.kind);

describe("gateway state machine: the table", () => {
  // [state, case, next state, effects other than log/progress, event (built from the run)]
  type Row = [GatewayState, string, GatewayState, string[], (r: Run) => MachineEvent];
  const request = (kind: "restart" | "stop", id = 50): ((r: Run) => MachineEvent) => () => ({ type: "request", id, kind, from: "test", timeoutMs: 60_000 });
  const exitOf = (clean: boolean) => (r: Run): MachineEvent => ({ type: "exit", launch: r.launch, description: clean ? "exited with 0" : "exited with 1", clean });
  const result = (verdict: "healthy" | "failed" | "unknown", layer?: HealthLayer, startup?: StartupPhase) => (r: Run): MachineEvent => ({
    type: "probe-result",
    launch: r.launch,
    verdict,
    detail: verdict,
    ...(layer ? { layer } : {}),
    ...(startup ? { startup } : {}),
  });
  const rows: Row[] = [
    ["starting", "probe due", "starting", ["probe"], () => ({ type: "probe-due" })],
    ["starting", "healthy", "healthy", [], result("healthy")],
    ["starting", "probe failed", "starting", [], result("failed", "listener")],
    ["starting", "probe could not run", "starting", [], result("unknown")],
    ["starting", "progress seen", "starting", [], (r) => ({ type: "progress", launch: r.launch, what: "cpu" })],
    ["starting", "grace expired", "stopping", ["stop"], () => ({ type: "grace-expired" })],
    ["starting", "exit (unexpected)", "backing-off", ["clean-up"], exitOf(false)],
    ["starting", "request restart", "stopping", ["stop"], request("restart")],
    ["starting", "request stop", "stopping", ["stop"], request("stop")],
    ["starting", "shutdown", "stopping", ["stop"], () => ({ type: "shutdown" })],
    ["healthy", "probe failed", "unhealthy", [], result("failed", "http")],
    ["healthy", "startup probe says draining (in-process restart)", "restarting", [], result("failed", "startup", "draining")],
    ["healthy", "startup probe says starting (in-process restart)", "restarting", [], result("failed", "startup", "starting")],
    ["healthy", "listener gone without progress", "unhealthy", [], result("failed", "listener")],
    ["healthy", "probe could not run", "healthy", [], result("unknown")],
    ["healthy", "exit (unexpected, clean)", "backing-off", ["clean-up"], exitOf(true)],
    ["healthy", "request restart", "stopping", ["stop"], request("restart")],
    ["healthy", "request stop", "stopping", ["stop"], request("stop")],
    ["healthy", "shutdown", "stopping", ["stop"], () => ({ type: "shutdown" })],
    ["unhealthy", "healthy", "healthy", [], result("healthy")],
    ["unhealthy", "probe failed (threshold)", "stopping", ["stop"], result("failed", "listener")],
    ["unhealthy", "probe could not run", "unhealthy", [], result("unknown")],
    ["unhealthy", "exit (unexpected)", "backing-off", ["clean-up"], exitOf(false)],
    ["restarting", "probe due", "restarting", ["probe"], () => ({ type: "probe-due" })],
    ["restarting", "listener gone (not counted)", "restarting", [], result("failed", "listener")],
    ["restarting", "started again", "healthy", [], result("healthy")],
    ["restarting", "grace expired", "stopping", ["stop"], () => ({ type: "grace-expired" })],
    ["restarting", "exit (unexpected)", "backing-off", ["clean-up"], exitOf(false)],
    ["restarting", "request restart", "stopping", ["stop"], request("restart")],
    ["restarting", "shutdown", "stopping", ["stop"], () => ({ type: "shutdown" })],
    ["stopping", "exit during a restart (expected)", "stopping", [], exitOf(true)],
    ["stopping", "stop done", "starting", ["launch"], (r) => ({ type: "stop-done", launch: r.launch, forced: false })],
    ["stopping", "request joined", "stopping", [], request("restart")],
    ["stopping", "request stop (busy)", "stopping", ["answer"], request("stop")],
    ["stopping", "probe result ignored", "stopping", [], result("healthy")],
    ["stopping", "shutdown (the restart's drain is cut to the short grace)", "stopping", ["answer", "hasten-stop"], () => ({ type: "shutdown" })],
    ["backing-off", "relaunch due", "starting", ["launch"], () => ({ type: "relaunch-due" })],
    ["backing-off", "request restart", "starting", ["launch"], request("restart")],
    ["backing-off", "request stop", "stopped", ["answer"], request("stop")],
    ["backing-off", "shutdown", "stopped", [], () => ({ type: "shutdown" })],
    ["quarantined", "probation due", "starting", ["launch"], () => ({ type: "probation-due" })],
    ["quarantined", "request restart", "starting", ["launch"], request("restart")],
    ["quarantined", "request start after stop", "stopped", ["answer"], request("stop")],
    ["quarantined", "relaunch due (stale)", "quarantined", [], () => ({ type: "relaunch-due" })],
    ["starting", "exit 78 (a config error: not counted)", "config-error", ["clean-up"], (r) => ({ type: "exit", launch: r.launch, description: "exited with 78", clean: false, code: 78, configIdentity: "c" })],
    ["config-error", "config poll due", "config-error", ["poll-config"], () => ({ type: "config-poll-due" })],
    ["config-error", "config unchanged", "config-error", [], () => ({ type: "config-polled", identity: "config-1" })],
    ["config-error", "config changed", "starting", ["launch"], () => ({ type: "config-polled", identity: "config-2" })],
    ["config-error", "request restart", "starting", ["launch"], request("restart")],
    ["config-error", "request stop", "stopped", ["answer"], request("stop")],
    ["config-error", "shutdown", "stopped", [], () => ({ type: "shutdown" })],
    ["stopped", "request restart (start)", "starting", ["launch"], request("restart")],
    ["stopped", "request stop", "stopped", ["answer"], request("stop")],
    ["stopped", "probe due (stale)", "stopped", [], () => ({ type: "probe-due" })],
    ["stopped", "shutdown", "stopped", [], () => ({ type: "shutdown" })],
  ];

  it.each(rows)("%s × %s → %s", (from, _case, next, effects, event) => {
    const run = at(from);
    const produced = transition(run.state, event(run), run.now, config);
    expect(produced.state.phase).toBe(next);
    expect(kinds(produced.effects)).toEqual(effects);
    expect(wayOut(produced.state, config), JSON.stringify(produced.state)).toBeDefined();
  });

  it("covers every state", () => {
    expect(new Set(rows.map((row) => row[0]))).toEqual(new Set(Object.keys(SETUPS)));
  });
});

describe("gateway state machine: behaviours", () => {
  it("answers a joined restart and keeps probing when the new gateway needs longer than the grace (the restart wedge)", () => {
    const run = at("healthy");
    run.send({ type: "request", id: 1, kind: "restart", from: "supervisor restart", timeoutMs: 300_000 });
    run.exit(true);
    // The new gateway makes progress (CPU time) while it boots slowly.
    for (let t = 0; t < 60; t++) {
      run.send({ type: "progress", launch: run.launch, what: "cpu time" }, 1000);
      if (run.state.timers.probe !== undefined && run.state.timers.probe <= run.now) run.probe("failed", "listener");
    }
    expect(run.state.phase).toBe("starting");
    run.send({ type: "request", id: 2, kind: "restart", from: "SIGHUP", timeoutMs: 300_000 });
    expect(run.effects).toContainEqual({ kind: "progress", id: 2, message: "joining the restart already under way" });
    expect(run.state.timers.probe ?? (run.state.probing ? run.now : undefined)).toBeDefined();
    run.probe("healthy");
    expect(run.state.phase).toBe("healthy");
    const answers = run.effects.filter((e) => e.kind === "answer");
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
    for (const a of answers) expect(a.kind === "answer" && a.result.ok).toBe(true);
  });

  it("replaces a boot without progress after the grace, counts it as a failed boot and backs off, then quarantines", () => {
    const run = at("starting");
    for (let boot = 1; boot <= config.policy.quarantineAfter; boot++) {
      run.send({ type: "grace-expired" }, config.bootGraceMs);
      expect(run.state.phase).toBe("stopping");
      run.exit(true);
      expect(run.state.failedBoots).toBe(boot);
      if (boot < config.policy.quarantineAfter) {
        expect(run.state.phase).toBe("backing-off");
        run.send({ type: "relaunch-due" }, run.state.timers.relaunch! - run.now);
      }
    }
    expect(run.state.phase).toBe("quarantined");
    expect(run.state.detail).toMatch(/^3 failed boots within 300s; last: gateway pid \d+ not healthy and no progress for 30s; probation relaunch at /);
    expect(run.state.crashes).toBe(0);
  });

  it("extends the grace with progress only up to the cap", () => {
    const run = at("starting");
    const launchedAt = run.now;
    for (let t = 0; t < 400; t++) run.send({ type: "progress", launch: run.launch, what: "cpu" }, 1000);
    expect(run.state.timers.grace).toBe(launchedAt + config.bootGraceMaxMs);
    run.send({ type: "grace-expired" });
    expect(run.state.detail).toBe("watchdog: not healthy within the boot grace cap of 300s");
  });

  it("never holds a probe that could not run against the gateway", () => {
    const run = at("healthy");
    for (let i = 0; i < 10; i++) run.probe("unknown");
    expect(run.state.phase).toBe("healthy");
    expect(run.state.detail).toBe("health unknown: unknown probe");
    const boot = at("starting");
    boot.probe("unknown");
    boot.send({ type: "grace-expired" }, config.bootGraceMs);
    expect(boot.state.phase).toBe("starting");
  });

  it("retries a launch that failed for want of a resource with backoff, never quarantining", () => {
    const run = at("healthy");
    run.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 60_000 });
    const launch = run.launch;
    run.send({ type: "exit", launch, description: "exited with 0", clean: true });
    // Feed the stop-done by hand so the failed launch can be answered instead of "launched".
    const { state } = transition(run.state, { type: "stop-done", launch, forced: false }, run.now, config);
    let s = state;
    for (let i = 0; i < 10; i++) {
      const failed = transition(s, { type: "launch-failed", layer: "guards missing", message: "ENOSPC: no space left on device", resource: "disk space in /tmp (ENOSPC)" }, run.now, config);
      s = failed.state;
      expect(s.phase).toBe("backing-off");
      expect(s.detail).toMatch(/^relaunch in .* after: waiting for disk space in \/tmp \(ENOSPC\)/);
      s = transition(s, { type: "relaunch-due" }, run.now, config).state;
    }
    expect(s.crashes).toBe(0);
  });

  it("relaunches a quarantined gateway on probation; a crash doubles the cool-down, stability lifts the quarantine", () => {
    const run = at("quarantined");
    expect(run.state.timers.probation).toBe(run.now + config.probationMs);
    run.send({ type: "probation-due" }, config.probationMs);
    expect(run.state.gateway?.probation).toBe(true);
    run.exit(false);
    expect(run.state.phase).toBe("quarantined");
    expect(run.state.probationDelayMs).toBe(2 * config.probationMs);
    run.send({ type: "probation-due" }, run.state.timers.probation! - run.now);
    run.probe("healthy");
    run.now += config.policy.stableAfterMs;
    run.probe("healthy");
    expect(run.effects.at(-1)).toMatchObject({ kind: "log" });
    expect(run.state.gateway?.probation).toBe(false);
    expect(run.state.probationDelayMs).toBe(config.probationMs);
    expect(run.state.history.failures).toEqual([]);
  });

  it("disables probation with 0", () => {
    const run = new Run();
    const noProbation = { ...config, probationMs: 0 };
    let s = run.state;
    s = transition(s, { type: "boot" }, 0, noProbation).state;
    for (let i = 0; i < 3; i++) {
      s = transition(s, { type: "launched", identity: identity(10 + i) }, 0, noProbation).state;
      s = transition(s, { type: "exit", launch: s.gateway!.launch, description: "exited with 1", clean: false }, 0, noProbation).state;
      if (s.phase === "backing-off") s = transition(s, { type: "relaunch-due" }, 0, noProbation).state;
    }
    expect(s.phase).toBe("quarantined");
    expect(s.timers).toEqual({});
    expect(s.detail).toMatch(/no relaunch until 'supervisor restart'$/);
  });

  it("reckons OpenClaw's breaker from unclean boots; restarts that stop cleanly never trip it", () => {
    const run = new Run({ ...config, policy: { ...config.policy, quarantineAfter: 10 } });
    healthy(run);
    for (let i = 0; i < 5; i++) {
      run.send({ type: "request", id: 10 + i, kind: "restart", from: "test", timeoutMs: 60_000 });
      run.exit(true);
      run.probe("healthy");
    }
    expect(breakerOf(run.state, run.now)).toEqual({ tripped: false, uncleanBoots: 0, windowSeconds: 300 });
    for (let i = 0; i < 3; i++) {
      run.exit(false);
      run.send({ type: "relaunch-due" }, run.state.timers.relaunch! - run.now);
    }
    expect(breakerOf(run.state, run.now)).toEqual({ tripped: true, uncleanBoots: 3, windowSeconds: 300 });
    expect(breakerOf(run.state, run.now + 300_000).tripped).toBe(false);
  });

  it("answers a restart whose gateway exits before it is healthy at once", () => {
    const run = at("healthy");
    run.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 60_000 });
    run.exit(true);
    run.send({ type: "exit", launch: run.launch, description: "exited with 1", clean: false });
    expect(run.effects.find((e) => e.kind === "answer")).toEqual({
      kind: "answer",
      id: 1,
      result: { ok: false, layer: "launch failure", message: expect.stringMatching(/^gateway pid \d+ exited with 1 before it was healthy$/) },
    });
    expect(run.state.phase).toBe("backing-off");
  });

  it("gives a requested restart or stop the drain budget, a request's own budget, and PID 1's shutdown the short grace", () => {
    const stopOf = (effects: Effect[]) => effects.find((e): e is Extract<Effect, { kind: "stop" }> => e.kind === "stop");
    const restart = at("healthy");
    expect(stopOf(restart.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 60_000 }))?.graceMs).toBe(config.restartDrainMs);
    const waited = at("healthy");
    expect(stopOf(waited.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 60_000, drainMs: 3000 }))?.graceMs).toBe(3000);
    const stop = at("healthy");
    expect(stopOf(stop.send({ type: "request", id: 1, kind: "stop", from: "test", timeoutMs: 0 }))?.graceMs).toBe(config.restartDrainMs);
    const shutdown = at("healthy");
    expect(stopOf(shutdown.send({ type: "shutdown" }))?.graceMs).toBe(config.stopGraceMs);
    // A shutdown during a long drain cuts it to the short grace, counted from the shutdown.
    const hastened = restart.send({ type: "shutdown" }, 1000).find((e) => e.kind === "hasten-stop");
    expect(hastened).toEqual({ kind: "hasten-stop", launch: restart.launch, graceMs: config.stopGraceMs });
  });

  it("counts a restart's health deadline from its launch, not from the request: the drain has its own budget", () => {
    const run = at("healthy");
    const pid = run.pid;
    run.send({ type: "request", id: 1, kind: "restart", from: "test", timeoutMs: 10_000 });
    expect(run.state.requests[0]!.deadline).toBeNull();
    run.now += 200_000; // a long drain
    run.exit(true);
    expect(run.pid).not.toBe(pid);
    expect(run.state.requests[0]!.deadline).toBe(run.now + 10_000);
  });

  it("recognises an in-process restart (listener gone while computing) and never counts it", () => {
    const run = at("healthy");
    const pid = run.pid;
    // CPU time from before the listener went away proves nothing: the first failure counts.
    run.send({ type: "progress", launch: run.launch, what: "cpu", since: run.now - 1000 }, 4000);
    run.probe("failed", "listener");
    expect(run.state).toMatchObject({ phase: "unhealthy" });
    // CPU time measured after it went away: it is restarting, not deaf.
    run.send({ type: "progress", launch: run.launch, what: "cpu", since: run.now }, 1000);
    run.probe("failed", "listener");
    expect(run.state.phase).toBe("restarting");
    for (let i = 0; i < 10; i++) run.probe("failed", "listener");
    expect(run.state.phase).toBe("restarting");
    run.probe("failed", "startup", "starting");
    run.probe("healthy");
    expect(run.state).toMatchObject({ phase: "healthy", crashes: 0, failedBoots: 0, launches: 1 });
    expect(run.pid).toBe(pid);
    expect(run.effects.some((e) => e.kind === "log" && /restarted in process and is healthy again/.test(e.message))).toBe(true);
  });

  it("takes CPU sampled after the first failing verdict, never a sample that reaches back before it (the listener closing)", () => {
    const run = new Run({ ...configDefault(), unhealthyThreshold: 3 });
    SETUPS.healthy(run);
    const result = (advanceMs: number) => run.send({ type: "probe-result", launch: run.launch, verdict: "failed", detail: "nothing listens", layer: "listener" }, advanceMs);
    // Probe k finds the listener gone; its sample covers the time before, the closing included.
    expect(run.send({ type: "probe-due" }, run.state.timers.probe! - run.now)).toContainEqual(expect.objectContaining({ kind: "probe", failing: false }));
    run.send({ type: "progress", launch: run.launch, what: "cpu", since: run.now - 1000 });
    result(20);
    expect(run.state.phase).toBe("unhealthy");
    // Probe k+1's sample began where probe k began, before its verdict: no proof.
    const started = run.now - 20;
    expect(run.send({ type: "probe-due" }, run.state.timers.probe! - run.now)).toContainEqual(expect.objectContaining({ kind: "probe", failing: true }));
    run.send({ type: "progress", launch: run.launch, what: "90 ms of CPU time in 318 ms", since: started });
    result(20);
    expect(run.state).toMatchObject({ phase: "unhealthy" });
    // Probe k+2's sample began after that verdict: working without a listener is restarting.
    const next = run.now;
    run.send({ type: "probe-due" }, run.state.timers.probe! - run.now);
    run.send({ type: "progress", launch: run.launch, what: "cpu", since: next });
    result(20);
    expect(run.state).toMatchObject({ phase: "restarting", crashes: 0 });
  });

  it("takes no CPU from a probe whose connection the listener reset as it closed: a deaf gateway closing it is not restarting", () => {
    const run = at("healthy");
    const failed = (layer: "liveness" | "listener", detail: string) =>
      run.send({ type: "probe-result", launch: run.launch, verdict: "failed", detail, layer }, 20);
    run.send({ type: "probe-due" }, run.state.timers.probe! - run.now);
    const started = run.now;
    // The listener closed while this probe ran: its connection was reset.
    failed("liveness", "GET /healthz: read ECONNRESET");
    expect(run.state.phase).toBe("unhealthy");
    // The next probe's sample covers that probe, closing included: it is no proof of work.
    run.send({ type: "probe-due" }, run.state.timers.probe! - run.now);
    run.send({ type: "progress", launch: run.launch, what: "10 ms of CPU time in 261 ms", since: started });
    failed("listener", "nothing listens");
    expect(run.state).toMatchObject({ phase: "stopping", after: "replace" });
  });

  it("never takes a deaf gateway that stays idle for a restarting one", () => {
    const run = at("healthy");
    run.send({ type: "progress", launch: run.launch, what: "cpu", since: run.now - 500 }, 100);
    run.probe("failed", "listener");
    run.probe("failed", "listener");
    expect(run.state).toMatchObject({ phase: "stopping", after: "replace" });
  });

  it("sees an in-process restart that fit between two probes by the uptime going back, and does not count it", () => {
    const run = at("healthy");
    run.healthyProbe(60_000);
    run.healthyProbe(65_000);
    run.healthyProbe(1_200);
    expect(run.state.gateway!.inProcessRestarts).toBe(1);
    expect(run.state).toMatchObject({ phase: "healthy", crashes: 0, launches: 1 });
    expect(run.effects.some((e) => e.kind === "log" && /uptime went back from 65s to 1.2s/.test(e.message))).toBe(true);
  });

  it("sees an in-process restart soon after a probe, whose uptime at the next probe is more than at that one", () => {
    const run = at("healthy");
    // Up 1 s at one probe; restarted after it, and up again for 1.5 s at the next (5 s on):
    // more uptime than before, but a run that began 4.5 s after the one seen.
    run.healthyProbe(1_000);
    run.healthyProbe(config.probeIntervalMs - 3_500);
    // The same run, probed again: no second restart.
    run.healthyProbe(2 * config.probeIntervalMs - 3_500);
    expect(run.state.gateway!.inProcessRestarts).toBe(1);
    expect(run.state).toMatchObject({ phase: "healthy", crashes: 0, launches: 1 });
    expect(run.effects.filter((e) => e.kind === "log" && /restarted in process since the last probe \(its uptime of [\d.]+s began 4.5s after the run the last probe saw\)/.test(e.message))).toHaveLength(1);
  });

  it("takes a gateway whose uptime grows with the clock for one run, within the slack", () => {
    const run = at("healthy");
    run.healthyProbe(10_000);
    // Answered 900 ms into a probe whose result came at once: the clocks disagree by < 1 s.
    run.healthyProbe(10_000 + config.probeIntervalMs - 900);
    run.healthyProbe(10_000 + 2 * config.probeIntervalMs, 400);
    expect(run.state.gateway!.inProcessRestarts).toBe(0);
  });

  it("replaces a gateway whose in-process restart shows no progress for the grace, as a failed boot", () => {
    const run = at("restarting");
    run.send({ type: "grace-expired" }, config.bootGraceMs);
    expect(run.state).toMatchObject({ phase: "stopping", after: "failed boot" });
    expect(run.state.detail).toMatch(/after its in-process restart and no progress/);
  });

  it("with restart handoffs, an exit 0 the handoff accepts relaunches at once, uncounted; one it refuses is a crash", () => {
    const handoff = { ...config, restartHandoff: true };
    const accepted = new Run(handoff);
    healthy(accepted);
    const pid = accepted.pid;
    const asked = accepted.send({ type: "exit", launch: accepted.launch, description: "exited with 0", clean: true, code: 0 });
    expect(asked.filter((e) => e.kind === "consume-handoff")).toEqual([{ kind: "consume-handoff", launch: 1, identity: identity(pid) }]);
    expect(accepted.state.phase).toBe("restarting");
    expect(wayOut(accepted.state, handoff)).toBe("handoff answer or its timeout");
    accepted.send({ type: "handoff-result", launch: 1, accepted: true, detail: "SIGUSR2, signal" });
    expect(accepted.state).toMatchObject({ phase: "starting", crashes: 0, launches: 2, lastExit: { expected: true } });

    const refused = new Run(handoff);
    healthy(refused);
    refused.send({ type: "exit", launch: refused.launch, description: "exited with 0", clean: true, code: 0 });
    refused.send({ type: "handoff-result", launch: 1, accepted: false, detail: "consume answered none/missing" });
    expect(refused.state).toMatchObject({ phase: "backing-off", crashes: 1 });

    const silent = new Run(handoff);
    healthy(silent);
    silent.send({ type: "exit", launch: silent.launch, description: "exited with 0", clean: true, code: 0 });
    silent.send({ type: "grace-expired" }, 90_000);
    expect(silent.state).toMatchObject({ phase: "backing-off", crashes: 1 });

    // Without handoffs (the default), an exit 0 is a crash at once.
    const plain = at("healthy");
    plain.send({ type: "exit", launch: plain.launch, description: "exited with 0", clean: true, code: 0 });
    expect(plain.state).toMatchObject({ phase: "backing-off", crashes: 1 });
  });

  it("waits in config-error for a launch the config refuses, never counting it, and launches once the config changes", () => {
    const run = at("starting");
    const failures = { type: "launch-failed" as const, layer: "config integrity" as const, message: "openclaw.json is not valid JSON", configIdentity: "c1" };
    run.send({ type: "exit", launch: run.launch, description: "exited with 1", clean: false, code: 1 });
    run.send({ type: "relaunch-due" }, run.state.timers.relaunch! - run.now);
    // As if the driver had not started it: its preparation found the config wanting.
    run.state.gateway!.identity = null;
    run.effects = [];
    // The relaunch is refused for the config: no crash, no backoff, a poll of the config instead.
    const crashes = run.state.crashes;
    run.send(failures);
    expect(run.state).toMatchObject({ phase: "config-error", crashes, configError: { identity: "c1" } });
    expect(run.state.timers).toEqual({ configPoll: run.now + 2000 });
    for (let i = 0; i < 20; i++) {
      run.send({ type: "config-poll-due" }, 2000);
      run.send({ type: "config-polled", identity: "c1" });
    }
    expect(run.state.phase).toBe("config-error");
    expect(run.effects.filter((e) => e.kind === "launch")).toHaveLength(0);
    run.send({ type: "config-poll-due" }, 2000);
    run.send({ type: "config-polled", identity: "c2" });
    expect(run.state).toMatchObject({ phase: "starting", crashes, configError: null });
  });

  it("waits out a port another uid holds when the new gateway exits with it, never counting a crash", () => {
    const run = at("starting");
    run.send({ type: "exit", launch: run.launch, description: "exited with 1", clean: false, code: 1, portHeld: "the gateway's port 18789 (held by uid 1000)" });
    expect(run.state).toMatchObject({ phase: "backing-off", crashes: 0, resourceRetries: 1 });
    expect(run.state.detail).toMatch(/waiting for the gateway's port 18789 \(held by uid 1000\)/);
  });

  it("logs one line per state change", () => {
    const run = at("healthy");
    const logs = run.effects.filter((e) => e.kind === "log").map((e) => (e.kind === "log" ? e.message : ""));
    expect(logs).toContain("gateway state stopped -> starting: boot grace 30s without progress, at most 300s");
    expect(logs.filter((l) => l.startsWith("gateway state starting -> healthy"))).toHaveLength(1);
  });
});

describe("gateway state machine: properties under random events", () => {
  it("always has a way out, probes whenever a gateway runs, never launches a second gateway, answers every request", () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let walk = 0; walk < 200; walk++) {
      const run = new Run();
      run.send({ type: "boot" });
      let nextId = 1;
      const asked = new Set<number>();
      for (let i = 0; i < 150; i++) {
        const s = run.state;
        const launch = s.gateway?.launch ?? 0;
        const options: MachineEvent[] = [
          { type: "probe-due" },
          { type: "probe-result", launch, verdict: (["healthy", "failed", "unknown"] as const)[random(3)]!, layer: (["listener", "http"] as const)[random(2)]!, detail: "x" },
          { type: "progress", launch, what: "cpu" },
          { type: "grace-expired" },
          { type: "exit", launch, description: "exited with 1", clean: random(2) === 0 },
          { type: "stop-done", launch, forced: random(2) === 0 },
          { type: "relaunch-due" },
          { type: "probation-due" },
          { type: "request", id: nextId, kind: random(3) === 0 ? "stop" : "restart", from: "walk", timeoutMs: 1000 + random(100_000) },
          { type: "request-deadline", id: 1 + random(nextId) },
          ...(random(40) === 0 ? [{ type: "shutdown" } as const] : []),
        ];
        const event = options[random(options.length)]!;
        if (event.type === "request") asked.add(nextId++);
        // The driver only reports a stop done after the gateway's exit.
        if (event.type === "stop-done" && s.gateway?.exit === null) continue;
        const before = run.state;
        const effects = run.send(event, random(STARTING_PROBE_MS * 40));
        const launches = effects.filter((e) => e.kind === "launch");
        expect(launches.length).toBeLessThanOrEqual(1);
        if (launches.length > 0) expect(before.gateway === null || event.type === "stop-done").toBe(true);
        const after = run.state;
        expect(wayOut(after, config), JSON.stringify({ event, after })).toBeDefined();
        if (isRunningPhase(after.phase)) expect(after.timers.probe !== undefined || after.probing).toBe(true);
        for (const e of run.effects) if (e.kind === "answer") asked.delete(e.id);
      }
      // Whatever is still waiting is answered by its deadline, or by shutdown.
      for (const r of run.state.requests) run.send({ type: "request-deadline", id: r.id });
      run.send({ type: "shutdown" });
      for (const e of run.effects) if (e.kind === "answer") asked.delete(e.id);
      expect([...asked]).toEqual([]);
    }
  });
});

describe("log lines an alert can key on", () => {
  const logs = (r: Run) => r.effects.filter((e): e is Extract<Effect, { kind: "log" }> => e.kind === "log");

  it("names a crash at warn with its pid and exit, and quarantine at error", () => {
    const r = new Run();
    backingOff(r);
    const crash = logs(r).find((e) => e.event === "gateway.crash")!;
    expect(crash).toMatchObject({ level: "warn", fields: { pid: 100, exit: expect.stringMatching(/exited|killed/) } });
    expect(logs(r).find((e) => e.event === "gateway.state" && e.fields?.to === "backing-off")).toMatchObject({ level: "info", fields: { from: "healthy" } });
    const q = new Run();
    quarantined(q);
    expect(logs(q).filter((e) => e.level === "error").map((e) => e.event)).toEqual(["gateway.quarantine", "gateway.state"]);
  });

  it("names a restart request with who asked, and the launch's health", () => {
    const r = new Run();
    healthy(r);
    r.send({ type: "request", id: 1, kind: "restart", from: "signal SIGHUP", timeoutMs: 60_000 });
    const events = new Set(logs(r).map((e) => e.event));
    expect(events).toEqual(new Set(["gateway.state", "gateway.healthy", "restart.request"]));
    expect(logs(r).find((e) => e.event === "restart.request")!.fields).toMatchObject({ requestedBy: "signal SIGHUP" });
  });
});
