// Running a command as another user through setpriv(1). The supervisor never runs a
// child as root when a user was asked for: no setpriv or no such user is an error.
import { existsSync } from "node:fs";
import type { UserEntry } from "../shared/users.js";

// Fixed, root-owned locations only: PATH is the caller's and must not choose the
// program that drops privileges.
const SETPRIV_CANDIDATES = ["/usr/bin/setpriv", "/bin/setpriv"];

export function findSetpriv(exists: (path: string) => boolean = existsSync): string | undefined {
  return SETPRIV_CANDIDATES.find(exists);
}

export interface StepDown {
  user: UserEntry;
  /** Capabilities to remove from the bounding set (setpriv names, e.g. "setuid"). */
  dropBounding?: string[];
  /** Capabilities the command gets as ambient ones (inheritable + ambient), kept across its exec. */
  ambient?: readonly string[];
}

/** argv that runs `command` as the user, keeping the user's supplementary groups. */
export function stepDownArgv(setpriv: string, stepDown: StepDown, command: string[]): string[] {
  const argv = [setpriv, `--reuid=${stepDown.user.uid}`, `--regid=${stepDown.user.gid}`, "--init-groups"];
  if (stepDown.dropBounding && stepDown.dropBounding.length > 0) {
    argv.push(`--bounding-set=${stepDown.dropBounding.map((c) => `-${c}`).join(",")}`);
  }
  if (stepDown.ambient && stepDown.ambient.length > 0) {
    const raise = stepDown.ambient.map((c) => `+${c}`).join(",");
    argv.push(`--inh-caps=${raise}`, `--ambient-caps=${raise}`);
  }
  argv.push("--", ...command);
  return argv;
}

/** The environment a program expects after a user switch (as su and gosu set it). */
export function userEnvironment(env: NodeJS.ProcessEnv, user: UserEntry): NodeJS.ProcessEnv {
  return { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name };
}
