// The one way the supervisor writes a file (docs/supervisor-boot.md): a crash at any point leaves
// either the old or the new file, never a truncated or mixed one, and no write ever goes
// through a symlink someone else planted.
//
// The temp file lives in the target's directory because rename(2) is atomic only within
// one filesystem. It is written while still private to its creator (0600, our uid), and
// given its final owner and mode before the rename, so the new name never points at a
// file with the wrong permissions, not even for an instant. Every step after opening the
// directory (without following a symlink) is relative to its descriptor (openat, renameat,
// unlinkat through the native addon, see dir-fd.ts), never to its path.
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, readdirSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { lstatAt, openAt, openDirectory, renameAt, unlinkAt } from "./dir-fd.js";
import { randomHex } from "./digest.js";
import { errorCode } from "./errors.js";

export interface AtomicWriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
  /**
   * For a fixed name in a shared sticky directory (/tmp) that others may have claimed
   * first: a directory, FIFO, socket, device or symlink under the name is moved aside
   * (renamed to a hidden ".<name>.displaced-..." entry, never opened or followed) instead
   * of refusing the write. Without it such a target refuses the write.
   */
  displace?: boolean;
}

/** A refused or failed write; the message is one line naming the file and what was expected. */
export class AtomicWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AtomicWriteError";
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The target's directory, opened once without following a symlink: every later step (temp,
 * rename, fsync) happens relative to this descriptor, so a directory swapped for a symlink
 * after the check cannot redirect the write (docs/threat-model.md, attack 1).
 */
function openParentDirectory(dir: string, target: string): number {
  try {
    return openDirectory(dir);
  } catch (err) {
    const code = errorCode(err);
    if (code === "ENOENT") throw new AtomicWriteError(`refusing to write ${target}: its directory ${dir} does not exist`);
    if (code === "ELOOP") {
      throw new AtomicWriteError(`refusing to write ${target}: its directory ${dir} is a symlink, expected a real directory`);
    }
    if (code === "ENOTDIR") throw new AtomicWriteError(`refusing to write ${target}: ${dir} is not a directory`);
    throw new AtomicWriteError(`cannot open the directory of ${target}: ${describeError(err)}`, { cause: err });
  }
}

function checkTarget(dirFd: number, name: string, label: string): void {
  const st: Stats | undefined = lstatAt(dirFd, name);
  if (st === undefined) return;
  if (st.isSymbolicLink()) {
    throw new AtomicWriteError(`refusing to write ${label}: it is a symlink, expected a regular file or nothing`);
  }
  if (!st.isFile()) {
    throw new AtomicWriteError(`refusing to write ${label}: it exists and is not a regular file`);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += writeSync(fd, bytes, offset, bytes.length - offset);
  }
}

function tempPrefix(base: string): string {
  return `.${base}.tmp-`;
}

/** Returns, with options.displace, what was moved aside ("a FIFO, now .name.displaced-..."), else undefined. */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions): string | undefined {
  const dirFd = openParentDirectory(dirname(path), path);
  try {
    return writeFileAtomicAt(dirFd, basename(path), data, options, path);
  } finally {
    closeSync(dirFd);
  }
}

function describeType(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symlink";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  return "a device";
}

/** Moves a non-regular entry under name aside; describes it, or undefined when there was none. */
function displaceNonRegular(dirFd: number, name: string, label: string): string | undefined {
  const st = lstatAt(dirFd, name);
  if (st === undefined || st.isFile()) return undefined;
  const aside = `.${name}.displaced-${process.pid}-${randomHex(6)}`;
  try {
    renameAt(dirFd, name, aside);
  } catch (err) {
    throw new AtomicWriteError(`cannot move ${describeType(st)} out of the way of ${label}: ${describeError(err)}`, { cause: err });
  }
  return `${describeType(st)} of uid ${st.uid}, now ${aside}`;
}

/**
 * writeFileAtomic for an entry of a directory the caller has opened and checked (the
 * config directory, a home): `name` is one path component, `label` names the file in errors.
 */
export function writeFileAtomicAt(
  dirFd: number,
  name: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
  label = name,
): string | undefined {
  const displaced = options.displace ? displaceNonRegular(dirFd, name, label) : undefined;
  checkTarget(dirFd, name, label);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const temp = `${tempPrefix(name)}${process.pid}-${randomHex(6)}`;
  let fd: number;
  try {
    fd = openAt(dirFd, temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new AtomicWriteError(`cannot create a temp file for ${label}: ${describeError(err)}`, { cause: err });
  }

  let renamed = false;
  try {
    try {
      writeAll(fd, bytes);
      // chown before chmod: chown clears setuid/setgid bits that chmod may set.
      if (options.uid !== undefined || options.gid !== undefined) {
        fchownSync(fd, options.uid ?? -1, options.gid ?? -1);
      }
      fchmodSync(fd, options.mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // Re-checked right before the rename: rename(2) replaces a symlink rather than
    // following it, but a target that became a symlink or a directory is not ours to replace.
    checkTarget(dirFd, name, label);
    renameAt(dirFd, temp, name);
    renamed = true;
    fsyncSync(dirFd);
    return displaced;
  } catch (err) {
    if (!renamed) {
      try {
        unlinkAt(dirFd, temp);
      } catch {
        // Already gone or the directory became unwritable: cleanStaleTemps catches it later.
      }
    }
    if (err instanceof AtomicWriteError) throw err;
    throw new AtomicWriteError(`cannot write ${label}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Unlinks path (a missing file or directory is fine) and makes the removal durable. With
 * displace, a directory under the name (which unlink cannot remove) is moved aside instead;
 * the return value then describes it, as writeFileAtomic's does.
 */
export function removeFileDurable(path: string, options: { displace?: boolean } = {}): string | undefined {
  let dirFd: number;
  try {
    dirFd = openDirectory(dirname(path));
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    throw new AtomicWriteError(`cannot remove ${path}: ${describeError(err)}`, { cause: err });
  }
  try {
    return removeFileDurableAt(dirFd, basename(path), path, options);
  } finally {
    closeSync(dirFd);
  }
}

/** removeFileDurable for an entry of a directory the caller has opened and checked. */
export function removeFileDurableAt(dirFd: number, name: string, label = name, options: { displace?: boolean } = {}): string | undefined {
  let displaced: string | undefined;
  try {
    unlinkAt(dirFd, name);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    if (errorCode(err) !== "EISDIR" || !options.displace) {
      throw new AtomicWriteError(`cannot remove ${label}: ${describeError(err)}`, { cause: err });
    }
    displaced = displaceNonRegular(dirFd, name, label);
  }
  try {
    fsyncSync(dirFd);
  } catch (err) {
    throw new AtomicWriteError(`removed ${label} but cannot make it durable: ${describeError(err)}`, { cause: err });
  }
  return displaced;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temp files writeFileAtomic left for `base` in `dir` when its process died
 * mid-write. Temps of another live process are kept (it may be writing right now); our
 * own pid's temps are stale by construction, since writes here are synchronous (and after
 * a container restart PID 1 is a new supervisor with the same pid). Returns removed paths.
 */
export function cleanStaleTemps(dir: string, base: string): string[] {
  let dirFd: number;
  try {
    dirFd = openDirectory(dir);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return [];
    throw err;
  }
  try {
    return cleanStaleTempsAt(dirFd, readdirSync(dir), base, dir);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * cleanStaleTemps for a directory the caller has opened and checked. The names come from a
 * listing by path; each unlink is relative to dirFd, so a listing of another directory
 * (swapped in between) can only name temps that dirFd does not have.
 */
export function cleanStaleTempsAt(dirFd: number, names: readonly string[], base: string, dir: string): string[] {
  const prefix = tempPrefix(base);
  const pattern = /^(\d+)-[0-9a-f]+$/;
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = pattern.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined) continue;
    if (Number(pid) !== process.pid && processAlive(Number(pid))) continue;
    try {
      unlinkAt(dirFd, name);
      removed.push(join(dir, name));
    } catch (err) {
      if (errorCode(err) !== "ENOENT") throw err;
    }
  }
  if (removed.length > 0) fsyncSync(dirFd);
  return removed;
}
