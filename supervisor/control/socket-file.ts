// The control socket's place on disk: a directory only the supervisor's uid can enter, and
// no stale socket of an earlier supervisor in the way. Nothing else is ever removed.
import { closeSync, fchmodSync, fstatSync, lstatSync, mkdirSync, renameSync, unlinkSync, type Stats } from "node:fs";
import { createConnection } from "node:net";
import { basename, dirname, join } from "node:path";
import { openDirectory } from "../shared/dir-fd.js";
import { errorReason } from "../shared/errors.js";
import { log } from "../shared/log.js";

export class ControlServerError extends Error {}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "directory";
  if (st.isFile()) return "regular file";
  return "special file";
}

/**
 * The socket's directory is what keeps other users out: owner-only, no symlink, no doubt.
 * What stands in its way is dealt with so that the socket is always there: a directory of
 * our own uid with another mode is set back to 0700 through its descriptor; a symlink, a
 * file or a directory of another uid is moved aside (it is never used, nor followed).
 */
export function prepareDirectory(dir: string): void {
  const euid = process.geteuid?.() ?? -1;
  let st = lstatOrUndefined(dir);
  if (st !== undefined && (!st.isDirectory() || st.uid !== euid)) {
    moveOutOfTheWay(dir, st);
    st = undefined;
  }
  if (st === undefined) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      throw new ControlServerError(`cannot create control socket directory ${dir} (${errorReason(error)})`);
    }
  }
  repairMode(dir, euid);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorReason(error) === "ENOENT") return undefined;
    throw new ControlServerError(`cannot inspect control socket directory ${path} (${errorReason(error)})`);
  }
}

function moveOutOfTheWay(dir: string, st: Stats): void {
  const aside = join(dirname(dir), `.${basename(dir)}.untrusted-${process.pid}-${Date.now().toString(36)}`);
  try {
    renameSync(dir, aside);
  } catch (error) {
    throw new ControlServerError(
      `control socket directory ${dir} is a ${kindOf(st)} of uid ${st.uid} and cannot be moved aside (${errorReason(error)}): remove it`,
    );
  }
  log(`control socket directory ${dir} was a ${kindOf(st)} of uid ${st.uid}: moved aside as ${aside}`, "[SECURITY]");
}

/** Mode 0700 on the directory we own, set through a descriptor opened without following a link. */
function repairMode(dir: string, euid: number): void {
  let fd: number;
  try {
    fd = openDirectory(dir);
  } catch (error) {
    throw new ControlServerError(`cannot open control socket directory ${dir} (${errorReason(error)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isDirectory() || st.uid !== euid) {
      throw new ControlServerError(`control socket directory ${dir} changed while it was prepared: uid ${st.uid}; remove it`);
    }
    const mode = st.mode & 0o7777;
    if (mode !== 0o700) {
      fchmodSync(fd, 0o700);
      log(`control socket directory ${dir} had mode ${mode.toString(8).padStart(4, "0")}: set to 0700`, "[SECURITY]");
    }
  } finally {
    closeSync(fd);
  }
}

function isServed(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socketPath);
    const done = (served: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(served);
    };
    // A connect to a unix socket nobody listens on fails at once; a slow one is a live server.
    const timer = setTimeout(() => done(true), 1_000);
    probe.once("connect", () => done(true));
    probe.once("error", () => done(false));
  });
}

/** Removes the socket a previous supervisor left behind; refuses to remove anything else. */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(socketPath);
  } catch (error) {
    if (errorReason(error) === "ENOENT") return;
    throw new ControlServerError(`cannot inspect control socket path ${socketPath} (${errorReason(error)})`);
  }
  if (!st.isSocket()) {
    throw new ControlServerError(`refusing to replace ${socketPath}: it is a ${kindOf(st)}, not a socket; remove it`);
  }
  if (await isServed(socketPath)) {
    throw new ControlServerError(`another process is already serving control socket ${socketPath}`);
  }
  unlinkSync(socketPath);
}
