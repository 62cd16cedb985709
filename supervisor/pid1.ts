// The composition root of `supervisor boot`: the one place that wires the stages into PID 1
// of a sandbox. The boot chain (boot/) prepares a launch; for a one-shot command the init
// loop (init/) runs it; for the gateway, the supervise loop (supervise/) owns it, the reaper
// and PID 1's signals (init/) and the control socket (control/) only hand it events.
//
// What ends the supervisor in gateway mode is TERM, INT or QUIT: the gateway is stopped
// (TERM, grace, SIGKILL of its tree), everything else left in the namespace is killed, and
// PID 1 exits with the gateway's status from that stop (128 + N if there was none to stop).
//
// The supervise and control stages are imported only for the gateway: a one-shot boot never
// evaluates them (node:http, node:net), a tenth of its start-up.
import { constants } from "node:os";
import { prepareBoot, type BootOptions, type PreparedGateway, type PreparedOneShot } from "./boot/chain.js";
import { MIRROR_INTERVAL_MS, type ConfigMirror } from "./boot/config-mirror.js";
import { buildLaunch, reportChildCapabilities } from "./boot/launch.js";
import { removeTokenFile } from "./boot/token-delivery.js";
import { exitWith, STATUS } from "./init/exit.js";
import { runInitLoop } from "./init/init-loop.js";
import { startPid1Skeleton, type Pid1Skeleton } from "./init/pid1-skeleton.js";
import { secondBootProblem } from "./init/second-boot.js";
import { shellStatus } from "./init/wait-status.js";
import { contained } from "./shared/contained.js";
import { errorMessage, firstLine } from "./shared/errors.js";
import { log, logInternalError } from "./shared/log.js";
import type { NativeAddon } from "./shared/native.js";
import { SHUTDOWN_SIGNALS } from "./shared/signals.js";
import { withPort, type Settings } from "./shared/settings.js";
import type { ControlHandler } from "./supervise/control-contract.js";
import type { GatewayDriver } from "./supervise/gateway-driver.js";
import { readIdentity } from "./supervise/identity.js";
import { HANDOFF_TIMEOUT_MS, type MachineConfig } from "./supervise/gateway-machine.js";

export function bootSandbox(options: BootOptions): void {
  const second = secondBootProblem();
  if (second !== undefined) exitWith(STATUS.refused, `boot refused: ${second}`, { event: "boot.refused" });
  let prepared;
  try {
    prepared = prepareBoot(options);
  } catch (error) {
    // Anything not refused on purpose in the chain is still one line, not a stack trace.
    exitWith(STATUS.ownFailure, `boot failed: ${firstLine(error)}`);
  }
  if (prepared.kind === "one-shot") return runOneShot(prepared);
  serveGateway(prepared).catch((error: unknown) => exitWith(STATUS.ownFailure, `boot failed: ${firstLine(error)}`));
}

/** `boot -- CMD`: the one command as the sandbox user under the init loop, its status PID 1's. */
function runOneShot({ addon, plan, settings, dropsApplied }: PreparedOneShot): void {
  const role = `one-shot '${plan.command[0]}'`;
  const who = plan.user?.name ?? `uid ${process.getuid!()}`;
  runInitLoop({
    addon,
    graceSeconds: settings.stopGraceSeconds,
    launch: buildLaunch(plan, process.env, dropsApplied),
    afterLaunch: (pid, abort) => {
      log(`launch: ${role} pid ${pid} as ${who}`);
      if (plan.user === undefined) return;
      void reportChildCapabilities(role, pid).then((kept) => {
        if (kept?.length && settings.requireCapDrop) abort(STATUS.refused, `${role} kept capabilities; SUPERVISOR_REQUIRE_CAP_DROP=1: stopped it`);
      });
    },
  });
}

async function serveGateway(prepared: PreparedGateway): Promise<void> {
  // Loaded before anything is wired, so that from the first signal handler on all is synchronous.
  const [{ GatewayDriver, gatewayStateFile }, { readPortProtection }, { RestartHandoff }, { startControlServer }, { controlSocketPath }] = await Promise.all([
    import("./supervise/gateway-driver.js"),
    import("./supervise/port-guard.js"),
    import("./supervise/restart-handoff.js"),
    import("./control/server.js"),
    import("./control/protocol.js"),
  ]);
  const { settings } = prepared;
  warnIfNoPidfd(prepared.addon);
  const driver = new GatewayDriver({
    addon: prepared.addon,
    prepareLaunch: prepared.prepareLaunch,
    checkLaunch: prepared.checkLaunch,
    configIdentity: prepared.configIdentity,
    afterLaunch: (pid) => {
      log(`launch: gateway pid ${pid} as ${prepared.gatewayName}`, { event: "gateway.launch", fields: { pid, user: prepared.gatewayName } });
      return prepared.rootMode ? reportChildCapabilities("gateway", pid, prepared.gatewayCaps) : Promise.resolve([]);
    },
    restartHandoff: prepared.handoffLaunch && new RestartHandoff(prepared.handoffLaunch, HANDOFF_TIMEOUT_MS),
    gatewayUid: prepared.gatewayUid,
    killStraysByUid: prepared.rootMode,
    port: settings.gatewayPort,
    urls: {
      health: withPort(settings.healthUrl, settings.gatewayPort),
      liveness: withPort(settings.livenessUrl, settings.gatewayPort),
      startup: withPort(settings.startupUrl, settings.gatewayPort),
      readiness: withPort(settings.readinessUrl, settings.gatewayPort),
    },
    healthMode: settings.healthMode,
    machine: machineConfig(settings),
    probeTimeoutMs: settings.probeTimeoutSeconds * 1000,
    stopGraceMs: settings.stopGraceSeconds * 1000,
    stateFile: gatewayStateFile(settings.runDir),
    staticStatus: { mode: prepared.rootMode ? "root" : "non-root", posture: settings.posture, supervisorKept: prepared.supervisorKept },
  });
  installLastResortHandlers();
  const pid1 = new GatewayPid1(driver, prepared.addon, settings, prepared.releaseConfigLock);
  runMirror(prepared.mirror);
  // The status report gains whether the port is protected, read afresh for each request.
  const handler: ControlHandler = {
    restart: (request, progress) => driver.restart(request, progress),
    startIfStopped: (request, progress) => driver.startIfStopped(request, progress),
    stop: (progress, from, drainMs) => driver.stop(progress, from, drainMs),
    status: () => ({ ...driver.status(), port: readPortProtection(settings.gatewayPort) }),
  };
  // Without the socket, HUP still restarts the gateway.
  void startControlServer(controlSocketPath(settings), handler).then(
    (server) => log(`control: listening on ${server.socketPath}`, { event: "control.listening", fields: { socket: server.socketPath } }),
    (error: unknown) => log(`control: socket unavailable (${errorMessage(error)}); HUP still restarts the gateway`, { event: "control.unavailable", level: "error" }),
  );
  pid1.start();
}

/** PID 1 in gateway mode: signals routed to the driver, and the one way out. */
class GatewayPid1 {
  private readonly skeleton: Pid1Skeleton;
  private shuttingDown = false;

  constructor(
    private readonly driver: GatewayDriver,
    addon: NativeAddon,
    private readonly settings: Settings,
    private readonly releaseConfigLock: (() => string) | undefined,
  ) {
    this.skeleton = startPid1Skeleton(addon, (pid, rawStatus) => driver.onReaped(pid, rawStatus), (signal) => this.onSignal(signal));
  }

  /** The first launch, then the signals caught during start-up and the boot chain. */
  start(): void {
    void this.driver.start();
    for (const signal of this.skeleton.early) this.onSignal(signal);
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.shuttingDown) return;
    if (SHUTDOWN_SIGNALS.has(signal)) return void this.shutdown(signal);
    // HUP means restart (docs/signals-and-exit-codes.md); the other signals are the gateway's.
    if (signal === "SIGHUP") return this.driver.restartFromSignal();
    this.driver.forward(signal);
  }

  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    this.shuttingDown = true;
    log(`received ${signal}: stopping the gateway (grace ${this.settings.stopGraceSeconds}s)`, { event: "shutdown.signal", fields: { signal } });
    let stopped: Awaited<ReturnType<GatewayDriver["shutdown"]>> = undefined;
    try {
      stopped = await this.driver.shutdown();
    } catch (error) {
      logInternalError(`stopping the gateway: ${errorMessage(error)}; killing everything`);
    }
    // This boot's token dies with it: the next boot's must be the only one to be read.
    contained("removing the token file", () => removeTokenFile(this.settings));
    const release = this.releaseConfigLock;
    if (release !== undefined) contained("clearing the config lock", () => log(release(), { event: "shutdown.config-lock" }));
    this.skeleton.killAllOthers();
    this.skeleton.reaper.reapNow();
    // The gateway's own status when it stopped by itself; 128 + the signal PID 1 received when
    // there was none, or when PID 1 had to kill it: 137 stays what a kill from outside means.
    const status = stopped?.status !== undefined && !stopped.forced ? shellStatus(stopped.status) : 128 + constants.signals[signal];
    exitWith(status, "gateway stopped; exiting", { level: "info", event: "supervisor.exit" });
  }
}

/** The mutable posture's config mirror, one contained pass every MIRROR_INTERVAL_MS. */
function runMirror(mirror: ConfigMirror | undefined): void {
  if (mirror === undefined) return;
  setInterval(() => contained("the config mirror", () => void mirror.sync()), MIRROR_INTERVAL_MS);
}

/** The last line of defence of "PID 1 cannot crash": whatever still escapes is one log line. */
function installLastResortHandlers(): void {
  process.on("uncaughtException", (error) => logInternalError(`(uncaught): ${firstLine(error)}`));
  process.on("unhandledRejection", (error) => logInternalError(`(unhandled rejection): ${firstLine(error)}`));
}

/**
 * Signals to strays go through pidfds; without them a recycled pid is only ruled out by the
 * start-time check just before kill(), which leaves a window of microseconds. Under
 * qemu-user the emulator answers /proc/<own pid>/stat itself, with zeros: a check that
 * cannot be made is not reported as a missing protection.
 */
function warnIfNoPidfd(addon: NativeAddon): void {
  let unavailable = false;
  try {
    const ownStartTime = readIdentity(process.pid)?.startTime;
    unavailable = ownStartTime !== undefined && addon.pidfdSignal(process.pid, ownStartTime, 0) === 1;
  } catch {
    unavailable = false;
  }
  if (unavailable) log("pidfd_open is unavailable (old kernel or seccomp): signals are checked by start time just before kill()", "[SECURITY]");
}

function machineConfig(settings: Settings): MachineConfig {
  return {
    policy: {
      initialBackoffMs: settings.backoffInitialSeconds * 1000,
      maxBackoffMs: settings.backoffMaxSeconds * 1000,
      stableAfterMs: settings.stableAfterSeconds * 1000,
      quarantineAfter: settings.quarantineAfter,
      windowMs: settings.quarantineWindowSeconds * 1000,
    },
    bootGraceMs: settings.bootGraceSeconds * 1000,
    bootGraceMaxMs: settings.bootGraceMaxSeconds * 1000,
    probeIntervalMs: settings.probeIntervalSeconds * 1000,
    unhealthyThreshold: settings.unhealthyThreshold,
    probationMs: settings.probationSeconds * 1000,
    probationMaxMs: settings.probationMaxSeconds * 1000,
    stopGraceMs: settings.stopGraceSeconds * 1000,
    restartDrainMs: settings.restartDrainSeconds * 1000,
    restartHandoff: settings.gatewayRestarts === "handoff",
  };
}
