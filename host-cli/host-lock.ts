// The host-side lock that serialises sandboxctl's mutating commands (restart, signal) on
// one container, so two of them never race from the host. It lives in a directory only the
// user can enter, one lock per container id (a container's name and id share one lock).
// proper-lockfile holds the lock as a directory made by an atomic mkdir and refreshes it;
// a holder that died (even by SIGKILL) stops refreshing, and its lock is taken over once
// stale.
import { lstatSync, mkdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import lockfile from "proper-lockfile";
import { errorReason } from "../supervisor/shared/errors.js";

export interface LockTuning {
  /** A lock not refreshed for this long belongs to a dead process and is taken over. */
  staleMs: number;
  /** How often the holder refreshes it. */
  updateMs: number;
  /** How often a waiting command tries again. */
  retryMs: number;
}

export const DEFAULT_LOCK: LockTuning = { staleMs: 15_000, updateMs: 5_000, retryMs: 250 };

export class HostLockError extends Error {}

/** Pure: $XDG_RUNTIME_DIR/sandboxctl (per-user, tmpfs) when set, else /tmp/sandboxctl-UID. */
export function lockDirectory(env: NodeJS.ProcessEnv, uid: number): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime !== undefined && runtime.startsWith("/") ? join(runtime, "sandboxctl") : `/tmp/sandboxctl-${uid}`;
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * Creates the directory 0700 if it is missing, then insists on it: a real directory (not a
 * symlink), owned by `uid`, open to nobody else. Anything else could let another user
 * hold, break or redirect the lock.
 */
export function prepareLockDirectory(dir: string, uid: number): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw new HostLockError(`cannot create lock directory ${dir} (${errorReason(error)})`);
  }
  const st = lstatSync(dir);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new HostLockError(`lock directory ${dir} is ${st.isSymbolicLink() ? "a symlink" : "not a directory"}: remove it`);
  }
  if (st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new HostLockError(
      `lock directory ${dir} must be owned by uid ${uid} with mode 0700, found uid ${st.uid} mode ${mode(st)}: remove it or fix it`,
    );
  }
}

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

export type LockOutcome = { kind: "held"; lock: HeldLock } | { kind: "busy"; path: string; waitedMs: number } | { kind: "aborted" };

/**
 * Takes the lock of `containerId`, waiting until `deadline`. `onWait` is called once, when
 * the lock is found held. An abort (Ctrl-C) ends the wait; a lock taken in that instant is
 * released again.
 */
export async function acquireHostLock(
  dir: string,
  containerId: string,
  deadline: number,
  abort: AbortSignal,
  onWait: (path: string) => void,
  tuning: LockTuning = DEFAULT_LOCK,
): Promise<LockOutcome> {
  prepareLockDirectory(dir, process.getuid?.() ?? 0);
  const target = join(dir, containerId);
  const path = `${target}.lock`;
  const options = { lockfilePath: path, realpath: false };
  const started = Date.now();
  let told = false;
  for (;;) {
    if (abort.aborted) return { kind: "aborted" };
    const existing = lstatOrUndefined(path);
    if (existing?.isSymbolicLink()) throw new HostLockError(`refusing lock ${path}: it is a symlink; remove it`);
    try {
      const release = await lockfile.lock(target, {
        ...options,
        stale: tuning.staleMs,
        update: tuning.updateMs,
        retries: 0,
        // A stalled event loop can let the lock go stale; the supervisor's own restart lock
        // still keeps two restarts apart, so this is no reason to crash.
        onCompromised: () => {},
      });
      const lock: HeldLock = { path, release: () => release().catch(() => {}) };
      if (abort.aborted) {
        await lock.release();
        return { kind: "aborted" };
      }
      return { kind: "held", lock };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") {
        throw new HostLockError(`cannot take lock ${path} (${errorReason(error)})`);
      }
    }
    if (!told) {
      told = true;
      onWait(path);
    }
    const wait = Math.min(tuning.retryMs, deadline - Date.now());
    if (wait <= 0) return { kind: "busy", path, waitedMs: Date.now() - started };
    await sleep(wait, undefined, { signal: abort }).catch(() => {});
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
