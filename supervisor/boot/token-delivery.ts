// Boot step 4 (docs/supervisor-boot.md): a fresh token into the config (root mode: atomic write, hash,
// posture, lock) and into the shells' token env file and marker blocks. When no token can
// be produced, every stale trace of the previous one is removed instead.
import { closeSync, fchmodSync, fchownSync, fsyncSync } from "node:fs";
import { join } from "node:path";
import { removeFileDurable, writeFileAtomic } from "../shared/atomic-write.js";
import { openDirectory, readFileBounded } from "../shared/dir-fd.js";
import { log } from "../shared/log.js";
import type { Settings } from "../shared/settings.js";
import type { UserEntry } from "../shared/users.js";
import { exitWith, STATUS } from "../init/exit.js";
import { CONFIG_FILE, HASH_FILE, MAX_CONFIG_BYTES, writeConfigAndHash, type IntegrityPaths } from "./config-integrity.js";
import { asUser } from "./effective-user.js";
import { describeLock, lockConfig, unlockConfig } from "./immutable.js";
import { dotfiles, markerBlock, updateDotfile } from "./shell-env.js";
import { generateToken, withGatewayToken } from "./token.js";
import { TOKEN_ENV_FILE, tokenEnvFile } from "../shared/token-file.js";
import { errorMessage } from "../shared/errors.js";

export const CONFIG_FILES = [CONFIG_FILE, HASH_FILE] as const;

/**
 * The directory's owner and mode of a posture (docs/supervisor-boot.md "Modes and postures"), applied after the integrity check
 * on the descriptor of the directory that was opened, never by its path: the sandbox user
 * owns the directory's parent and may swap the name for a symlink to /etc/passwd at any
 * moment (docs/threat-model.md, attack 1).
 */
function applyPosture(dirFd: number, settings: Settings, sandbox: UserEntry): void {
  if (settings.posture === "locked") {
    fchownSync(dirFd, 0, 0);
    fchmodSync(dirFd, 0o755);
  } else {
    fchownSync(dirFd, sandbox.uid, sandbox.gid);
    fchmodSync(dirFd, 0o2770);
  }
  // Durable before the write that follows relies on it: a crash must not leave the new owner
  // without the new mode, which would lock root out of finishing that write (docs/crash-states.md).
  fsyncSync(dirFd);
}

/**
 * The config directory for the write, opened without following a symlink, and proven to
 * be the one boot step 3 verified: its openclaw.json, read through the descriptor, has
 * the verified bytes. Whatever the name points at later, every change goes to this one.
 */
function openVerifiedConfigDirectory(settings: Settings, verified: Uint8Array): number {
  const where = settings.configDir;
  let fd: number;
  try {
    fd = openDirectory(where);
  } catch (error) {
    return exitWith(STATUS.refused, `token: cannot open the config directory ${where}: ${errorMessage(error)}`, "[SECURITY]");
  }
  const current = readFileBounded({ dirFd: fd, name: CONFIG_FILE }, MAX_CONFIG_BYTES);
  if (current.kind !== "file" || !current.bytes.equals(verified)) {
    closeSync(fd);
    return exitWith(
      STATUS.refused,
      `token: ${where} changed after it was verified (its ${CONFIG_FILE} is not the verified one): refusing to write into it`,
      "[SECURITY]",
    );
  }
  return fd;
}

/** The owner and mode of the config files in a posture. */
export function configFileOwnership(settings: Pick<Settings, "posture">, sandbox: UserEntry): { mode: number; uid: number; gid: number } {
  return settings.posture === "locked"
    ? { mode: 0o444, uid: 0, gid: 0 }
    : { mode: 0o660, uid: sandbox.uid, gid: sandbox.gid };
}

export interface TokenDelivery {
  settings: Settings;
  rootMode: boolean;
  sandbox: UserEntry;
  /** The verified config (boot step 3) the token is written into, and its bytes as read. */
  config: Record<string, unknown>;
  verifiedBytes: Uint8Array;
  paths: IntegrityPaths;
}

/**
 * Removes the token file of an earlier boot (first thing at boot) or of this one (at
 * shutdown): while no boot has finished writing its own, no token can be read at all,
 * so `sandboxctl token` waits for the new one instead of printing a stale one.
 */
export function removeTokenFile(settings: Pick<Settings, "tmpDir">): void {
  const tokenFile = join(settings.tmpDir, TOKEN_ENV_FILE);
  // /tmp is shared: a directory planted under the name cannot be unlinked; it is moved aside.
  const displaced = removeFileDurable(tokenFile, { displace: true });
  if (displaced !== undefined) log(`token: ${tokenFile} was ${displaced}; moved aside`, "[SECURITY]");
}

/**
 * Returns the new token (undefined when none could be produced) and the config bytes the
 * gateway is to run: with the token (root mode), or as verified (non-root mode).
 */
export function deliverToken({ settings, rootMode, sandbox, config, verifiedBytes, paths }: TokenDelivery): { token: string | undefined; configBytes: Uint8Array } {
  const tokenFile = join(settings.tmpDir, TOKEN_ENV_FILE);
  const dotfileOwner = { uid: sandbox.uid, gid: sandbox.gid };
  let token: string;
  try {
    token = generateToken(settings.entropySource);
  } catch (error) {
    try {
      removeFileDurable(tokenFile);
    } catch (removal) {
      log(`token: cannot remove the stale ${tokenFile}: ${errorMessage(removal)}`, "[SECURITY]");
    }
    asUser(sandbox, () => dotfiles(sandbox.home).forEach((file) => updateDotfile(file, undefined, dotfileOwner)));
    delete process.env.OPENCLAW_GATEWAY_TOKEN;
    log(`token: none produced (${errorMessage(error)}); removed the stale token file and marker blocks`);
    return { token: undefined, configBytes: verifiedBytes };
  }
  const access = paths.configAs ?? (<T>(work: () => T) => work());
  const configDirFd = rootMode ? access(() => openVerifiedConfigDirectory(settings, verifiedBytes)) : undefined;
  let configBytes: Uint8Array = verifiedBytes;
  try {
    if (configDirFd !== undefined) {
      unlockConfig(configDirFd, CONFIG_FILES);
      applyPosture(configDirFd, settings, sandbox);
      configBytes = Buffer.from(`${JSON.stringify(withGatewayToken(config, token), null, 2)}\n`);
      try {
        writeConfigAndHash(paths, configBytes, configFileOwnership(settings, sandbox), configDirFd);
      } catch (error) {
        exitWith(STATUS.refused, `token: cannot write the config: ${errorMessage(error)}`);
      }
    }
    const owner = rootMode ? { uid: 0, gid: 0 } : { uid: process.getuid!(), gid: process.getgid!() };
    // /tmp is shared: whatever someone else left under the name is moved aside, not trusted.
    const displaced = writeFileAtomic(tokenFile, tokenEnvFile(token), { mode: 0o444, ...owner, displace: true });
    if (displaced !== undefined) log(`token: ${tokenFile} was ${displaced}; replaced`, "[SECURITY]");
    const problems = asUser(sandbox, () =>
      dotfiles(sandbox.home)
        .map((file) => updateDotfile(file, markerBlock(tokenFile), dotfileOwner))
        .filter((p) => p !== undefined),
    );
    const where = rootMode ? `${CONFIG_FILE} and ${tokenFile}` : `the gateway's environment and ${tokenFile}`;
    log(`token: new 64-hex token written to ${where}${problems.length ? `; marker blocks skipped: ${problems.join("; ")}` : ""}`);
    if (configDirFd !== undefined && settings.posture === "locked") {
      log(`config lock: ${describeLock(lockConfig(configDirFd, CONFIG_FILES))}`);
    }
    return { token, configBytes };
  } finally {
    if (configDirFd !== undefined) closeSync(configDirFd);
  }
}
