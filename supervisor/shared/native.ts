// The embedded native addon (supervisor/shared/native/reaper.c, compiled for both arches
// by build.mjs and embedded in the bundle as bytes). How it is mapped without trusting any
// writable place is addon-loader.ts's job.
import { tmpdir } from "node:os";
import { loadAddon, rootOnlyDirectory } from "./addon-loader.js";
import addonX64 from "../../build/native/reaper-linux-x64.node";
import addonArm64 from "../../build/native/reaper-linux-arm64.node";

/** Where the image installs the addon (image/Dockerfile; dist/ has it as reaper-linux-<arch>.node). */
export const INSTALLED_ADDON_DIR = "/usr/local/lib/sandbox-supervisor";

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
   * Removes the capabilities (numbers of linux/capability.h) from the bounding, permitted,
   * effective and inheritable sets of every thread of this process. 0, or -errno
   * (-ETIMEDOUT: a thread did not answer; the result is then not to be trusted).
   */
  dropCapabilities(capabilities: number[]): number;
}

const ROOT_RUNTIME_DIR = "/run/supervisor";

export function loadNativeAddon(): NativeAddon {
  const bytes = process.arch === "arm64" ? addonArm64 : process.arch === "x64" ? addonX64 : null;
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
