// The embedded native addon (supervisor/shared/native/*.c, compiled for both arches
// by build.mjs and embedded in the bundle as bytes). How it is mapped without trusting any
// writable place is addon-loader.ts's job.
import { tmpdir } from "node:os";
import { loadAddon, rootOnlyDirectory } from "./addon-loader.js";

/** Where the image installs the addon (image/Dockerfile; dist/ has it as reaper-linux-<arch>.node). */
export const INSTALLED_ADDON_DIR = "/usr/local/lib/sandbox-supervisor";

export interface NativeAddon {
  /** Reaps zombie children of this process except the listed pids; flat [pid, rawStatus, ...]. */
  reapZombies(exclude: Int32Array): number[];
  /**
   * fork + setpgid + (tcsetpgrp) + execve; throws an Error with .errno if exec fails.
   * `stdio`: descriptors that become the child's stdout and stderr (else it inherits ours).
   */
  spawnIsolated(file: string, argv: string[], envp: string[], cwd: string, foreground: boolean, stdio?: [number, number]): number;
  /** A close-on-exec pipe, [readFd, writeFd], of 1 MiB where the kernel allows. Throws with .errno. */
  outputPipe(): [number, number];
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
  /**
   * Removes the capabilities (numbers of linux/capability.h) from the bounding, permitted,
   * effective and inheritable sets of every thread of this process. 0, or -errno
   * (-ETIMEDOUT: a thread did not answer; the result is then not to be trusted).
   */
  dropCapabilities(capabilities: number[]): number;
  /** malloc_trim(0): returns free pages inside malloc's heaps to the kernel; true if any were. */
  trimMalloc(): boolean;
  /** SHA-256 of the bytes, as 64 lowercase hex digits (what sha256sum prints). */
  sha256Hex(bytes: Uint8Array): string;
  /** count (1 to 64) bytes of getrandom(2), as lowercase hex. */
  randomHex(count: number): string;
  /**
   * TCP sockets listening on port in this network namespace (sock_diag), 19 numbers each:
   * family (4 or 6), uid, inode, 16 address bytes. Throws an Error with .errno.
   */
  tcpListeners(port: number): number[];
}

const ROOT_RUNTIME_DIR = "/run/supervisor";

type Embedded = Uint8Array | { default: Uint8Array };
const bytesOf = (embedded: Embedded): Uint8Array => (embedded instanceof Uint8Array ? embedded : embedded.default);

/**
 * This architecture's addon bytes. An executable's bundle is built for one architecture
 * (__SUPERVISOR_ARCH__), and esbuild leaves the other one's require, and its bytes, out of it:
 * they would stay in PID 1's memory for nothing, as source text and as decoded bytes.
 */
function embeddedAddon(): Uint8Array | null {
  const arch = __SUPERVISOR_ARCH__ === "any" ? process.arch : __SUPERVISOR_ARCH__;
  if (__SUPERVISOR_ARCH__ !== "arm64" && arch === "x64") return bytesOf(require("../../build/native/reaper-linux-x64.node") as Embedded);
  if (__SUPERVISOR_ARCH__ !== "x64" && arch === "arm64") return bytesOf(require("../../build/native/reaper-linux-arm64.node") as Embedded);
  return null;
}

export function loadNativeAddon(): NativeAddon {
  const bytes = embeddedAddon();
  if (bytes === null) throw new Error(`no native addon for architecture ${process.arch}`);
  const { exports } = loadAddon<NativeAddon>(
    {
      bytes,
      installedPath: `${INSTALLED_ADDON_DIR}/reaper-linux-${process.arch}.node`,
      privateParent: () => (process.getuid?.() === 0 ? rootOnlyDirectory(ROOT_RUNTIME_DIR) : tmpdir()),
    },
    (file) => {
      const module = { exports: {} as NativeAddon };
      process.dlopen(module, file);
      return module.exports;
    },
  );
  return exports;
}
