// Can the gateway command be executed at all? A command that does not exist or has no
// execute bit is a configuration error, found before anything is launched: at boot it
// refuses (78), at a relaunch it is the config-error state, never a crash loop of 127s.
import { statSync } from "node:fs";
import { realFileProbe, resolveCommand, type FileProbe } from "../init/resolve-command.js";

const anyoneMayExecute: FileProbe = {
  isFile: realFileProbe.isFile,
  // Which of owner, group or other applies is the kernel's business at exec (supplementary
  // groups included); a file nobody may execute is what is refused here.
  isExecutable(path) {
    try {
      return (statSync(path).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  },
};

/** Why `command` cannot be executed with the PATH of `env`, or undefined. */
export function commandProblem(command: readonly string[], env: NodeJS.ProcessEnv, probe: FileProbe = anyoneMayExecute): string | undefined {
  const name = command[0]!;
  const resolved = resolveCommand(name, env.PATH, probe);
  if ("error" in resolved) return `gateway command '${name}' not found in PATH ${env.PATH ?? "(default)"}`;
  if (!probe.isFile(resolved.file)) return `gateway command '${resolved.file}' does not exist or is not a regular file`;
  if (!probe.isExecutable(resolved.file)) return `gateway command '${resolved.file}' is not executable`;
  return undefined;
}
