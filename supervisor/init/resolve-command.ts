// PATH lookup with execvp's rules, done before fork so the child only calls execve and a
// missing command can be told apart from one that cannot be executed (127 vs 126).
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export type Resolution = { file: string } | { error: "not-found" };

export interface FileProbe {
  isFile(path: string): boolean;
  isExecutable(path: string): boolean;
}

export const realFileProbe: FileProbe = {
  isFile(path) {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
  isExecutable(path) {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

export function resolveCommand(name: string, pathVariable: string | undefined, probe: FileProbe): Resolution {
  // A name with a slash is a path: execve itself reports what is wrong with it.
  if (name.includes("/")) return { file: name };
  let firstNonExecutable: string | undefined;
  for (const dir of (pathVariable ?? DEFAULT_PATH).split(":")) {
    const candidate = join(dir === "" ? "." : dir, name);
    if (!probe.isFile(candidate)) continue;
    if (probe.isExecutable(candidate)) return { file: candidate };
    firstNonExecutable ??= candidate;
  }
  // Like execvp: a found but non-executable file fails with EACCES (126), not ENOENT.
  return firstNonExecutable !== undefined ? { file: firstNonExecutable } : { error: "not-found" };
}
