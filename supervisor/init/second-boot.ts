// `supervisor boot` is a container's init. Started again by `docker exec` in a container whose
// PID 1 is already `supervisor boot`, it would write a second token and fight the first for
// the gateway (each killing the other's as a leftover): it refuses before it touches anything.
// A PID 1 that is something else (a pod's pause process with a shared process namespace,
// tini, `supervisor run`) is a shape the boot supports as a subreaper, and is left to it.
import { openSync, readSync, closeSync, statSync } from "node:fs";
import { basename, join } from "node:path";

const MAX_CMDLINE_BYTES = 4096;

/** Pure enough to test on a fake /proc: why this boot must not run, or undefined. */
export function secondBootProblem(procRoot = "/proc", ownPid = process.pid): string | undefined {
  if (ownPid === 1) return undefined;
  const argv = readCmdline(join(procRoot, "1/cmdline"));
  // The command word follows the program (and, run by node, its script).
  if (argv === undefined || !argv.slice(1, 3).includes("boot")) return undefined;
  if (!sameProgram(procRoot, argv[0] ?? "")) return undefined;
  return "PID 1 of this container is already 'supervisor boot': a second boot would write a new token and fight it for the gateway; use 'supervisor restart', 'stop', 'start' or 'status'";
}

function readCmdline(path: string): string[] | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(MAX_CMDLINE_BYTES);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, length).toString("utf8").split("\0");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** PID 1 runs this very executable: by its exe link when readable, else by its argv[0]. */
function sameProgram(procRoot: string, argv0: string): boolean {
  const own = fileId(join(procRoot, "self/exe"));
  if (own === undefined) return false;
  const init = fileId(join(procRoot, "1/exe"));
  if (init !== undefined) return init === own;
  // The sandbox user may not read PID 1's exe link; its cmdline is readable by anyone.
  if (argv0.startsWith("/")) return fileId(argv0) === own;
  return basename(argv0) === basename(process.execPath);
}

function fileId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
