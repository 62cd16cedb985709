// `supervisor run`: a plain init. One child in its own process group, every signal passed
// on, every orphan reaped, and the child's status as the supervisor's own.
import { envArray, isRefusal, planChildCommand } from "./child-command.js";
import { exitWith, STATUS } from "./exit.js";
import { runInitLoop } from "./init-loop.js";
import { loadNativeAddon, type NativeAddon } from "../shared/native.js";
import { realFileProbe } from "./resolve-command.js";
import { findSetpriv } from "./step-down.js";
import { findUser } from "../shared/users.js";

export interface RunOptions {
  command: string[];
  user?: string;
  graceSeconds: number;
}

export function loadAddonOrExit(): NativeAddon {
  try {
    return loadNativeAddon();
  } catch (error) {
    return exitWith(STATUS.ownFailure, `cannot load the native helper: ${(error as Error).message}`);
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
  if (isRefusal(plan)) exitWith(plan.status, plan.message);

  runInitLoop({
    addon: loadAddonOrExit(),
    graceSeconds: options.graceSeconds,
    launch: { file: plan.file, argv: plan.argv, envp: envArray(plan.env), cwd: callerCwd, label: options.command[0]! },
  });
}
