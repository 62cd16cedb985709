// `supervisor boot`: the sandbox boot chain (SPEC 3), one log line per step, then the
// gateway (or one command) under the init loop. The chain produces a prepared launch;
// nothing after it reaches back.
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { removeFileDurable, writeFileAtomic } from "./atomic-write.js";
import { dropOwnCapabilities } from "./capability-drop.js";
import { CONFIG_FILE, HASH_FILE, verifyConfig, writeConfigAndHash, type IntegrityPaths } from "./config-integrity.js";
import { asUser } from "./effective-user.js";
import { exitWith, STATUS } from "./exit.js";
import { describeLock, lockConfig, unlockConfig } from "./immutable.js";
import { runInitLoop } from "./init-loop.js";
import {
  buildLaunch,
  canDropChildCapabilities,
  childResidualCapabilities,
  GATEWAY_MARKER,
  predictedResidual,
  type LaunchPlan,
} from "./launch.js";
import { checkLegacyLayout } from "./legacy-layout.js";
import { log } from "./log.js";
import { composeNodeOptions } from "./node-options.js";
import { GuardError, stageGuards } from "./preload-guards.js";
import { loadAddonOrExit } from "./run.js";
import { loadSettings, SettingsError, withPort, type Settings } from "./settings.js";
import { dotfiles, markerBlock, PROXY_ENV_FILE, proxyEnvScript, TOKEN_ENV_FILE, updateDotfile } from "./shell-env.js";
import { findSetpriv } from "./step-down.js";
import { generateToken, tokenEnvFile, withGatewayToken } from "./token.js";
import { findUser, type UserEntry } from "./users.js";

export interface BootOptions {
  /** A one-shot command to run as the sandbox user instead of the gateway. */
  command?: string[];
}

const CONFIG_FILES = [CONFIG_FILE, HASH_FILE] as const;

function refuse(message: string, security = false): never {
  return exitWith(STATUS.refused, message, security ? "[SECURITY]" : "[supervisor]");
}

function requireUser(name: string, role: string): UserEntry {
  const user = findUser(name);
  if (user === undefined) refuse(`no user '${name}' (${role}) in /etc/passwd: refusing to run anything as root`);
  return user;
}

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

/** Step 4: a fresh token into the config (root) and the shells' env file. Returns the token. */
function deliverToken(
  settings: Settings,
  rootMode: boolean,
  sandbox: UserEntry,
  config: Record<string, unknown>,
  paths: IntegrityPaths,
): string | undefined {
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
    writeConfigAndHash(paths, bytes, fileOwnership(settings, sandbox));
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

export function boot(options: BootOptions): void {
  const callerCwd = process.cwd();
  process.chdir("/");
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) refuse(error.message);
    throw error;
  }
  const rootMode = process.getuid!() === 0;

  // 1. Own bounding set (root), or say once which protections are off (non-root).
  if (rootMode) {
    const outcome = dropOwnCapabilities();
    log(outcome.message, outcome.kind === "residual" ? "[SECURITY]" : "[supervisor]");
  } else {
    log(
      `non-root mode (uid ${process.getuid!()}): no capability drop, no step-down to separate users, ` +
        "config read-only, token passed in the gateway's environment",
      "[SECURITY]",
    );
  }
  const sandbox = requireUser(settings.sandboxUser, "sandbox user");
  const gateway = options.command ? undefined : rootMode ? requireUser(settings.gatewayUser, "gateway user") : undefined;
  const setpriv = rootMode ? findSetpriv() : undefined;
  if (rootMode && setpriv === undefined) refuse("setpriv not found (install util-linux): refusing to run anything as root");

  // 2. Legacy symlink layout.
  const layout = checkLegacyLayout(settings.configDir, settings.dataDir);
  if (!layout.ok) refuse(`legacy layout: ${layout.reason}`, true);
  log(`legacy layout: ${layout.links} symlink(s) in ${settings.configDir}, all inside ${settings.dataDir}`);

  // 3. Config integrity; nothing is modified before this passes.
  const paths: IntegrityPaths = { configDir: settings.configDir, stateDir: settings.stateDir };
  if (rootMode) mkdirSync(settings.stateDir, { recursive: true, mode: 0o700 });
  const verdict = verifyConfig(paths, settings.posture);
  if (!verdict.ok) refuse(`config integrity: ${verdict.reason}`, true);
  log(
    verdict.integrity === "not-enforced"
      ? `config: ${CONFIG_FILE} parsed; mutable posture, integrity is not enforced`
      : `config: ${CONFIG_FILE} verified against ${HASH_FILE} (${settings.posture} posture${verdict.integrity === "verified" ? "" : `, ${verdict.integrity}`})`,
  );

  // 4. Token.
  const token = deliverToken(settings, rootMode, sandbox, verdict.config, paths);

  // 5. Preload guards and the shells' environment.
  const owner = rootMode ? { uid: 0, gid: 0 } : { uid: process.getuid!(), gid: process.getgid!() };
  let nodeOptions: string;
  try {
    const staged = stageGuards(settings.preloadSourceDir, settings.tmpDir, owner);
    nodeOptions = composeNodeOptions(process.env.NODE_OPTIONS, staged);
    writeFileAtomic(
      join(settings.tmpDir, PROXY_ENV_FILE),
      proxyEnvScript(join(settings.tmpDir, TOKEN_ENV_FILE), nodeOptions, process.env),
      { mode: 0o444, ...owner },
    );
    log(`preload guards: staged and verified ${staged.join(", ")}`);
  } catch (error) {
    if (error instanceof GuardError) refuse(`refusing unguarded gateway launch: ${error.message}`, true);
    throw error;
  }

  // 6. Launch as the unprivileged user.
  const dropsApplied = rootMode && canDropChildCapabilities();
  const residual = rootMode ? predictedResidual(dropsApplied) : [];
  if (residual.length > 0) {
    const message = `capabilities: a launched child would keep ${residual.join(",")}${dropsApplied ? "" : " (no CAP_SETPCAP for setpriv)"}`;
    if (settings.requireCapDrop) refuse(`${message}; SUPERVISOR_REQUIRE_CAP_DROP=1 refuses the launch`, true);
  }
  const plan: LaunchPlan = options.command
    ? {
        command: options.command,
        user: rootMode ? sandbox : undefined,
        setpriv,
        nodeOptions,
        extraEnv: {},
        cwd: callerCwd,
      }
    : {
        command: settings.gatewayCommand.map((arg) => withPort(arg, settings.gatewayPort)),
        user: gateway,
        setpriv,
        nodeOptions,
        // The guards act only where the marker is; a respawned gateway would run unguarded.
        extraEnv: { [GATEWAY_MARKER]: "1", OPENCLAW_NO_RESPAWN: "1", ...(!rootMode && token ? { OPENCLAW_GATEWAY_TOKEN: token } : {}) },
        cwd: gateway && existsSync(gateway.home) ? gateway.home : "/",
      };
  const role = options.command ? `one-shot '${options.command[0]}'` : "gateway";
  const who = plan.user?.name ?? `uid ${process.getuid!()}`;
  runInitLoop({
    addon: loadAddonOrExit(),
    graceSeconds: settings.stopGraceSeconds,
    launch: buildLaunch(plan, process.env, dropsApplied),
    afterLaunch: (pid, abort) => {
      log(`launch: ${role} pid ${pid} as ${who}`);
      if (!rootMode) return;
      void childResidualCapabilities(pid).then((kept) => {
        if (kept === undefined) return;
        if (kept.length === 0) return log(`capabilities: ${role} pid ${pid} has none of the must-drop capabilities in its bounding set`);
        const message = `capabilities: ${role} pid ${pid} keeps ${kept.map((c) => `cap_${c}`).join(", ")} in its bounding set`;
        if (settings.requireCapDrop) abort(STATUS.refused, `${message}; SUPERVISOR_REQUIRE_CAP_DROP=1: stopped it`);
        else log(message, "[SECURITY]");
      });
    },
  });
}
