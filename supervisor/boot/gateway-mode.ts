// PID 1 in gateway mode: the supervise loop owns the gateway; the reaper, PID 1's signals
// and the control socket only hand events to it. What ends the supervisor is TERM, INT
// or QUIT: the gateway is stopped (TERM, grace, SIGKILL of its tree), everything else
// left in the namespace is killed, and PID 1 exits with the gateway's status from that
// stop (128 + N if there was no gateway to stop).
import { startControlServer } from "../control/server.js";
import { controlSocketPath } from "../control/protocol.js";
import { exitWith } from "../init/exit.js";
import { readIdentity } from "../supervise/identity.js";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { Reaper } from "../init/reaper.js";
import type { Settings } from "../shared/settings.js";
import { withPort } from "../shared/settings.js";
import { takeEarlySignals } from "../init/early-signals.js";
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from "../init/signals.js";
import { contained, GatewaySupervisor, gatewayStateFile, type PreparedLaunch } from "../supervise/supervisor.js";
import type { ControlHandler } from "../supervise/gateway-state.js";
import { readPortProtection } from "../supervise/port-guard.js";
import { removeTokenFile } from "./token-delivery.js";
import { shellStatus } from "../init/wait-status.js";
import { constants } from "node:os";
import type { MachineConfig } from "../supervise/gateway-machine.js";

export interface GatewayServiceOptions {
  addon: NativeAddon;
  settings: Settings;
  rootMode: boolean;
  gatewayUid: number;
  prepareLaunch: () => PreparedLaunch;
  afterLaunch: (pid: number) => Promise<string[] | undefined>;
  supervisorKept: string[];
}

// Under qemu-user the emulator answers /proc/<own pid>/stat itself, with zeros; a check
// that cannot be made is not reported as a missing protection.
function pidfdUnavailable(addon: NativeAddon): boolean {
  try {
    const ownStartTime = readIdentity(process.pid)?.startTime;
    return ownStartTime !== undefined && addon.pidfdSignal(process.pid, ownStartTime, 0) === 1;
  } catch {
    return false;
  }
}

export function serveGateway(o: GatewayServiceOptions): void {
  const { settings } = o;
  const isPid1 = process.pid === 1;
  if (!isPid1 && !o.addon.setChildSubreaper()) {
    log("not PID 1 and cannot become a child subreaper: orphaned processes will not be reaped by the supervisor");
  }
  // Signals to strays go through pidfds; without them a recycled pid is only ruled out by
  // the start-time check just before kill(), which leaves a window of microseconds.
  if (pidfdUnavailable(o.addon)) {
    log("pidfd_open is unavailable (old kernel or seccomp): signals are checked by start time just before kill()", "[SECURITY]");
  }
  const supervisor = new GatewaySupervisor({
    addon: o.addon,
    prepareLaunch: o.prepareLaunch,
    afterLaunch: o.afterLaunch,
    gatewayUid: o.gatewayUid,
    killStraysByUid: o.rootMode,
    port: settings.gatewayPort,
    healthUrl: withPort(settings.healthUrl, settings.gatewayPort),
    healthMode: settings.healthMode,
    machine: machineConfig(settings),
    probeTimeoutMs: settings.probeTimeoutSeconds * 1000,
    stopGraceMs: settings.stopGraceSeconds * 1000,
    stateFile: gatewayStateFile(settings.runDir),
    staticStatus: { mode: o.rootMode ? "root" : "non-root", posture: settings.posture, supervisorKept: o.supervisorKept },
  });
  const reaper = new Reaper(o.addon, (pid, rawStatus) => supervisor.onReaped(pid, rawStatus));

  // The last line of defence of "PID 1 cannot crash": every handler below is contained
  // already; whatever still escapes is one log line, never the end of the container.
  process.on("uncaughtException", (error) => log(`internal error (uncaught): ${(error as Error).message?.split("\n")[0]}`));
  process.on("unhandledRejection", (error) => log(`internal error (unhandled rejection): ${String((error as Error)?.message ?? error).split("\n")[0]}`));

  let shuttingDown = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    shuttingDown = true;
    log(`received ${signal}: stopping the gateway (grace ${settings.stopGraceSeconds}s)`);
    let status: Awaited<ReturnType<typeof supervisor.shutdown>> = undefined;
    try {
      status = await supervisor.shutdown();
    } catch (error) {
      log(`internal error stopping the gateway: ${(error as Error).message}; killing everything`);
    }
    // This boot's token dies with it: the next boot's must be the only one to be read.
    contained("removing the token file", () => removeTokenFile(settings));
    if (isPid1) {
      try {
        // Every process of the namespace but PID 1 itself.
        process.kill(-1, "SIGKILL");
      } catch {
        // Nothing else was left.
      }
    }
    reaper.reapNow();
    exitWith(status ? shellStatus(status) : 128 + constants.signals[signal], "gateway stopped; exiting", { level: "info", event: "supervisor.exit" });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) return;
    if (SHUTDOWN_SIGNALS.has(signal)) return void shutdown(signal);
    // HUP means restart (SPEC 4); the other signals are the gateway's.
    if (signal === "SIGHUP") return supervisor.restartFromSignal();
    supervisor.forward(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => onSignal(signal));
  // Caught during start-up and the boot chain; handled once the gateway is on its way.
  const early = takeEarlySignals();
  reaper.start();

  // The status report gains whether the port is protected, read afresh for each request.
  const handler: ControlHandler = {
    restart: (request, progress) => supervisor.restart(request, progress),
    startIfStopped: (request, progress) => supervisor.startIfStopped(request, progress),
    stop: (progress, from) => supervisor.stop(progress, from),
    status: () => ({ ...supervisor.status(), port: readPortProtection(settings.gatewayPort) }),
  };
  void startControlServer(controlSocketPath(settings), handler).then(
    (server) => log(`control: listening on ${server.socketPath}`),
    (error: unknown) => log(`control: socket unavailable (${(error as Error).message}); HUP still restarts the gateway`),
  );
  void supervisor.start();
  for (const signal of early) onSignal(signal);
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
  };
}

