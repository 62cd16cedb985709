// The preload guards (SPEC 5): copied from their trusted, root-owned sources to fixed
// paths in /tmp before every launch, then verified. /tmp belongs to everyone, so a staged
// copy is never trusted as found: it is rewritten (stage + rename) and then checked.
import { lstatSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../shared/atomic-write.js";

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

/** Checks a staged file: regular file, not a symlink, mode 0444, right owner, same bytes. */
export function verifyStagedGuard(path: string, expected: Buffer, owner: GuardOwner): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw new GuardError(`staged guard ${path} is missing`);
  }
  if (st.isSymbolicLink()) throw new GuardError(`staged guard ${path} is a symlink`);
  if (!st.isFile()) throw new GuardError(`staged guard ${path} is not a regular file`);
  if ((st.mode & 0o7777) !== 0o444) throw new GuardError(`staged guard ${path} has mode ${(st.mode & 0o7777).toString(8)}, expected 444`);
  if (st.uid !== owner.uid) throw new GuardError(`staged guard ${path} is owned by uid ${st.uid}, expected ${owner.uid}`);
  if (!readFileSync(path).equals(expected)) throw new GuardError(`staged guard ${path} differs from its trusted source`);
}

// Anything but a regular file at a staged path (a symlink planted in /tmp, a directory) is
// removed rather than written through; the fresh copy then takes its place.
function replaceForeignEntry(path: string): void {
  try {
    if (!lstatSync(path).isFile()) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new GuardError(`cannot remove ${path} to re-stage it: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
}

// Node decides whether a .js file is CommonJS or ESM from the nearest package.json, and
// /tmp is writable by the sandbox user: an invalid /tmp/package.json would make every
// process that requires the guards die at startup. So the scope is pinned as well.
export const PACKAGE_SCOPE = Buffer.from('{"type":"commonjs"}\n');

function stagePinned(path: string, bytes: Buffer, owner: GuardOwner): void {
  replaceForeignEntry(path);
  try {
    writeFileAtomic(path, bytes, { mode: 0o444, uid: owner.uid, gid: owner.gid });
  } catch (error) {
    throw new GuardError(`cannot stage ${path}: ${(error as Error).message}`);
  }
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
