// The preload guards (docs/supervisor-boot.md, step 5): copied from their trusted, root-owned sources to fixed
// paths in /tmp before every launch, then verified. /tmp belongs to everyone, so a staged
// copy is checked through a descriptor opened without following links: a regular file of
// the right owner, mode 0444 and the very bytes of the source is kept as it is (only its
// owner could have written it), anything else is replaced (stage + rename) and checked
// again. Keeping an identical copy means a relaunch needs no new space in /tmp: the
// sandbox user can fill a small tmpfs, but cannot make the relaunch fail with ENOSPC.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../shared/atomic-write.js";
import { log } from "../shared/log.js";
import { errorMessage, errorReason } from "../shared/errors.js";

export const GUARD_NAMES = ["sandbox-safety-net.js", "ciao-network-guard.js"] as const;

export function stagedGuardPath(tmpDir: string, name: string): string {
  return join(tmpDir, `nemoclaw-${name}`);
}

export interface GuardOwner {
  /** Owner the staged copies must have: 0 in root mode, the supervisor's uid otherwise. */
  uid: number;
  gid: number;
}

export class GuardError extends Error {}

function readTrustedSource(sourceDir: string, name: string, owner: GuardOwner): Buffer {
  const source = join(sourceDir, name);
  let st;
  try {
    st = lstatSync(source);
  } catch {
    throw new GuardError(`guard source ${source} is missing`);
  }
  if (!st.isFile()) throw new GuardError(`guard source ${source} is not a regular file`);
  // In root mode the sources must be image files only root could have written.
  if (owner.uid === 0 && (st.uid !== 0 || (st.mode & 0o022) !== 0)) {
    throw new GuardError(`guard source ${source} must be root-owned and not group/world-writable`);
  }
  return readFileSync(source);
}

/**
 * Why the staged file is not exactly the expected one, or undefined when it is: a regular
 * file (not a symlink, FIFO or device: O_NOFOLLOW|O_NONBLOCK), mode 0444, the right owner,
 * the same bytes. Checked on one descriptor, and never reading more than expected + 1 bytes.
 */
export function stagedGuardProblem(path: string, expected: Buffer, owner: GuardOwner): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "is missing" : code === "ELOOP" ? "is a symlink" : `cannot be opened (${code})`;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return "is not a regular file";
    if ((st.mode & 0o7777) !== 0o444) return `has mode ${(st.mode & 0o7777).toString(8)}, expected 444`;
    if (st.uid !== owner.uid) return `is owned by uid ${st.uid}, expected ${owner.uid}`;
    if (st.size !== expected.length) return "differs from its trusted source";
    const bytes = Buffer.alloc(expected.length + 1);
    let length = 0;
    while (length < bytes.length) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return length === expected.length && bytes.subarray(0, length).equals(expected) ? undefined : "differs from its trusted source";
  } catch (error) {
    return `cannot be read (${errorReason(error)})`;
  } finally {
    closeSync(fd);
  }
}

/** Checks a staged file (see stagedGuardProblem); throws GuardError naming what is wrong. */
export function verifyStagedGuard(path: string, expected: Buffer, owner: GuardOwner): void {
  const problem = stagedGuardProblem(path, expected, owner);
  if (problem !== undefined) throw new GuardError(`staged guard ${path} ${problem}`);
}

// Node decides whether a .js file is CommonJS or ESM from the nearest package.json, and
// /tmp is writable by the sandbox user: an invalid /tmp/package.json would make every
// process that requires the guards die at startup. So the scope is pinned as well.
export const PACKAGE_SCOPE = Buffer.from('{"type":"commonjs"}\n');

/**
 * Makes `path` hold exactly `bytes` (0444, `owner`) and verifies it: kept when it already
 * does, else replaced. Throws GuardError. Used for every file staged in /tmp before a launch.
 */
export function stagePinned(path: string, bytes: Buffer, owner: GuardOwner): void {
  if (stagedGuardProblem(path, bytes, owner) === undefined) return;
  let displaced: string | undefined;
  try {
    // /tmp is shared: a directory, FIFO or symlink someone left under the name is moved
    // aside (never opened or followed), and the fresh copy takes its place.
    displaced = writeFileAtomic(path, bytes, { mode: 0o444, uid: owner.uid, gid: owner.gid, displace: true });
  } catch (error) {
    throw new GuardError(`cannot stage ${path}: ${errorMessage(error)}`);
  }
  if (displaced !== undefined) log(`preload guards: ${path} was ${displaced}; replaced`, "[SECURITY]");
  verifyStagedGuard(path, bytes, owner);
}

/** Stages and verifies every guard; returns the staged paths in load order. */
export function stageGuards(sourceDir: string, tmpDir: string, owner: GuardOwner): string[] {
  stagePinned(join(tmpDir, "package.json"), PACKAGE_SCOPE, owner);
  return GUARD_NAMES.map((name) => {
    const bytes = readTrustedSource(sourceDir, name, owner);
    const staged = stagedGuardPath(tmpDir, name);
    stagePinned(staged, bytes, owner);
    return staged;
  });
}

/** Read-only: why the guards could not be staged now (a source missing or untrusted), or undefined. */
export function guardSourcesProblem(sourceDir: string, owner: GuardOwner): string | undefined {
  try {
    for (const name of GUARD_NAMES) readTrustedSource(sourceDir, name, owner);
    return undefined;
  } catch (error) {
    if (error instanceof GuardError) return error.message;
    throw error;
  }
}
