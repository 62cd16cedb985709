// `supervisor run`: a plain init. One child in its own process group, every signal passed
// on, every orphan reaped, and the child's status as the supervisor's own.
import { envArray, isRefusal, planChildCommand } from "./child-command.js";
import { exitWith, STATUS } from "./exit.js";
import { runInitLoop } from "./init-loop.js";
import { loadNativeAddon, type NativeAddon } from "../shared/native.js";
import { realFileProbe } from "./resolve-command.js";
import { findSetpriv } from "./step-down.js";
import { findUser } from "../shared/users.js";
import { configureLog, logConfigFrom, LogSettingsError, type Level } from "../shared/log.js";
import { errorMessage } from "../shared/errors.js";

export interface RunOptions {
  command: string[];
  user?: string;
  graceSeconds: number;
  /** -v/-q: log levels more (positive) or less than the default. */
  verbosity?: number;
}

export function loadAddonOrExit(): NativeAddon {
  try {
    return loadNativeAddon();
  } catch (error) {
    return exitWith(STATUS.ownFailure, `cannot load the native helper: ${errorMessage(error)}`);
  }
}

/**
 * Sets the log level and format from SUPERVISOR_LOG_* before anything is logged; a bad
 * value ends the supervisor with one line (78, like every bad setting).
 */
export function configureLogOrExit(defaultLevel: Level, verbosity = 0): void {
  try {
    configureLog(logConfigFrom(process.env, defaultLevel, verbosity));
  } catch (error) {
    if (error instanceof LogSettingsError) exitWith(STATUS.refused, error.message);
    throw error;
  }
}

export function runInit(options: RunOptions): void {
  // Like tini: quiet unless something is wrong (SUPERVISOR_LOG_LEVEL=info shows signals and exits).
  configureLogOrExit("warn", options.verbosity);
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
  if (isRefusal(plan)) exitWith(plan.status, plan.message);

  runInitLoop({
    addon: loadAddonOrExit(),
    graceSeconds: options.graceSeconds,
    launch: { file: plan.file, argv: plan.argv, envp: envArray(plan.env), cwd: callerCwd, label: options.command[0]! },
  });
}
