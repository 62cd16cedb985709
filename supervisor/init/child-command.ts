// Decides what exactly the supervisor executes for `run`: the command itself, or setpriv
// running it as another user. Pure, so every refusal is tested without processes.
import { type FileProbe, resolveCommand } from "./resolve-command.js";
import { stepDownArgv, userEnvironment } from "./step-down.js";
import type { UserEntry } from "../shared/users.js";
import { STATUS } from "./exit.js";

export interface ChildCommand {
  file: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/** A refusal before anything ran: exit status and the one line that explains it. */
export interface Refusal {
  status: number;
  message: string;
}


export interface PlanInput {
  command: string[];
  env: NodeJS.ProcessEnv;
  user?: { name: string; entry: UserEntry | undefined; setpriv: string | undefined };
  probe: FileProbe;
}

export function planChildCommand(input: PlanInput): ChildCommand | Refusal {
  const [name] = input.command;
  if (name === undefined || name === "") return { status: STATUS.usage, message: "no command given after --" };
  if (input.user) {
    const { entry, setpriv } = input.user;
    if (entry === undefined) {
      return { status: STATUS.cannotExecute, message: `no user '${input.user.name}' in /etc/passwd: refusing to run '${name}' as root` };
    }
    if (setpriv === undefined) {
      return { status: STATUS.cannotExecute, message: `setpriv not found (install util-linux): refusing to run '${name}' as root` };
    }
    // setpriv does the PATH lookup as the new user and exits 127/126 like a shell.
    const argv = stepDownArgv(setpriv, { user: entry }, input.command);
    return { file: setpriv, argv, env: userEnvironment(input.env, entry) };
  }
  const resolved = resolveCommand(name, input.env.PATH, input.probe);
  if ("error" in resolved) return { status: STATUS.notFound, message: `'${name}': command not found` };
  return { file: resolved.file, argv: input.command, env: input.env };
}

export function isRefusal(plan: ChildCommand | Refusal): plan is Refusal {
  return "status" in plan;
}

/** "KEY=value" strings for execve, skipping unset entries. */
export function envArray(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`);
}
