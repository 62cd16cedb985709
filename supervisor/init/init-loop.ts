// The one loop of an init: the main child, signals and reaping meet here, so the child's
// exit status can never get lost between two mechanisms.
import { constants } from "node:os";
import { errorMessage } from "../shared/errors.js";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { SHUTDOWN_SIGNALS } from "../shared/signals.js";
import { exitWith, STATUS } from "./exit.js";
import { startPid1Skeleton } from "./pid1-skeleton.js";
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
  let childPid: number | undefined;
  let shutdownStarted = false;
  let abortStatus: { status: number; message: string } | undefined;

  const onReaped = (pid: number, rawStatus: number): void => {
    if (pid !== childPid) return;
    if (abortStatus !== undefined) exitWith(abortStatus.status, abortStatus.message, "[SECURITY]");
    const status = decodeWaitStatus(rawStatus);
    exitWith(shellStatus(status), shutdownStarted ? `child ${describeStatus(status)}` : undefined, { level: "info", event: "init.child-exit" });
  };
  const signalGroup = (signal: NodeJS.Signals): void => {
    if (childPid === undefined) return;
    try {
      process.kill(-childPid, signal);
    } catch {
      // The group is already gone; its leader's status is on its way through the reaper.
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    signalGroup(signal);
    if (!SHUTDOWN_SIGNALS.has(signal) || shutdownStarted) return;
    shutdownStarted = true;
    log(`received ${signal}: passed to the child, waiting up to ${graceSeconds}s`, { event: "init.shutdown", fields: { signal } });
    setTimeout(() => {
      log(`grace period of ${graceSeconds}s is over: killing every remaining process`, { level: "warn", event: "init.grace-expired" });
      skeleton.killAllOthers(childPid);
    }, graceSeconds * 1000);
  };
  const skeleton = startPid1Skeleton(addon, onReaped, onSignal);

  childPid = spawnChild(addon, launch);
  // Caught before this loop existed; passed on once there is a child, as tini does.
  for (const signal of skeleton.early) onSignal(signal);
  options.afterLaunch?.(childPid, (status, message) => {
    abortStatus = { status, message };
    signalGroup("SIGKILL");
  });
}

/** The child in its own process group, in the foreground of the terminal if there is one. */
function spawnChild(addon: NativeAddon, launch: Launch): number {
  try {
    return addon.spawnIsolated(launch.file, launch.argv, launch.envp, launch.cwd, true);
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    const status = errno === constants.errno.ENOENT ? STATUS.notFound : STATUS.cannotExecute;
    return exitWith(status, `cannot run '${launch.label}': ${errorMessage(error).replace(/^[^:]*: /, "")}`);
  }
}
