// The locked posture's last step: the immutable flag (what `chattr +i` sets) on the config
// directory and its files, so that not even root inside the container can add, remove or
// replace an entry. Needs CAP_LINUX_IMMUTABLE (Docker: --cap-add LINUX_IMMUTABLE) and a
// file system that supports the flag; without them the outcome says why it was skipped.
//
// The flag is set with the FS_IOC_GETFLAGS/FS_IOC_SETFLAGS ioctls on descriptors: the
// directory's, opened and checked by the caller, and each file's, opened relative to it
// without following a symlink. No `chattr` process acts by path, so a name swapped for a
// symlink mid-boot cannot send the flag (or its removal) to a file of the attacker's
// choosing (docs/threat-model.md, attack 1), and boot runs no program for it (docs/startup-and-memory.md "What a boot executes").
import { closeSync, fstatSync, type Stats } from "node:fs";
import { readCapabilities } from "../shared/capabilities.js";
import { FS_IMMUTABLE_FL, getInodeFlags, openAt, openDirectory, READ_NO_FOLLOW, setInodeFlags } from "../shared/dir-fd.js";
import { errorCode, errorReason } from "../shared/errors.js";

export type LockOutcome =
  | { state: "hardened" }
  | { state: "partially hardened"; failed: string[] }
  | { state: "skipped"; reason: string };

export function describeLock(outcome: LockOutcome): string {
  switch (outcome.state) {
    case "hardened":
      return "hardened (config directory and files immutable)";
    case "partially hardened":
      return `partially hardened (immutable flag failed: ${outcome.failed.join("; ")})`;
    case "skipped":
      return `skipped (${outcome.reason})`;
  }
}

/** Why locking cannot work here, or undefined when it may. */
function lockBlocker(): string | undefined {
  if (!readCapabilities().effective.has("linux_immutable")) {
    return "no CAP_LINUX_IMMUTABLE; run the container with --cap-add LINUX_IMMUTABLE";
  }
  return undefined;
}

/** Errors meaning the file system has no inode flags at all (tmpfs before Linux 6.0, some FUSE). */
const UNSUPPORTED = new Set(["ENOTTY", "EOPNOTSUPP", "ENOTSUP", "ENOSYS"]);

/** Sets or clears the flag on an open descriptor; a one-line problem or undefined. */
function setFlag(fd: number, label: string, on: boolean): string | undefined {
  try {
    const flags = getInodeFlags(fd);
    const next = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    if (next !== flags) setInodeFlags(fd, next);
    return undefined;
  } catch (error) {
    return `${label}: ${errorReason(error)}`;
  }
}

/**
 * A config file the flag may go on: a regular file with one link (a hard link would carry
 * the flag to a file elsewhere) owned by `uid`. Returns the open descriptor, undefined when
 * there is no such entry, or a one-line problem.
 */
function openConfigFile(dirFd: number, name: string, uid: number): number | undefined | string {
  let fd: number;
  try {
    fd = openAt(dirFd, name, READ_NO_FOLLOW);
  } catch (error) {
    const code = errorCode(error);
    // A symlink cannot carry the flag; the directory's flag keeps it from being replaced.
    if (code === "ENOENT" || code === "ELOOP") return undefined;
    return `${name}: ${errorReason(error)}`;
  }
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch (error) {
    closeSync(fd);
    return `${name}: ${errorReason(error)}`;
  }
  if (!st.isFile()) {
    closeSync(fd);
    return undefined;
  }
  if (st.nlink !== 1 || st.uid !== uid) {
    closeSync(fd);
    return `${name}: ${st.nlink !== 1 ? `${st.nlink} hard links` : `owned by uid ${st.uid}`}, left alone`;
  }
  return fd;
}

function forEachFile(dirFd: number, names: readonly string[], uid: number, work: (fd: number, name: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const opened = openConfigFile(dirFd, name, uid);
    if (opened === undefined) continue;
    if (typeof opened === "string") {
      problems.push(opened);
      continue;
    }
    try {
      const problem = work(opened, name);
      if (problem !== undefined) problems.push(problem);
    } finally {
      closeSync(opened);
    }
  }
  return problems;
}

/**
 * The flag on the files, then on the directory (after which nothing in it can be replaced).
 * dirFd is the config directory, opened without following a symlink and checked by the
 * caller; the files must be root's (the locked posture's owner).
 */
export function lockConfig(dirFd: number, fileNames: readonly string[]): LockOutcome {
  const blocker = lockBlocker();
  if (blocker !== undefined) return { state: "skipped", reason: blocker };
  const failed = forEachFile(dirFd, fileNames, 0, (fd, name) => setFlag(fd, name, true));
  const dirProblem = setFlag(dirFd, "the directory", true);
  if (dirProblem !== undefined) failed.push(dirProblem);
  if (failed.length === 0) return { state: "hardened" };
  if (dirProblem !== undefined && failed.every((problem) => UNSUPPORTED.has(problem.split(": ").pop()!))) {
    return { state: "skipped", reason: `the file system refuses the immutable flag (${dirProblem})` };
  }
  return { state: "partially hardened", failed };
}

/**
 * Clears the flag on the directory, then on the files, before a write. Silent: a flag
 * that stays makes the write itself fail with a line that names the file.
 */
export function unlockConfig(dirFd: number, fileNames: readonly string[]): void {
  if (lockBlocker() !== undefined) return;
  setFlag(dirFd, "the directory", false);
  // Only root's files ever got the flag from lockConfig.
  forEachFile(dirFd, fileNames, 0, (fd, name) => setFlag(fd, name, false));
}

/**
 * At a clean shutdown: the flag off again, so that a stopped sandbox's volume can be removed
 * (`docker volume rm` cannot unlink an immutable file). The next boot verifies the config
 * against the hash and the anchor before it sets the flag again, so the gap is covered.
 */
export function releaseConfigLock(configDir: string, fileNames: readonly string[]): string {
  const blocker = lockBlocker();
  if (blocker !== undefined) return `config lock: nothing to clear (${blocker})`;
  const fd = openDirectory(configDir);
  try {
    if (fstatSync(fd).uid !== 0) return `config lock: ${configDir} is not root's: left alone`;
    unlockConfig(fd, fileNames);
    return "config lock: cleared for the shutdown (the next boot verifies the config and sets it again)";
  } finally {
    closeSync(fd);
  }
}
