// `supervisor boot`: the sandbox boot chain (SPEC 3), one log line per step, then the
// gateway (or one command) under PID 1's loop. The chain produces a prepared launch and
// hands it over; nothing after it reaches back.
import { existsSync, mkdirSync } from "node:fs";
import { useNativeFs } from "../shared/dir-fd.js";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { DEFAULTS, gatewayUidProblem, loadSettings, SettingsError, withPort, type Settings } from "../shared/settings.js";
import { findUser, type UserEntry } from "../shared/users.js";
import { exitWith, STATUS } from "../init/exit.js";
import { runInitLoop } from "../init/init-loop.js";
import { configureLogOrExit, loadAddonOrExit } from "../init/run.js";
import { findSetpriv } from "../init/step-down.js";
import { readPortProtection } from "../supervise/port-guard.js";
import type { PreparedLaunch } from "../supervise/supervisor.js";
import { dropOwnCapabilities } from "./capability-drop.js";
import { checkOwnCapabilities } from "./capability-preflight.js";
import { CONFIG_FILE, HASH_FILE, verifyConfig, type IntegrityPaths } from "./config-integrity.js";
import { stageGuardedEnvironment } from "./guarded-environment.js";
import {
  buildLaunch,
  canDropChildCapabilities,
  GATEWAY_MARKER,
  keptForGateway,
  predictedResidual,
  reportChildCapabilities,
  type LaunchPlan,
} from "./launch.js";
import { checkLegacyLayout } from "./legacy-layout.js";
import { GuardError, type GuardOwner } from "./preload-guards.js";
import { deliverToken, removeTokenFile } from "./token-delivery.js";
import { unwritable, writablePaths } from "./writable-paths.js";
import { SUPERVISED_GATEWAY_ENV } from "../supervise/openclaw-contract.js";

export interface BootOptions {
  /** A one-shot command to run as the sandbox user instead of the gateway. */
  command?: string[];
  /** -v/-q: log levels more (positive) or less than the default. */
  verbosity?: number;
}

function refuse(message: string, security = false): never {
  return exitWith(STATUS.refused, message, security ? "[SECURITY]" : "[supervisor]");
}

function requireUser(name: string, role: string): UserEntry {
  const user = findUser(name);
  if (user === undefined) refuse(`no user '${name}' (${role}) in /etc/passwd: refusing to run anything as root`);
  return user;
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
  // A one-shot command's output is the user's: boot steps show only when asked for.
  configureLogOrExit(options.command ? "warn" : "info", options.verbosity);
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
  const notWritable = unwritable(writablePaths(settings, rootMode));
  if (notWritable !== undefined) refuse(notWritable);

  // 1. Own bounding set (root), or say once which protections are off (non-root).
  const addon = loadAddonOrExit();
  let supervisorKept: string[] = [];
  if (rootMode) {
    const needs = checkOwnCapabilities();
    if (!needs.ok) refuse(needs.message);
    const outcome = dropOwnCapabilities(addon, keptForGateway(settings.gatewayNetBindService));
    log(outcome.message, outcome.kind === "residual" ? "[SECURITY]" : "[supervisor]");
    if (outcome.kind === "residual") supervisorKept = outcome.residual;
  } else {
    log(
      `non-root mode (uid ${process.getuid!()}): no capability drop, no step-down to separate users, ` +
        "config read-only, token passed in the gateway's environment",
      "[SECURITY]",
    );
  }
  // The chain's own file work goes through the addon's *at() calls (loaded once, above: the
  // capability drop needs it too; after a fallback re-exec this is the new program's load).
  useNativeFs(addon);
  // Before the chain reads or writes anything: the previous boot's token must never be read
  // as this boot's (its file work goes through the addon, loaded just above).
  removeTokenFile(settings);
  const sandbox = requireUser(settings.sandboxUser, "sandbox user");
  const gateway = options.command ? undefined : rootMode ? requireUser(settings.gatewayUser, "gateway user") : undefined;
  const uidProblem = options.command ? undefined : gatewayUidProblem(gateway?.uid ?? process.getuid!(), sandbox.uid, rootMode);
  if (uidProblem !== undefined) refuse(uidProblem);
  const setpriv = rootMode ? findSetpriv() : undefined;
  if (rootMode && setpriv === undefined) refuse("setpriv not found (install util-linux): refusing to run anything as root");

  // 2. Legacy symlink layout.
  const layout = checkLegacyLayout(settings.configDir, settings.dataDir);
  if (!layout.ok) refuse(`legacy layout: ${layout.reason}`, true);
  log(`legacy layout: ${layout.links} symlink(s) in ${settings.configDir}, all inside ${settings.dataDir}`);

  // 3. Config integrity; nothing is modified before this passes.
  const paths: IntegrityPaths = {
    configDir: settings.configDir,
    stateDir: settings.stateDir,
    reference: { path: settings.configReference, required: settings.configReference !== DEFAULTS.configReference },
  };
  if (rootMode) mkdirSync(settings.stateDir, { recursive: true, mode: 0o700 });
  const verdict = verifyConfig(paths, settings.posture);
  if (!verdict.ok) refuse(`config integrity: ${verdict.reason}`, true);
  const against = verdict.reference === "matched" ? `${HASH_FILE} and the image reference ${settings.configReference}` : HASH_FILE;
  log(
    verdict.integrity === "not-enforced"
      ? `config: ${CONFIG_FILE} parsed; mutable posture, integrity is not enforced`
      : `config: ${CONFIG_FILE} verified against ${against} (${settings.posture} posture${verdict.integrity === "verified" ? "" : `, ${verdict.integrity}`})`,
  );
  if (verdict.reference === "absent") {
    log(
      `config: no image reference of the config at ${settings.configReference}: a recreated container trusts any ` +
        `self-consistent ${CONFIG_FILE} its volume holds (bake one into the image, see docs/threat-model.md)`,
      "[SECURITY]",
    );
  }

  // 4. Token.
  const token = deliverToken({ settings, rootMode, sandbox, config: verdict.config, verifiedBytes: verdict.bytes, paths });

  // 5. Preload guards and the shells' environment.
  const owner: GuardOwner = rootMode ? { uid: 0, gid: 0 } : { uid: process.getuid!(), gid: process.getgid!() };
  let nodeOptions: string;
  try {
    nodeOptions = stageGuardedEnvironment(settings, owner);
  } catch (error) {
    if (error instanceof GuardError) refuse(`refusing unguarded gateway launch: ${error.message}`, true);
    throw error;
  }

  // 6. Launch as the unprivileged user.
  const dropsApplied = rootMode && canDropChildCapabilities();
  const gatewayCaps = rootMode ? keptForGateway(settings.gatewayNetBindService) : [];
  const residual = rootMode ? predictedResidual(dropsApplied, gatewayCaps) : [];
  if (residual.length > 0) {
    const message = `capabilities: a launched child would keep ${residual.join(",")}${dropsApplied ? "" : " (no CAP_SETPCAP for setpriv)"}`;
    if (settings.requireCapDrop) refuse(`${message}; SUPERVISOR_REQUIRE_CAP_DROP=1 refuses the launch`, true);
  }
  if (options.command) {
    const plan: LaunchPlan = {
      command: options.command,
      user: rootMode ? sandbox : undefined,
      setpriv,
      nodeOptions,
      extraEnv: {},
      cwd: callerCwd,
      extraDrops: gatewayCaps,
    };
    return runOneShot(addon, plan, settings, dropsApplied);
  }

  const gatewayPlan: LaunchPlan = {
    command: settings.gatewayCommand.map((arg) => withPort(arg, settings.gatewayPort)),
    user: gateway,
    setpriv,
    nodeOptions,
    // The guards act only where the marker is; a respawned gateway would run unguarded.
    extraEnv: { [GATEWAY_MARKER]: "1", ...SUPERVISED_GATEWAY_ENV, ...(!rootMode && token ? { OPENCLAW_GATEWAY_TOKEN: token } : {}) },
    cwd: gateway && existsSync(gateway.home) ? gateway.home : "/",
    ambient: gatewayCaps,
  };
  logPortProtection(settings, rootMode);
  // Imported here, not at the top: a one-shot boot never evaluates the supervise and control
  // stages (node:http, node:net), a tenth of its start-up.
  const prepareLaunch = relaunchPreparer(gatewayPlan, settings, paths, owner, dropsApplied);
  void import("./gateway-mode.js")
    .then(({ serveGateway }) =>
      serveGateway({
        addon,
        settings,
        rootMode,
        gatewayUid: gateway?.uid ?? process.getuid!(),
        prepareLaunch,
        afterLaunch: (pid) => {
          log(`launch: gateway pid ${pid} as ${gateway?.name ?? `uid ${process.getuid!()}`}`);
          return rootMode ? reportChildCapabilities("gateway", pid, gatewayCaps) : Promise.resolve([]);
        },
        supervisorKept,
      }),
    )
    .catch((error: unknown) => exitWith(STATUS.ownFailure, `boot failed: ${(error as Error).message.split("\n")[0]}`));
}

/**
 * Whether the sandbox user can take the gateway's port (issue 9, attack 5), said once: only
 * a port below net.ipv4.ip_unprivileged_port_start is out of its reach, and then the
 * gateway needs CAP_NET_BIND_SERVICE to listen on it.
 */
function logPortProtection(settings: Settings, rootMode: boolean): void {
  const { port, protected: isProtected, unprivilegedPortStart } = readPortProtection(settings.gatewayPort);
  const sysctl = `ip_unprivileged_port_start=${unprivilegedPortStart ?? "unknown"}`;
  if (!isProtected) {
    log(
      `port: ${port} is not protected (${sysctl}): any user of the container may listen on it while the gateway is down; ` +
        `a squatter is named and, in root mode, ended (set net.ipv4.ip_unprivileged_port_start=${port + 1} and gatewayNetBindService to close it)`,
    );
  } else if (rootMode && settings.gatewayNetBindService) {
    log(`port: ${port} is protected (${sysctl}); the gateway alone gets CAP_NET_BIND_SERVICE to listen on it`);
  } else {
    log(
      `port: ${port} is protected (${sysctl}), but the gateway has no CAP_NET_BIND_SERVICE to listen on it` +
        (rootMode ? "; set gatewayNetBindService (SUPERVISOR_GATEWAY_NET_BIND_SERVICE=1)" : " (non-root mode cannot give it one)"),
      { level: "warn", event: "port.unbindable" },
    );
  }
}

/** `boot -- CMD`: the one command as the sandbox user under the init loop, its status PID 1's. */
function runOneShot(addon: NativeAddon, plan: LaunchPlan, settings: Settings, dropsApplied: boolean): void {
  const role = `one-shot '${plan.command[0]}'`;
  const who = plan.user?.name ?? `uid ${process.getuid!()}`;
  runInitLoop({
    addon,
    graceSeconds: settings.stopGraceSeconds,
    launch: buildLaunch(plan, process.env, dropsApplied),
    afterLaunch: (pid, abort) => {
      log(`launch: ${role} pid ${pid} as ${who}`);
      if (plan.user === undefined) return;
      void reportChildCapabilities(role, pid).then((kept) => {
        if (kept?.length && settings.requireCapDrop) abort(STATUS.refused, `${role} kept capabilities; SUPERVISOR_REQUIRE_CAP_DROP=1: stopped it`);
      });
    },
  });
}

/**
 * Every relaunch re-verifies the config and re-stages the guards (SPEC 4); the first
 * launch uses what the boot chain has just done.
 */
function relaunchPreparer(
  plan: LaunchPlan,
  settings: Settings,
  paths: IntegrityPaths,
  owner: GuardOwner,
  dropsApplied: boolean,
): () => PreparedLaunch {
  let firstLaunch = true;
  return () => {
    if (!firstLaunch) {
      const again = verifyConfig(paths, settings.posture);
      if (!again.ok) return { ok: false, layer: "config integrity", message: again.reason };
      try {
        plan.nodeOptions = stageGuardedEnvironment(settings, owner);
      } catch (error) {
        return { ok: false, layer: "guards missing", message: (error as Error).message };
      }
    }
    firstLaunch = false;
    return { ok: true, launch: buildLaunch(plan, process.env, dropsApplied) };
  };
}
