// The config the gateway runs: never /sandbox/.openclaw itself, which the sandbox user can
// rename away and replace between PID 1's check and the gateway's read (docs/threat-model.md),
// but a copy PID 1 publishes from the verified bytes into a directory the sandbox user cannot
// reach, named in the gateway's environment (gatewayConfigEnv, OpenClaw's OPENCLAW_CONFIG_PATH).
//
//   locked posture   root:<gateway group> 0750 directory, root 0440 file: the gateway reads,
//                    nobody but PID 1 writes (a fresh copy of the verified bytes per launch)
//   mutable posture  the gateway's own 0700 directory and 0600 file, because OpenClaw's own
//                    writes (config.set) chmod both; the config mirror (config-mirror.ts)
//                    carries changes between it and /sandbox/.openclaw both ways
//   non-root mode    the supervisor's private run directory: gateway and PID 1 are one uid
import { closeSync, fchmodSync, fstatSync, fsyncSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicAt } from "../shared/atomic-write.js";
import { openDirectory, readFileBounded } from "../shared/dir-fd.js";
import type { Settings } from "../shared/settings.js";
import { openOwnedDirectory } from "../shared/state-directory.js";
import { CONFIG_FILE, MAX_CONFIG_BYTES } from "./config-integrity.js";
import { asUser } from "./effective-user.js";

export interface GatewayIds {
  uid: number;
  gid: number;
}

/** Where the gateway's copy lives, and who owns it with which modes. */
export interface GatewayConfigPlace {
  dir: string;
  file: string;
  /** Directory and file owner and modes. */
  owner: GatewayIds;
  dirMode: number;
  fileMode: number;
  /** Writes in it are done as this user (the gateway's own directory is closed to root without DAC_OVERRIDE). */
  writer: GatewayIds | undefined;
}

export function gatewayConfigPlace(settings: Pick<Settings, "gatewayConfigDir" | "posture">, rootMode: boolean, gateway: GatewayIds): GatewayConfigPlace {
  const dir = settings.gatewayConfigDir;
  const file = join(dir, CONFIG_FILE);
  if (!rootMode) return { dir, file, owner: gateway, dirMode: 0o700, fileMode: 0o600, writer: undefined };
  if (settings.posture === "locked") return { dir, file, owner: { uid: 0, gid: gateway.gid }, dirMode: 0o750, fileMode: 0o440, writer: undefined };
  return { dir, file, owner: gateway, dirMode: 0o700, fileMode: 0o600, writer: gateway };
}

/** The gateway's environment names its copy. */
export function gatewayConfigEnv(settings: Pick<Settings, "gatewayConfigEnv">, place: GatewayConfigPlace): Record<string, string> {
  return { [settings.gatewayConfigEnv]: place.file };
}

function inPlace<T>(place: GatewayConfigPlace, work: (dirFd: number) => T): T {
  const fd = (place.writer !== undefined ? openAsWriter(place, place.writer) : undefined) ?? openOwnedDirectory(place.dir, { ...place.owner, mode: place.dirMode }, "gateway config directory");
  try {
    return place.writer === undefined ? work(fd) : asUser(place.writer, () => work(fd));
  } finally {
    closeSync(fd);
  }
}

/**
 * The gateway's own 0700 directory, opened as the gateway: root has no CAP_DAC_OVERRIDE after
 * the boot's capability drop and cannot open it itself. Its parent is root's, so the name
 * cannot be swapped; undefined when it is missing or not the gateway's (root then makes or
 * takes it back).
 */
function openAsWriter(place: GatewayConfigPlace, writer: GatewayIds): number | undefined {
  let fd: number;
  try {
    fd = asUser(writer, () => openDirectory(place.dir));
  } catch {
    return undefined;
  }
  const st = fstatSync(fd);
  if (st.uid !== place.owner.uid || st.gid !== place.owner.gid) {
    closeSync(fd);
    return undefined;
  }
  if ((st.mode & 0o7777) !== place.dirMode) {
    asUser(writer, () => fchmodSync(fd, place.dirMode));
    fsyncSync(fd);
  }
  return fd;
}

/** Writes `bytes` as the gateway's config (atomic, durable); unchanged bytes are not rewritten. */
export function publishGatewayConfig(place: GatewayConfigPlace, bytes: Uint8Array): void {
  inPlace(place, (dirFd) => {
    const current = readFileBounded({ dirFd, name: CONFIG_FILE }, MAX_CONFIG_BYTES);
    if (current.kind === "file" && current.bytes.equals(bytes) && (current.stat.mode & 0o7777) === place.fileMode) return;
    writeFileAtomicAt(dirFd, CONFIG_FILE, bytes, { mode: place.fileMode, uid: place.owner.uid, gid: place.owner.gid }, place.file);
    fsyncSync(dirFd);
  });
}

/** The gateway's copy as it is now (it may have changed it: mutable posture), or undefined. */
export function readGatewayConfig(place: GatewayConfigPlace): { bytes: Buffer; mtimeMs: number } | undefined {
  return inPlace(place, (dirFd) => {
    const read = readFileBounded({ dirFd, name: CONFIG_FILE }, MAX_CONFIG_BYTES);
    return read.kind === "file" ? { bytes: read.bytes, mtimeMs: read.stat.mtimeMs } : undefined;
  });
}
