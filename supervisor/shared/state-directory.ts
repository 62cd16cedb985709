// PID 1's own durable records (the config write intent, the trusted-hash anchor) live in a
// directory only root may use (docs/threat-model.md, the state directory). Nothing about it
// is trusted as found: a fresh tmpfs or Kubernetes emptyDir comes up 1777 or 0777, and in a
// read-only root it is whatever the runtime mounted. It is made, opened without following a
// link, taken back to root 0700 through its descriptor, and made durable: a new directory
// whose name never reached the disk would lose the records a crash needs (docs/crash-states.md).
import { closeSync, fchmodSync, fchownSync, fstatSync, fsyncSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { errorCode } from "./errors.js";
import { log } from "./log.js";
import { openDirectory, renameAt } from "./dir-fd.js";
import { randomHex } from "./digest.js";

/** Creates `path` (and missing parents) so that each new name is durable in its parent; true if it made `path`. */
function makeDurably(path: string): boolean {
  const missing: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      closeSync(openDirectory(dir));
      break;
    } catch (error) {
      if (errorCode(error) !== "ENOENT" || dir === "/") throw error;
      missing.unshift(dir);
    }
  }
  for (const dir of missing) {
    mkdirSync(dir, { mode: 0o700 });
    const parent = openDirectory(dirname(dir));
    try {
      fsyncSync(parent);
    } finally {
      closeSync(parent);
    }
  }
  return missing.length > 0;
}

/**
 * The state directory, root's and 0700 (root mode) or the supervisor's own (non-root);
 * returns a descriptor of it for the caller to close.
 */
export function openStateDirectory(path: string, owner: { uid: number; gid: number }): number {
  return openOwnedDirectory(path, { ...owner, mode: 0o700 }, "state directory");
}

/**
 * A directory of the supervisor's that must have exactly this owner and mode: made durably
 * if missing, opened without following a link, repaired through its descriptor (a new owner
 * is a [SECURITY] line: someone else had it). Returns the descriptor.
 */
export function openOwnedDirectory(path: string, want: { uid: number; gid: number; mode: number }, label: string): number {
  const made = makeDurably(path);
  const fd = openDirectory(path);
  try {
    const st = fstatSync(fd);
    let changed = false;
    if (st.uid !== want.uid || st.gid !== want.gid) {
      fchownSync(fd, want.uid, want.gid);
      if (st.uid !== want.uid && st.uid !== 0) log(`${label} ${path} belonged to uid ${st.uid}, gid ${st.gid}: taken back for uid ${want.uid}`, "[SECURITY]");
      changed = true;
    }
    if ((st.mode & 0o7777) !== want.mode) {
      fchmodSync(fd, want.mode);
      const octal = (mode: number): string => mode.toString(8).padStart(4, "0");
      const hint = (st.mode & 0o002) !== 0 ? " (writable by anyone: a fresh tmpfs or emptyDir?)" : "";
      // A directory it has just made gets its mode quietly; one found otherwise is worth a line.
      if (!made) log(`${label} ${path} had mode ${octal(st.mode & 0o7777)}${hint}: set to ${octal(want.mode)}`);
      changed = true;
    }
    if (changed) fsyncSync(fd);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Moves an entry of the state directory that is not one of the supervisor's records out of
 * its way (a directory, a link, a file of another owner or with other names): it is never
 * read, and the supervisor goes on as if there were none. Returns the new name.
 */
export function moveAside(stateDirFd: number, name: string, what: string, path: string): string {
  const aside = `.${name}.untrusted-${process.pid}-${randomHex(6)}`;
  renameAt(stateDirFd, name, aside);
  fsyncSync(stateDirFd);
  log(`${path}: ${what}, not a record of the supervisor's: moved aside as ${aside} and ignored`, "[SECURITY]");
  return aside;
}
