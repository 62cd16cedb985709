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
import { serveGateway } from "./gateway-service.js";
import type { PreparedLaunch } from "./supervise.js";

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
    try {
      writeConfigAndHash(paths, bytes, fileOwnership(settings, sandbox));
    } catch (error) {
      const hint = settings.posture === "mutable" ? " (mutable posture: root must be in the sandbox user's group)" : "";
      refuse(`token: cannot write the config: ${(error as Error).message}${hint}`);
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

/** Step 5, also run before every relaunch: stage and verify the guards, write the proxy env. */
function stageGuardsAndEnvironment(settings: Settings, owner: { uid: number; gid: number }): string {
  const staged = stageGuards(settings.preloadSourceDir, settings.tmpDir, owner);
  const nodeOptions = composeNodeOptions(process.env.NODE_OPTIONS, staged);
  writeFileAtomic(
    join(settings.tmpDir, PROXY_ENV_FILE),
    proxyEnvScript(join(settings.tmpDir, TOKEN_ENV_FILE), nodeOptions, process.env),
    { mode: 0o444, ...owner },
  );
  log(`preload guards: staged and verified ${staged.join(", ")}`);
  return nodeOptions;
}

/** Logs the capabilities the real child kept; resolves with them (undefined if it is gone). */
async function reportChildCapabilities(role: string, pid: number): Promise<string[] | undefined> {
  const kept = await childResidualCapabilities(pid);
  if (kept === undefined) return undefined;
  if (kept.length === 0) log(`capabilities: ${role} pid ${pid} has none of the must-drop capabilities in its bounding set`);
  else log(`capabilities: ${role} pid ${pid} keeps ${kept.map((c) => `cap_${c}`).join(", ")} in its bounding set`, "[SECURITY]");
  return kept;
}

export function boot(options: BootOptions): void {
  try {
    bootChain(options);
  } catch (error) {
    // Anything not refused on purpose above is still one line, not a stack trace.
    exitWith(STATUS.ownFailure, `boot failed: ${(error as Error).message.split("\n")[0]}`);
  }
}

function bootChain(options: BootOptions): void {
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
  let supervisorKept: string[] = [];
  if (rootMode) {
    const outcome = dropOwnCapabilities();
    log(outcome.message, outcome.kind === "residual" ? "[SECURITY]" : "[supervisor]");
    if (outcome.kind === "residual") supervisorKept = outcome.residual;
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
    nodeOptions = stageGuardsAndEnvironment(settings, owner);
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
  const role = options.command ? `one-shot '${options.command[0]}'` : "gateway";
  if (options.command) {
    const plan: LaunchPlan = { command: options.command, user: rootMode ? sandbox : undefined, setpriv, nodeOptions, extraEnv: {}, cwd: callerCwd };
    const who = plan.user?.name ?? `uid ${process.getuid!()}`;
    return runInitLoop({
      addon: loadAddonOrExit(),
      graceSeconds: settings.stopGraceSeconds,
      launch: buildLaunch(plan, process.env, dropsApplied),
      afterLaunch: (pid, abort) => {
        log(`launch: ${role} pid ${pid} as ${who}`);
        if (!rootMode) return;
        void reportChildCapabilities(role, pid).then((kept) => {
          if (kept?.length && settings.requireCapDrop) abort(STATUS.refused, `${role} kept capabilities; SUPERVISOR_REQUIRE_CAP_DROP=1: stopped it`);
        });
      },
    });
  }

  const gatewayPlan: LaunchPlan = {
    command: settings.gatewayCommand.map((arg) => withPort(arg, settings.gatewayPort)),
    user: gateway,
    setpriv,
    nodeOptions,
    // The guards act only where the marker is; a respawned gateway would run unguarded.
    extraEnv: { [GATEWAY_MARKER]: "1", OPENCLAW_NO_RESPAWN: "1", ...(!rootMode && token ? { OPENCLAW_GATEWAY_TOKEN: token } : {}) },
    cwd: gateway && existsSync(gateway.home) ? gateway.home : "/",
  };
  let firstLaunch = true;
  // Every relaunch re-verifies the config and re-stages the guards (SPEC 4); the first
  // launch uses what the boot chain has just done.
  const prepareLaunch = (): PreparedLaunch => {
    if (!firstLaunch) {
      const again = verifyConfig(paths, settings.posture);
      if (!again.ok) return { ok: false, layer: "config integrity", message: again.reason };
      try {
        gatewayPlan.nodeOptions = stageGuardsAndEnvironment(settings, owner);
      } catch (error) {
        return { ok: false, layer: "guards missing", message: (error as Error).message };
      }
    }
    firstLaunch = false;
    return { ok: true, launch: buildLaunch(gatewayPlan, process.env, dropsApplied) };
  };
  serveGateway({
    addon: loadAddonOrExit(),
    settings,
    rootMode,
    gatewayUid: gateway?.uid ?? process.getuid!(),
    prepareLaunch,
    afterLaunch: (pid) => {
      log(`launch: gateway pid ${pid} as ${gateway?.name ?? `uid ${process.getuid!()}`}`);
      return rootMode ? reportChildCapabilities(role, pid) : Promise.resolve([]);
    },
    supervisorKept,
  });
}
