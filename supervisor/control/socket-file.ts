// The control socket's place on disk: a directory only the supervisor's uid can enter, and
// no stale socket of an earlier supervisor in the way. Nothing else is ever removed.
import { lstatSync, mkdirSync, unlinkSync, type Stats } from "node:fs";
import { createConnection } from "node:net";
import { errorReason } from "../shared/errors.js";

export class ControlServerError extends Error {}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "directory";
  if (st.isFile()) return "regular file";
  return "special file";
}

/** The socket's directory is what keeps other users out: owner-only, no symlink, no doubt. */
export function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errorReason(error) !== "EEXIST") {
      throw new ControlServerError(`cannot create control socket directory ${dir} (${errorReason(error)})`);
    }
  }
  const st = lstatSync(dir);
  const euid = process.geteuid?.() ?? -1;
  const mode = st.mode & 0o7777;
  if (!st.isDirectory() || st.uid !== euid || mode !== 0o700) {
    const found = st.isDirectory() ? `owner uid ${st.uid}, mode ${mode.toString(8).padStart(4, "0")}` : `a ${kindOf(st)}`;
    throw new ControlServerError(
      `control socket directory ${dir} must be a directory owned by uid ${euid} with mode 0700, found ${found}: remove it or fix it`,
    );
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
