// `supervisor run`: a plain init. One child in its own process group, every signal passed
// on, every orphan reaped, and the child's status as the supervisor's own.
//
// Everything that ends the supervisor goes through finish(): the main child's reaped
// status (exit code, or 128 + signal), or a refusal before anything ran.
import { constants } from "node:os";
import { log } from "./log.js";
import { envArray, isRefusal, planChildCommand, STATUS } from "./child-command.js";
import { loadNativeAddon, type NativeAddon } from "./native.js";
import { Reaper } from "./reaper.js";
import { realFileProbe } from "./resolve-command.js";
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from "./signals.js";
import { findSetpriv } from "./step-down.js";
import { findUser } from "./users.js";
import { decodeWaitStatus, describeStatus, shellStatus } from "./wait-status.js";

export interface RunOptions {
  command: string[];
  user?: string;
  graceSeconds: number;
}

function finish(status: number, message?: string): never {
  if (message !== undefined) log(message);
  process.exit(status);
}

function loadAddonOrExit(): NativeAddon {
  try {
    return loadNativeAddon();
  } catch (error) {
    return finish(STATUS.ownFailure, `cannot load the native helper: ${(error as Error).message}`);
  }
}

export function runInit(options: RunOptions): void {
  const callerCwd = process.cwd();
  // PID 1 must not pin the caller's directory (or the mount under it).
  process.chdir("/");

  const plan = planChildCommand({
    command: options.command,
    env: process.env,
    probe: realFileProbe,
    user:
      options.user === undefined
        ? undefined
        : { name: options.user, entry: findUser(options.user), setpriv: findSetpriv() },
  });
  if (isRefusal(plan)) finish(plan.status, plan.message);

  const addon = loadAddonOrExit();
  const isPid1 = process.pid === 1;
  if (!isPid1 && !addon.setChildSubreaper()) {
    log("not PID 1 and cannot become a child subreaper: orphaned processes will not be reaped by the supervisor");
  }

  let childPid: number | undefined;
  let shutdownStarted = false;
  const reaper = new Reaper(addon, (pid, rawStatus) => {
    if (pid !== childPid) return;
    const status = decodeWaitStatus(rawStatus);
    finish(shellStatus(status), shutdownStarted ? `child ${describeStatus(status)}` : undefined);
  });

  const forward = (signal: NodeJS.Signals): void => {
    if (childPid === undefined) return;
    try {
      process.kill(-childPid, signal);
    } catch {
      // The group is already gone; its leader's status is on its way through the reaper.
    }
  };
  const killEverything = (): void => {
    log(`grace period of ${options.graceSeconds}s is over: killing every remaining process`);
    try {
      // As PID 1, -1 means every process of the namespace but ourselves; outside a
      // namespace it would mean every process of the machine, so only the child's group.
      process.kill(isPid1 ? -1 : -childPid!, "SIGKILL");
    } catch {
      // Nothing left to kill.
    }
  };
  // Handlers first: Node as PID 1 would otherwise ignore TERM and INT altogether.
  for (const signal of FORWARDED_SIGNALS) {
    process.on(signal, () => {
      forward(signal);
      if (!SHUTDOWN_SIGNALS.has(signal) || shutdownStarted) return;
      shutdownStarted = true;
      log(`received ${signal}: passed to the child, waiting up to ${options.graceSeconds}s`);
      setTimeout(killEverything, options.graceSeconds * 1000);
    });
  }
  reaper.start();

  try {
    childPid = addon.spawnIsolated(plan.file, plan.argv, envArray(plan.env), callerCwd, true);
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    const status = errno === constants.errno.ENOENT ? STATUS.notFound : STATUS.cannotExecute;
    finish(status, `cannot run '${options.command[0]}': ${(error as Error).message.replace(/^[^:]*: /, "")}`);
  }
}
