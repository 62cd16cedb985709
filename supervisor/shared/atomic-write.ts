// The one way the supervisor writes a file (SPEC section 6): a crash at any point leaves
// either the old or the new file, never a truncated or mixed one, and no write ever goes
// through a symlink someone else planted.
//
// The temp file lives in the target's directory because rename(2) is atomic only within
// one filesystem. It is written while still private to its creator (0600, our uid), and
// given its final owner and mode before the rename, so the new name never points at a
// file with the wrong permissions, not even for an instant.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";

export interface AtomicWriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
}

/** A refused or failed write; the message is one line naming the file and what was expected. */
export class AtomicWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AtomicWriteError";
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkParentDirectory(dir: string, target: string): void {
  const st = lstatOrUndefined(dir);
  if (st === undefined) {
    throw new AtomicWriteError(`refusing to write ${target}: its directory ${dir} does not exist`);
  }
  if (st.isSymbolicLink()) {
    throw new AtomicWriteError(`refusing to write ${target}: its directory ${dir} is a symlink, expected a real directory`);
  }
  if (!st.isDirectory()) {
    throw new AtomicWriteError(`refusing to write ${target}: ${dir} is not a directory`);
  }
}

function checkTarget(path: string): void {
  const st = lstatOrUndefined(path);
  if (st === undefined) return;
  if (st.isSymbolicLink()) {
    throw new AtomicWriteError(`refusing to write ${path}: it is a symlink, expected a regular file or nothing`);
  }
  if (!st.isFile()) {
    throw new AtomicWriteError(`refusing to write ${path}: it exists and is not a regular file`);
  }
}

/** Makes the directory's entries (a rename, an unlink) durable. O_NOFOLLOW: never a symlinked dir. */
function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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

export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions): void {
  const dir = dirname(path);
  checkParentDirectory(dir, path);
  checkTarget(path);

  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const temp = join(dir, `${tempPrefix(basename(path))}${process.pid}-${randomBytes(6).toString("hex")}`);
  let fd: number;
  try {
    fd = openSync(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    throw new AtomicWriteError(`cannot create a temp file for ${path}: ${describeError(err)}`, { cause: err });
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
    checkTarget(path);
    renameSync(temp, path);
    renamed = true;
    fsyncDirectory(dir);
  } catch (err) {
    if (!renamed) {
      try {
        unlinkSync(temp);
      } catch {
        // Already gone or the directory became unwritable: cleanStaleTemps catches it later.
      }
    }
    if (err instanceof AtomicWriteError) throw err;
    throw new AtomicWriteError(`cannot write ${path}: ${describeError(err)}`, { cause: err });
  }
}

/** Unlinks path (a missing file is fine) and makes the removal durable. */
export function removeFileDurable(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new AtomicWriteError(`cannot remove ${path}: ${describeError(err)}`, { cause: err });
  }
  try {
    fsyncDirectory(dirname(path));
  } catch (err) {
    throw new AtomicWriteError(`removed ${path} but cannot make it durable: ${describeError(err)}`, { cause: err });
  }
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
  const prefix = tempPrefix(base);
  const pattern = /^(\d+)-[0-9a-f]+$/;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = pattern.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined) continue;
    if (Number(pid) !== process.pid && processAlive(Number(pid))) continue;
    const file = join(dir, name);
    try {
      unlinkSync(file);
      removed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  if (removed.length > 0) fsyncDirectory(dir);
  return removed;
}
