// Boot step 4 (SPEC 3.4): a fresh token into the config (root mode: atomic write, hash,
// posture, lock) and into the shells' token env file and marker blocks. When no token can
// be produced, every stale trace of the previous one is removed instead.
import { chmodSync, chownSync } from "node:fs";
import { join } from "node:path";
import { removeFileDurable, writeFileAtomic } from "../shared/atomic-write.js";
import { log } from "../shared/log.js";
import type { Settings } from "../shared/settings.js";
import type { UserEntry } from "../shared/users.js";
import { exitWith, STATUS } from "../init/exit.js";
import { CONFIG_FILE, HASH_FILE, writeConfigAndHash, type IntegrityPaths } from "./config-integrity.js";
import { asUser } from "./effective-user.js";
import { describeLock, lockConfig, unlockConfig } from "./immutable.js";
import { dotfiles, markerBlock, TOKEN_ENV_FILE, updateDotfile } from "./shell-env.js";
import { generateToken, tokenEnvFile, withGatewayToken } from "./token.js";

export const CONFIG_FILES = [CONFIG_FILE, HASH_FILE] as const;

/** The directory and file modes of a posture (SPEC 2), applied after the integrity check. */
function applyPosture(settings: Settings, sandbox: UserEntry): void {
  const dir = settings.configDir;
  if (settings.posture === "locked") {
    chownSync(dir, 0, 0);
    chmodSync(dir, 0o755);
  } else {
    chownSync(dir, sandbox.uid, sandbox.gid);
    chmodSync(dir, 0o2770);
  }
}

function fileOwnership(settings: Settings, sandbox: UserEntry) {
  return settings.posture === "locked"
    ? { mode: 0o444, uid: 0, gid: 0 }
    : { mode: 0o660, uid: sandbox.uid, gid: sandbox.gid };
}

export interface TokenDelivery {
  settings: Settings;
  rootMode: boolean;
  sandbox: UserEntry;
  /** The verified config (boot step 3) the token is written into. */
  config: Record<string, unknown>;
  paths: IntegrityPaths;
}

/**
 * Removes the token file of an earlier boot (first thing at boot) or of this one (at
 * shutdown): while no boot has finished writing its own, no token can be read at all,
 * so `sandboxctl token` waits for the new one instead of printing a stale one.
 */
export function removeTokenFile(settings: Pick<Settings, "tmpDir">): void {
  removeFileDurable(join(settings.tmpDir, TOKEN_ENV_FILE));
}

/** Returns the new token, or undefined when none could be produced. */
export function deliverToken({ settings, rootMode, sandbox, config, paths }: TokenDelivery): string | undefined {
  const tokenFile = join(settings.tmpDir, TOKEN_ENV_FILE);
  const dotfileOwner = { uid: sandbox.uid, gid: sandbox.gid };
  let token: string;
  try {
    token = generateToken(settings.entropySource);
  } catch (error) {
    removeFileDurable(tokenFile);
    asUser(sandbox, () => dotfiles(sandbox.home).forEach((file) => updateDotfile(file, undefined, dotfileOwner)));
    delete process.env.OPENCLAW_GATEWAY_TOKEN;
    log(`token: none produced (${(error as Error).message}); removed the stale token file and marker blocks`);
    return undefined;
  }
  if (rootMode) {
    unlockConfig(settings.configDir, CONFIG_FILES);
    applyPosture(settings, sandbox);
    const bytes = Buffer.from(`${JSON.stringify(withGatewayToken(config, token), null, 2)}\n`);
    try {
      writeConfigAndHash(paths, bytes, fileOwnership(settings, sandbox));
    } catch (error) {
      const hint = settings.posture === "mutable" ? " (mutable posture: root must be in the sandbox user's group)" : "";
      exitWith(STATUS.refused, `token: cannot write the config: ${(error as Error).message}${hint}`);
    }
  }
  const owner = rootMode ? { uid: 0, gid: 0 } : { uid: process.getuid!(), gid: process.getgid!() };
  writeFileAtomic(tokenFile, tokenEnvFile(token), { mode: 0o444, ...owner });
  const problems = asUser(sandbox, () =>
    dotfiles(sandbox.home)
      .map((file) => updateDotfile(file, markerBlock(tokenFile), dotfileOwner))
      .filter((p) => p !== undefined),
  );
  const where = rootMode ? `${CONFIG_FILE} and ${tokenFile}` : `the gateway's environment and ${tokenFile}`;
  log(`token: new 64-hex token written to ${where}${problems.length ? `; marker blocks skipped: ${problems.join("; ")}` : ""}`);
  if (rootMode && settings.posture === "locked") {
    log(`config lock: ${describeLock(lockConfig(settings.configDir, CONFIG_FILES))}`);
  }
  return token;
}
