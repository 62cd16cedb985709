// The one loop of an init: the main child, signals and reaping meet here, so the child's
// exit status can never get lost between two mechanisms.
import { constants } from "node:os";
import { exitWith, STATUS } from "./exit.js";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { takeEarlySignals } from "./early-signals.js";
import { Reaper } from "./reaper.js";
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from "./signals.js";
import { decodeWaitStatus, describeStatus, shellStatus } from "./wait-status.js";

export interface Launch {
  file: string;
  argv: string[];
  envp: string[];
  cwd: string;
  /** Shown in errors, e.g. the command the user typed. */
  label: string;
}

export interface InitLoopOptions {
  addon: NativeAddon;
  graceSeconds: number;
  launch: Launch;
  /** Called once the child runs; `abort` kills it and ends the supervisor with the given status. */
  afterLaunch?: (pid: number, abort: (status: number, message: string) => void) => void;
}

export function runInitLoop(options: InitLoopOptions): void {
  const { addon, graceSeconds, launch } = options;
  const isPid1 = process.pid === 1;
  if (!isPid1 && !addon.setChildSubreaper()) {
    log("not PID 1 and cannot become a child subreaper: orphaned processes will not be reaped by the supervisor", { level: "warn", event: "init.no-subreaper" });
  }

  let childPid: number | undefined;
  let shutdownStarted = false;
  let abortStatus: { status: number; message: string } | undefined;
  const reaper = new Reaper(addon, (pid, rawStatus) => {
    if (pid !== childPid) return;
    if (abortStatus !== undefined) exitWith(abortStatus.status, abortStatus.message, "[SECURITY]");
    const status = decodeWaitStatus(rawStatus);
    exitWith(shellStatus(status), shutdownStarted ? `child ${describeStatus(status)}` : undefined, { level: "info", event: "init.child-exit" });
  });

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (childPid === undefined) return;
    try {
      process.kill(-childPid, signal);
    } catch {
      // The group is already gone; its leader's status is on its way through the reaper.
    }
  };
  const killEverything = (): void => {
    log(`grace period of ${graceSeconds}s is over: killing every remaining process`, { level: "warn", event: "init.grace-expired" });
    try {
      // As PID 1, -1 means every process of the namespace but ourselves; outside a
      // namespace it would mean every process of the machine, so only the child's group.
      process.kill(isPid1 ? -1 : -childPid!, "SIGKILL");
    } catch {
      // Nothing left to kill.
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    signalGroup(signal);
    if (!SHUTDOWN_SIGNALS.has(signal) || shutdownStarted) return;
    shutdownStarted = true;
    log(`received ${signal}: passed to the child, waiting up to ${graceSeconds}s`, { event: "init.shutdown", fields: { signal } });
    setTimeout(killEverything, graceSeconds * 1000);
  };
  // Handlers first: Node as PID 1 would otherwise ignore TERM and INT altogether.
  for (const signal of FORWARDED_SIGNALS) process.on(signal, () => onSignal(signal));
  // Caught before this loop existed; passed on once there is a child, as tini does.
  const early = takeEarlySignals();
  reaper.start();

  try {
    childPid = addon.spawnIsolated(launch.file, launch.argv, launch.envp, launch.cwd, true);
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    const status = errno === constants.errno.ENOENT ? STATUS.notFound : STATUS.cannotExecute;
    exitWith(status, `cannot run '${launch.label}': ${(error as Error).message.replace(/^[^:]*: /, "")}`);
  }
  for (const signal of early) onSignal(signal);
  options.afterLaunch?.(childPid, (status, message) => {
    abortStatus = { status, message };
    signalGroup("SIGKILL");
  });
}
