// Loads the embedded native addon (supervisor/native/reaper.c, compiled for both arches
// by build.mjs and embedded in the bundle as bytes).
//
// The executable is a single file, so the addon has to be written to disk to be
// dlopen'ed. Native code loaded by root must come from a place only root can write:
// a fresh 0700 directory under /run/supervisor (root) or a fresh 0700 directory under the
// temp dir (non-root: nobody but that uid and root can write into it). The file is
// unlinked as soon as it is mapped, so nothing is left behind.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import addonX64 from "../../build/native/reaper-linux-x64.node";
import addonArm64 from "../../build/native/reaper-linux-arm64.node";

export interface NativeAddon {
  /** Reaps zombie children of this process except the listed pids; flat [pid, rawStatus, ...]. */
  reapZombies(exclude: Int32Array): number[];
  /** fork + setpgid + (tcsetpgrp) + execve; throws an Error with .errno if exec fails. */
  spawnIsolated(file: string, argv: string[], envp: string[], cwd: string, foreground: boolean): number;
  setChildSubreaper(): boolean;
  /**
   * Signals pid only while it is still the process that started at expectedStartTime
   * (/proc/<pid>/stat field 22), through a pidfd so a recycled pid is never hit.
   * 0 signalled (pidfd); 1 signalled with kill(2) after the check (no pidfd support:
   * a microsecond-wide reuse window); -ESRCH gone or a zombie; -EXDEV the pid belongs to
   * another process; other -errno from the kernel (-EPERM, -EINVAL). Throws only on bad
   * arguments (pid <= 0, a start time that is not a non-negative integer).
   */
  pidfdSignal(pid: number, expectedStartTime: number, signal: number): number;
  /**
   * openat(2) with O_CLOEXEC added: a descriptor for path relative to the directory dirFd
   * (-100, AT_FDCWD, for the working directory). Pass O_NOFOLLOW where the last component
   * may be a planted symlink. Throws an Error with .errno (positive) on failure.
   */
  openAt(dirFd: number, path: string, flags: number, mode: number): number;
  /** renameat(2): replaces newPath in newDirFd by oldPath in oldDirFd. Throws with .errno. */
  renameAt(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string): void;
  /** unlinkat(2), with AT_REMOVEDIR when directory is true. Throws with .errno. */
  unlinkAt(dirFd: number, path: string, directory: boolean): void;
  /** ioctl FS_IOC_GETFLAGS on an open descriptor: the inode flags lsattr shows. Throws with .errno. */
  getInodeFlags(fd: number): number;
  /** ioctl FS_IOC_SETFLAGS on an open descriptor (chattr without a path). Throws with .errno. */
  setInodeFlags(fd: number, flags: number): void;
}

const ROOT_RUNTIME_DIR = "/run/supervisor";

function privateDirectory(): string {
  if (process.getuid?.() !== 0) return mkdtempSync(join(tmpdir(), "supervisor-native-"));
  mkdirSync(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  const st = lstatSync(ROOT_RUNTIME_DIR);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(`${ROOT_RUNTIME_DIR} must be a root-owned directory writable only by root`);
  }
  return mkdtempSync(join(ROOT_RUNTIME_DIR, "native-"));
}

export function loadNativeAddon(): NativeAddon {
  const bytes = process.arch === "arm64" ? addonArm64 : process.arch === "x64" ? addonX64 : null;
  if (bytes === null) throw new Error(`no native addon for architecture ${process.arch}`);
  const dir = privateDirectory();
  try {
    chmodSync(dir, 0o700);
    const file = join(dir, "reaper.node");
    writeFileSync(file, bytes, { flag: "wx", mode: 0o500 });
    const module = { exports: {} as NativeAddon };
    process.dlopen(module, file);
    return module.exports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
