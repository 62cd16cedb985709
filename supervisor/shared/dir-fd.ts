// Acting in a directory the sandbox user can write (docs/threat-model.md, attack 1): through file
// descriptors, never by path. A directory is opened once without following a symlink and
// checked on its descriptor; its entries are then reached relative to that descriptor
// (openat, renameat, unlinkat) and changed on their own descriptors (fchown, fchmod, the
// inode flags ioctl). Swapping a name for a symlink or another directory between a check
// and an action then lands nowhere: the action hits the inode that was checked.
//
// Reads of such files are bounded (attack 6): opened O_NOFOLLOW|O_NONBLOCK, so a FIFO
// planted where a regular file belongs cannot block, and never read past a size cap.
//
// Node has no openat/renameat/unlinkat/ioctl; the native addon has them. This module takes
// only the addon's type: the caller registers the loaded addon once with useNativeFs (boot
// right after its capability drop; the tests from build/native).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from "node:fs";
import { constants as osConstants } from "node:os";
import type { NativeAddon } from "./native.js";
import { errorCode, errorMessage } from "./errors.js";

export type NativeFs = Pick<NativeAddon, "openAt" | "renameAt" | "unlinkAt" | "getInodeFlags" | "setInodeFlags" | "sha256Hex" | "randomHex">;

/** openat(2)'s "relative to the working directory". */
export const AT_FDCWD = -100;
/** Linux's O_PATH (the same on x86_64 and arm64); Node's fs.constants lacks it. */
export const O_PATH = 0o10000000;
/** FS_IMMUTABLE_FL, the flag of `chattr +i`. */
export const FS_IMMUTABLE_FL = 0x10;

/** Opening a file the sandbox user may have replaced: no symlink, no blocking on a FIFO, no controlling tty. */
export const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
const DIRECTORY_NO_FOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

let native: NativeFs | undefined;

export function useNativeFs(addon: NativeFs): void {
  native = addon;
}

export function nativeFs(): NativeFs {
  if (native === undefined) throw new Error("the native file system helper is not loaded (useNativeFs was not called)");
  return native;
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

/** The addon's error in the shape of Node's own fs errors: code "ELOOP", errno -40, syscall, path. */
function asErrnoException(error: unknown, syscall: string, path: string): NodeJS.ErrnoException {
  const errno = (error as { errno?: unknown }).errno;
  if (typeof errno !== "number") return error as NodeJS.ErrnoException;
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  const reason = errorMessage(error).replace(/^[^:]*: /, "");
  const text = reason.charAt(0).toLowerCase() + reason.slice(1);
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, errno: -errno, syscall, path });
}

/**
 * A directory, opened without following a symlink at its last component. Fails with code
 * ELOOP when that is a symlink (the kernel says ENOTDIR; an lstat tells the two apart for
 * the message only, the decision is the open's) and ENOTDIR when it is no directory.
 */
export function openDirectory(path: string): number {
  try {
    return openSync(path, DIRECTORY_NO_FOLLOW);
  } catch (error) {
    if (errorCode(error) === "ENOTDIR" && isSymlink(() => lstatSync(path))) {
      throw Object.assign(new Error(`ELOOP: is a symlink, open '${path}'`), { code: "ELOOP", syscall: "open", path });
    }
    throw error;
  }
}

/** A child directory of dirFd, opened without following a symlink; ELOOP/ENOTDIR as openDirectory. */
export function openDirectoryAt(dirFd: number, name: string): number {
  try {
    return openAt(dirFd, name, DIRECTORY_NO_FOLLOW);
  } catch (error) {
    if (errorCode(error) === "ENOTDIR" && isSymlink(() => lstatAt(dirFd, name))) {
      throw Object.assign(new Error(`ELOOP: is a symlink, openat '${name}'`), { code: "ELOOP", syscall: "openat", path: name });
    }
    throw error;
  }
}

function isSymlink(stat: () => Stats | undefined): boolean {
  try {
    return stat()?.isSymbolicLink() ?? false;
  } catch {
    return false;
  }
}

export function withDirectory<T>(path: string, work: (dirFd: number) => T): T {
  const fd = openDirectory(path);
  try {
    return work(fd);
  } finally {
    closeSync(fd);
  }
}

export function openAt(dirFd: number, name: string, flags: number, mode = 0): number {
  try {
    return nativeFs().openAt(dirFd, name, flags, mode);
  } catch (error) {
    throw asErrnoException(error, "openat", name);
  }
}

export function renameAt(dirFd: number, from: string, to: string): void {
  try {
    nativeFs().renameAt(dirFd, from, dirFd, to);
  } catch (error) {
    throw asErrnoException(error, "renameat", to);
  }
}

export function unlinkAt(dirFd: number, name: string): void {
  try {
    nativeFs().unlinkAt(dirFd, name, false);
  } catch (error) {
    throw asErrnoException(error, "unlinkat", name);
  }
}

/** lstat of one entry of dirFd (O_PATH|O_NOFOLLOW + fstat), or undefined when there is none. */
export function lstatAt(dirFd: number, name: string): Stats | undefined {
  let fd: number;
  try {
    fd = openAt(dirFd, name, O_PATH | constants.O_NOFOLLOW);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function getInodeFlags(fd: number): number {
  try {
    return nativeFs().getInodeFlags(fd);
  } catch (error) {
    throw asErrnoException(error, "ioctl FS_IOC_GETFLAGS", `fd ${fd}`);
  }
}

export function setInodeFlags(fd: number, flags: number): void {
  try {
    nativeFs().setInodeFlags(fd, flags);
  } catch (error) {
    throw asErrnoException(error, "ioctl FS_IOC_SETFLAGS", `fd ${fd}`);
  }
}

/**
 * At most `limit` bytes of an open regular file, or undefined when it holds more (its
 * fstat size says so, or it grew while being read). The buffer starts at the fstat size
 * and doubles only if the file grows while read, never past limit + 1: a 4 MB limit must
 * not cost a 4 MB allocation per read (every restart re-verifies the config, and such
 * allocations grew PID 1's malloc heap by 10 MB over a few hundred restarts).
 */
export function readBounded(fd: number, limit: number): Buffer | undefined {
  const size = fstatSync(fd).size;
  if (size > limit) return undefined;
  let buffer = Buffer.alloc(Math.min(limit + 1, Math.max(size + 1, 4096)));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > limit) return undefined;
      const bigger = Buffer.alloc(Math.min(limit + 1, buffer.length * 2));
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const n = readSync(fd, buffer, length, buffer.length - length, null);
    if (n === 0) break;
    length += n;
    if (length > limit) return undefined;
  }
  return buffer.subarray(0, length);
}

export type BoundedFile =
  | { kind: "missing" }
  | { kind: "symlink" }
  | { kind: "not-regular"; stat: Stats }
  | { kind: "too-large"; stat: Stats }
  | { kind: "file"; bytes: Buffer; stat: Stats };

/**
 * Reads a file the sandbox user may have planted: no symlink followed at its last
 * component (ELOOP makes check and read one step), no blocking on a FIFO or device, no
 * read past `limit`. `accept` may reject the file on its fstat (owner, link count) before
 * a byte is read; a rejected file is returned as not-regular.
 */
export function readFileBounded(
  where: { dirFd: number; name: string } | { path: string },
  limit: number,
  accept: (stat: Stats) => boolean = () => true,
): BoundedFile {
  let fd: number;
  try {
    fd = "path" in where ? openSync(where.path, READ_NO_FOLLOW) : openAt(where.dirFd, where.name, READ_NO_FOLLOW);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") return { kind: "missing" };
    if (code === "ELOOP") return { kind: "symlink" };
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || !accept(stat)) return { kind: "not-regular", stat };
    const bytes = readBounded(fd, limit);
    return bytes === undefined ? { kind: "too-large", stat } : { kind: "file", bytes, stat };
  } finally {
    closeSync(fd);
  }
}
