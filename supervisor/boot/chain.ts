// `supervisor boot`: the sandbox boot chain (docs/supervisor-boot.md), one log line per
// step, ending in a prepared launch: the gateway's (with a preparer for every relaunch) or
// one command's. It only prepares: the composition root (supervisor/pid1.ts) hands the
// result to the loop that runs it. A refusal ends the supervisor here with one line (78).
import { closeSync, existsSync } from "node:fs";
import type { CapabilityName } from "../shared/capabilities.js";
import { useNativeFs } from "../shared/dir-fd.js";
import { errorMessage } from "../shared/errors.js";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import { DEFAULTS, gatewayUidProblem, loadSettings, SettingsError, withPort, type Settings } from "../shared/settings.js";
import { openStateDirectory } from "../shared/state-directory.js";
import { findUser, type UserEntry } from "../shared/users.js";
import { exitWith, STATUS } from "../init/exit.js";
import { configureLogOrExit, loadAddonOrExit } from "../init/run.js";
import { findSetpriv } from "../init/step-down.js";
import type { PreparedLaunch } from "../supervise/gateway-driver.js";
import { supervisedGatewayEnv } from "../supervise/openclaw-contract.js";
import type { Launch } from "../init/init-loop.js";
import { readPortProtection } from "../supervise/port-guard.js";
import { dropOwnCapabilities } from "./capability-drop.js";
import { checkOwnCapabilities } from "./capability-preflight.js";
import { CONFIG_FILE, HASH_FILE, verifyConfig, type ConfigAccess, type IntegrityPaths, type Verdict } from "./config-integrity.js";
import { stageGuardedEnvironment } from "./guarded-environment.js";
import { buildLaunch, canDropChildCapabilities, childEnvironment, GATEWAY_MARKER, keptForGateway, predictedResidual, type LaunchPlan } from "./launch.js";
import { checkLegacyLayout, MAX_ENTRIES } from "./legacy-layout.js";
import { commandProblem } from "./command-check.js";
import { ConfigMirror } from "./config-mirror.js";
import { asUser } from "./effective-user.js";
import { gatewayConfigEnv, gatewayConfigPlace, publishGatewayConfig, type GatewayConfigPlace } from "./gateway-config.js";
import { LaunchPreparer, type LaunchCheck } from "./launch-preparer.js";
import { GuardError, type GuardOwner } from "./preload-guards.js";
import { releaseConfigLock } from "./immutable.js";
import { CONFIG_FILES, configFileOwnership, deliverToken, removeTokenFile } from "./token-delivery.js";
import { unwritable, writablePaths } from "./writable-paths.js";

export interface BootOptions {
  /** A one-shot command to run as the sandbox user instead of the gateway. */
  command?: string[];
  /** -v/-q: log levels more (positive) or less than the default. */
  verbosity?: number;
}

/** What the chain hands over: everything a loop needs, nothing it must work out again. */
export type PreparedBoot = PreparedOneShot | PreparedGateway;

export interface PreparedOneShot {
  kind: "one-shot";
  addon: NativeAddon;
  settings: Settings;
  plan: LaunchPlan;
  dropsApplied: boolean;
}

export interface PreparedGateway {
  kind: "gateway";
  addon: NativeAddon;
  settings: Settings;
  rootMode: boolean;
  gatewayUid: number;
  /** For the log: the gateway user's name, or "uid N" in non-root mode. */
  gatewayName: string;
  /** Must-drop capabilities the gateway keeps on purpose (gatewayNetBindService). */
  gatewayCaps: CapabilityName[];
  /** The first call returns the launch the chain has just prepared; every later one prepares afresh. */
  prepareLaunch: () => PreparedLaunch;
  /** Would a launch now be possible? Writes nothing (a restart asks before it stops anything). */
  checkLaunch: () => LaunchCheck;
  /** The config's identity: what a config error waits to change. */
  configIdentity: () => string;
  /** The mutable posture's config mirror, for PID 1 to run every MIRROR_INTERVAL_MS. */
  mirror: ConfigMirror | undefined;
  /** The gateway's restart-handoff command with `args`, as the gateway user in its environment (gatewayRestarts handoff). */
  handoffLaunch: ((args: string[]) => Launch) | undefined;
  supervisorKept: string[];
  /** The locked posture's clean shutdown: the immutable flag off again (a line for the log). */
  releaseConfigLock: (() => string) | undefined;
}

/** The chain's state as it goes: each step adds what the next ones need. */
interface Chain {
  settings: Settings;
  rootMode: boolean;
  callerCwd: string;
  addon: NativeAddon;
  supervisorKept: string[];
}

interface Users {
  sandbox: UserEntry;
  gateway: UserEntry | undefined;
  setpriv: string | undefined;
}

function refuse(message: string, security = false): never {
  return exitWith(STATUS.refused, message, security ? "[SECURITY]" : "[supervisor]");
}

/** Runs the chain in order; every refusal exits here, so what it returns is ready to run. */
export function prepareBoot(options: BootOptions): PreparedBoot {
  const chain = ownCapabilities(startChain(options));
  const users = resolveUsers(chain, options.command !== undefined);
  // The mutable config directory is the sandbox user's: root works in it as that user.
  const configAs: ConfigAccess | undefined =
    chain.rootMode && chain.settings.posture === "mutable" ? <T>(work: () => T) => asUser(users.sandbox, work) : undefined;
  checkLayout(chain.settings, configAs ?? ((work) => work()));
  const { verdict, paths } = verifyConfigStep(chain, configAs);
  const { token, configBytes } = deliverToken({ settings: chain.settings, rootMode: chain.rootMode, sandbox: users.sandbox, config: verdict.config, verifiedBytes: verdict.bytes, paths });
  const owner: GuardOwner = chain.rootMode ? { uid: 0, gid: 0 } : { uid: process.getuid!(), gid: process.getgid!() };
  const nodeOptions = stageGuards(chain.settings, owner);
  const { dropsApplied, gatewayCaps } = childCapabilities(chain);
  if (options.command) {
    const plan: LaunchPlan = {
      command: options.command,
      user: chain.rootMode ? users.sandbox : undefined,
      setpriv: users.setpriv,
      nodeOptions,
      extraEnv: {},
      cwd: chain.callerCwd,
      extraDrops: gatewayCaps,
    };
    return { kind: "one-shot", addon: chain.addon, settings: chain.settings, plan, dropsApplied };
  }
  const { place, mirror } = publishForGateway(chain, users, paths, configBytes);
  const gatewayPlan = planGateway(chain, users, nodeOptions, token, gatewayCaps, gatewayConfigEnv(chain.settings, place));
  const commandRefused = commandProblem(gatewayPlan.command, childEnvironment(process.env, gatewayPlan));
  if (commandRefused !== undefined) refuse(commandRefused);
  logPortProtection(chain.settings, chain.rootMode);
  const preparer = new LaunchPreparer({ plan: gatewayPlan, settings: chain.settings, paths, owner, dropsApplied, place, mirror });
  return {
    kind: "gateway",
    addon: chain.addon,
    settings: chain.settings,
    rootMode: chain.rootMode,
    gatewayUid: users.gateway?.uid ?? process.getuid!(),
    gatewayName: users.gateway?.name ?? `uid ${process.getuid!()}`,
    gatewayCaps,
    prepareLaunch: preparer.prepare,
    checkLaunch: preparer.check,
    configIdentity: preparer.configIdentity,
    mirror,
    handoffLaunch:
      chain.settings.gatewayRestarts === "handoff"
        ? (args) => buildLaunch({ ...gatewayPlan, command: [...chain.settings.restartHandoffCommand, ...args] }, process.env, dropsApplied)
        : undefined,
    supervisorKept: chain.supervisorKept,
    releaseConfigLock: chain.rootMode && chain.settings.posture === "locked" ? () => releaseConfigLock(chain.settings.configDir, CONFIG_FILES) : undefined,
  };
}

/** Before step 1: the log, settings, and whether every path the chain writes is writable. */
function startChain(options: BootOptions): Omit<Chain, "addon" | "supervisorKept"> {
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
  return { settings, rootMode, callerCwd };
}

/** Step 1: own bounding set (root), or say once which protections are off (non-root). */
function ownCapabilities(chain: Omit<Chain, "addon" | "supervisorKept">): Chain {
  const addon = loadAddonOrExit();
  let supervisorKept: string[] = [];
  if (chain.rootMode) {
    const needs = checkOwnCapabilities();
    if (!needs.ok) refuse(needs.message);
    const outcome = dropOwnCapabilities(addon, keptForGateway(chain.settings.gatewayNetBindService));
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
  // as this boot's.
  removeTokenFile(chain.settings);
  return { ...chain, addon, supervisorKept };
}

function requireUser(name: string, role: string): UserEntry {
  const user = findUser(name);
  if (user === undefined) refuse(`no user '${name}' (${role}) in /etc/passwd: refusing to run anything as root`);
  return user;
}

/** The users the chain steps down to, and setpriv to do it with: all present, or a refusal. */
function resolveUsers(chain: Chain, oneShot: boolean): Users {
  const { settings, rootMode } = chain;
  const sandbox = requireUser(settings.sandboxUser, "sandbox user");
  const gateway = oneShot ? undefined : rootMode ? requireUser(settings.gatewayUser, "gateway user") : undefined;
  const uidProblem = oneShot ? undefined : gatewayUidProblem(gateway?.uid ?? process.getuid!(), sandbox.uid, rootMode);
  if (uidProblem !== undefined) refuse(uidProblem);
  const setpriv = rootMode ? findSetpriv() : undefined;
  if (rootMode && setpriv === undefined) refuse("setpriv not found (install util-linux): refusing to run anything as root");
  return { sandbox, gateway, setpriv };
}

/** Step 2: the legacy symlink layout. */
function checkLayout(settings: Settings, access: ConfigAccess): void {
  const layout = access(() => checkLegacyLayout(settings.configDir, settings.dataDir));
  if (!layout.ok) refuse(`legacy layout: ${layout.reason}`, true);
  log(`legacy layout: ${layout.links} symlink(s) in ${settings.configDir}, all inside ${settings.dataDir}`);
  if (layout.unchecked) {
    log(`legacy layout: ${settings.configDir} holds more than ${MAX_ENTRIES} entries; those beyond were not looked at`, "[SECURITY]");
  }
}

/** Step 3: config integrity; nothing is modified before this passes. */
function verifyConfigStep(chain: Chain, configAs: ConfigAccess | undefined): { verdict: Extract<Verdict, { ok: true }>; paths: IntegrityPaths } {
  const { settings } = chain;
  const paths: IntegrityPaths = {
    ...(configAs ? { configAs } : {}),
    configDir: settings.configDir,
    stateDir: settings.stateDir,
    reference: { path: settings.configReference, required: settings.configReference !== DEFAULTS.configReference },
  };
  if (chain.rootMode) closeSync(openStateDirectory(settings.stateDir, { uid: 0, gid: 0 }));
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
  return { verdict, paths };
}

/** Step 5: the preload guards and the shells' environment; returns the guarded NODE_OPTIONS. */
function stageGuards(settings: Settings, owner: GuardOwner): string {
  try {
    return stageGuardedEnvironment(settings, owner);
  } catch (error) {
    if (error instanceof GuardError) refuse(`refusing unguarded gateway launch: ${error.message}`, true);
    throw error;
  }
}

/** Step 6, first half: what a launched child could keep, refused under SUPERVISOR_REQUIRE_CAP_DROP. */
function childCapabilities(chain: Chain): { dropsApplied: boolean; gatewayCaps: CapabilityName[] } {
  const { settings, rootMode } = chain;
  const dropsApplied = rootMode && canDropChildCapabilities();
  const gatewayCaps = rootMode ? keptForGateway(settings.gatewayNetBindService) : [];
  const residual = rootMode ? predictedResidual(dropsApplied, gatewayCaps) : [];
  if (residual.length > 0) {
    const message = `capabilities: a launched child would keep ${residual.join(",")}${dropsApplied ? "" : " (no CAP_SETPCAP for setpriv)"}`;
    if (settings.requireCapDrop) refuse(`${message}; SUPERVISOR_REQUIRE_CAP_DROP=1 refuses the launch`, true);
  }
  return { dropsApplied, gatewayCaps };
}

/**
 * Step 6, first half: the config the gateway runs, published where the sandbox user cannot
 * reach (gateway-config.ts); in the mutable posture, the mirror that keeps it in step.
 */
function publishForGateway(chain: Chain, users: Users, paths: IntegrityPaths, configBytes: Uint8Array): { place: GatewayConfigPlace; mirror: ConfigMirror | undefined } {
  const { settings, rootMode } = chain;
  const gatewayIds = users.gateway ?? { uid: process.getuid!(), gid: process.getgid!() };
  const place = gatewayConfigPlace(settings, rootMode, gatewayIds);
  publishGatewayConfig(place, configBytes);
  const mirror = rootMode && settings.posture === "mutable" ? new ConfigMirror(paths, place, configFileOwnership(settings, users.sandbox)) : undefined;
  mirror?.remember(configBytes);
  log(`config: the gateway runs ${place.file}, published from the verified config${mirror ? "; changes on either side are carried over" : ""}`);
  return { place, mirror };
}

/** Step 6, second half: the gateway's launch plan as the unprivileged gateway user. */
function planGateway(
  chain: Chain,
  users: Users,
  nodeOptions: string,
  token: string | undefined,
  gatewayCaps: CapabilityName[],
  configEnv: Record<string, string>,
): LaunchPlan {
  const { settings, rootMode } = chain;
  const gateway = users.gateway;
  return {
    command: settings.gatewayCommand.map((arg) => withPort(arg, settings.gatewayPort)),
    user: gateway,
    setpriv: users.setpriv,
    nodeOptions,
    // The guards act only where the marker is; a respawned gateway would run unguarded.
    extraEnv: {
      [GATEWAY_MARKER]: "1",
      ...supervisedGatewayEnv(settings.gatewayRestarts),
      ...configEnv,
      ...(!rootMode && token ? { OPENCLAW_GATEWAY_TOKEN: token } : {}),
    },
    cwd: gateway && existsSync(gateway.home) ? gateway.home : "/",
    ambient: gatewayCaps,
  };
}

/**
 * Whether the sandbox user can take the gateway's port (docs/threat-model.md), said once:
 * only a port below net.ipv4.ip_unprivileged_port_start is out of its reach, and then the
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
