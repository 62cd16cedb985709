// The locked posture's last step: chattr +i on the config directory and its files, so
// that not even root inside the container can add, remove or replace an entry. Needs
// CAP_LINUX_IMMUTABLE (Docker: --cap-add LINUX_IMMUTABLE), a chattr binary and a file
// system that supports the flag; without them the outcome says why it was skipped.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { readCapabilities } from "../shared/capabilities.js";

const CHATTR_CANDIDATES = ["/usr/bin/chattr", "/bin/chattr", "/usr/sbin/chattr", "/sbin/chattr"];

export type LockOutcome =
  | { state: "hardened" }
  | { state: "partially hardened"; failed: string[] }
  | { state: "skipped"; reason: string };

export function describeLock(outcome: LockOutcome): string {
  switch (outcome.state) {
    case "hardened":
      return "hardened (config directory and files immutable)";
    case "partially hardened":
      return `partially hardened (chattr +i failed: ${outcome.failed.join("; ")})`;
    case "skipped":
      return `skipped (${outcome.reason})`;
  }
}

function chattr(): string | undefined {
  return CHATTR_CANDIDATES.find((path) => existsSync(path));
}

/** Why locking cannot work here, or undefined when it may. */
function lockBlocker(): string | undefined {
  if (!readCapabilities().effective.has("linux_immutable")) {
    return "no CAP_LINUX_IMMUTABLE; run the container with --cap-add LINUX_IMMUTABLE";
  }
  if (chattr() === undefined) return "no chattr (install e2fsprogs)";
  return undefined;
}

function setFlag(path: string, flag: "+i" | "-i"): string | undefined {
  const result = spawnSync(chattr()!, [flag, path], { encoding: "utf8" });
  if (result.status === 0) return undefined;
  return `${path}: ${(result.stderr || result.error?.message || `exit ${result.status}`).trim().split("\n").pop()}`;
}

/** Regular files of the config dir that can carry the flag (chattr cannot flag a symlink). */
function lockableFiles(configDir: string, names: readonly string[]): string[] {
  return names
    .map((name) => join(configDir, name))
    .filter((path) => {
      try {
        return lstatSync(path).isFile();
      } catch {
        return false;
      }
    });
}

/** chattr +i on the files, then the directory (after which nothing in it can be replaced). */
export function lockConfig(configDir: string, fileNames: readonly string[]): LockOutcome {
  const blocker = lockBlocker();
  if (blocker !== undefined) return { state: "skipped", reason: blocker };
  const targets = [...lockableFiles(configDir, fileNames), configDir];
  const failed: string[] = [];
  for (const path of targets) {
    const error = setFlag(path, "+i");
    if (error !== undefined) failed.push(error);
  }
  if (failed.length === 0) return { state: "hardened" };
  if (failed.length === targets.length && failed.every((e) => /not supported|Inappropriate ioctl/i.test(e))) {
    return { state: "skipped", reason: `the file system refuses the immutable flag (${failed[0]})` };
  }
  return { state: "partially hardened", failed };
}

/** chattr -i on the directory, then the files, before a write. Silent when not possible. */
export function unlockConfig(configDir: string, fileNames: readonly string[]): void {
  if (lockBlocker() !== undefined) return;
  setFlag(configDir, "-i");
  for (const path of lockableFiles(configDir, fileNames)) setFlag(path, "-i");
}
