// How the supervisor maps its native addon, which travels inside the executable as bytes
// (native.ts). dlopen needs a file on a mount that allows execution, and native code loaded
// by root must be bytes nobody else could have changed. Node cannot call memfd_create, so
// there are two ways, tried in order:
//
// 1. The copy the image installs (image/Dockerfile), used only if, read through one file
//    descriptor opened without following a link, it is a regular root-owned file that no one
//    else may write, and its bytes are exactly the embedded ones. dlopen then maps that very
//    open file through /proc/self/fd/N, so the bytes compared are the bytes run. Nothing is
//    written: this is what works on a read-only root file system whose only writable places
//    are noexec tmpfs mounts (docker run --read-only --tmpfs /tmp).
// 2. A fresh private directory (0700, only root or the running uid can write in it): the
//    bytes are written there, mapped, and removed at once. Fails on a noexec mount.
//
// Equal bytes mean an equal sha256; comparing them directly keeps node:crypto out of start-up.
// (Node opens every file descriptor close-on-exec, so none leaks into a child.)
import { closeSync, constants, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, lstatSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { errorMessage, firstLine } from "./errors.js";

export interface AddonSource {
  /** The embedded addon for this architecture. */
  bytes: Uint8Array;
  /** Where the image installs a copy of it. */
  installedPath: string;
  /** Where a private directory for a written copy is made (root: a root-only directory). */
  privateParent: () => string;
}

export type Dlopen = (file: string) => unknown;

export interface Loaded<T> {
  exports: T;
  /** How it was mapped, for a debug line and the tests. */
  from: "installed" | "written";
}

/** Why the installed copy cannot be used, or undefined when it can (then `fd` is left open). */
function checkInstalled(fd: number, bytes: Uint8Array): string | undefined {
  const st = fstatSync(fd);
  if (!st.isFile()) return "not a regular file";
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  if ((st.mode & 0o022) !== 0) return `writable by others (mode ${(st.mode & 0o7777).toString(8)})`;
  if (st.size !== bytes.length) return "not the embedded addon (size differs)";
  const content = Buffer.alloc(bytes.length + 1);
  let read = 0;
  for (let n; read < content.length && (n = readSync(fd, content, read, content.length - read, read)) > 0; ) read += n;
  if (read !== bytes.length || !content.subarray(0, read).equals(bytes)) return "not the embedded addon (bytes differ)";
  return undefined;
}

function loadInstalled<T>(source: AddonSource, dlopen: Dlopen): T | string {
  let fd: number;
  try {
    fd = openSync(source.installedPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  try {
    const problem = checkInstalled(fd, source.bytes);
    if (problem !== undefined) return problem;
    return dlopen(`/proc/self/fd/${fd}`) as T;
  } catch (error) {
    return errorMessage(error);
  } finally {
    closeSync(fd);
  }
}

function loadWritten<T>(source: AddonSource, dlopen: Dlopen): T {
  const dir = mkdtempSync(join(source.privateParent(), "native-"));
  const file = join(dir, "reaper.node");
  try {
    chmodSync(dir, 0o700);
    writeFileSync(file, source.bytes, { flag: "wx", mode: 0o500 });
    return dlopen(file) as T;
  } finally {
    try {
      unlinkSync(file);
    } catch {
      // Never written.
    }
    rmdirSync(dir);
  }
}

export function loadAddon<T>(source: AddonSource, dlopen: Dlopen): Loaded<T> {
  const installed = loadInstalled<T>(source, dlopen);
  if (typeof installed !== "string") return { exports: installed, from: "installed" };
  try {
    return { exports: loadWritten<T>(source, dlopen), from: "written" };
  } catch (error) {
    const message = firstLine(error);
    throw new Error(`${source.installedPath}: ${installed}; a private copy: ${message}${/map|permitted/i.test(message ?? "") ? " (a noexec mount?)" : ""}`);
  }
}

/** A directory only root can write, for root's written copy; made on first use. */
export function rootOnlyDirectory(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(`${path} must be a root-owned directory writable only by root`);
  }
  return path;
}
