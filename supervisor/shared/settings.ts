// Every path, user and knob of the boot chain: a default, overridden by the config file
// (/etc/sandbox-supervisor/config.json, or the file SUPERVISOR_CONFIG names), overridden
// by environment variables. Resolution is pure; bad values are one-line errors naming
// the file or variable and what was expected.
import { readFileSync } from "node:fs";
import { LOG_VARIABLES } from "./log.js";
import { CONFIG_JSON_LIMITS, parseBoundedJson } from "./bounded-json.js";
import { errorReason } from "./errors.js";
import { isObject } from "./json.js";

/** Config posture (docs/supervisor-boot.md "Modes and postures"): locked (root-owned, immutable, hash enforced) or mutable (agent-editable). */
export type Posture = "locked" | "mutable";

/**
 * How much proof "healthy" takes: probes (a proven listener on the port, then the three
 * probes of OpenClaw's contract: liveness, startup "started", readiness shown), http (a
 * proven listener and GET healthUrl answering 200 or 401, for gateways with one health
 * endpoint), listener (a proven listener, for gateways without HTTP), process (the launched
 * process is alive, for gateways that do not listen at all).
 */
export type HealthMode = "probes" | "http" | "listener" | "process";

export const HEALTH_MODES: readonly HealthMode[] = ["probes", "http", "listener", "process"];

/**
 * How OpenClaw restarts itself (a config change that needs it, SIGUSR2): in-process (the
 * gateway gets OPENCLAW_NO_RESPAWN=1 and restarts under the same pid) or handoff (it exits 0
 * after writing a restart handoff; the supervisor consumes it with restartHandoffCommand and
 * relaunches at once).
 */
export type GatewayRestarts = "in-process" | "handoff";

export interface Settings {
  /** Config directory holding openclaw.json and .config-hash. */
  configDir: string;
  /** Where legacy symlinks in configDir may point. */
  dataDir: string;
  /** Trusted, root-owned sources of the preload guards. */
  preloadSourceDir: string;
  /** Where staged guards, the token env file and the proxy env file go. */
  tmpDir: string;
  /** Root-only runtime directory (control socket, native helper). */
  runDir: string;
  /** Root-only durable state (write intents). */
  stateDir: string;
  /** Where PID 1 publishes the config the gateway reads (never the sandbox user's config directory). */
  gatewayConfigDir: string;
  /** The gateway's environment variable that names its config file (OpenClaw: OPENCLAW_CONFIG_PATH). */
  gatewayConfigEnv: string;
  /**
   * The image's reference of openclaw.json (token aside), root-owned: the locked posture's
   * trust anchor that a recreated container still has. Missing at the default path: boot
   * goes on with a [SECURITY] line; missing at a path the operator named: boot refuses.
   */
  configReference: string;
  sandboxUser: string;
  gatewayUser: string;
  /** Gateway argv; "{port}" is replaced by the port. */
  gatewayCommand: string[];
  gatewayRestarts: GatewayRestarts;
  /**
   * The gateway's restart-handoff command (OpenClaw: `openclaw gateway restart-handoff`), run as
   * the gateway user with "capabilities --json" and "consume --expected-pid PID --json" after
   * it; empty: none (gatewayRestarts handoff needs one).
   */
  restartHandoffCommand: string[];
  gatewayPort: number;
  /** Health mode http: the one health endpoint. "{port}" is replaced by the port. */
  healthUrl: string;
  /** Health mode probes: is the process serving (OpenClaw's /healthz). */
  livenessUrl: string;
  /** Health mode probes: has start-up finished (OpenClaw's /startupz: starting, started, draining). */
  startupUrl: string;
  /** Health mode probes: can it take traffic (OpenClaw's /readyz, with the failing subsystems); shown, never acted on. */
  readinessUrl: string;
  healthMode: HealthMode;
  posture: Posture;
  /** Seconds between SIGTERM and SIGKILL when the gateway is stopped for PID 1's own shutdown or by the watchdog. */
  stopGraceSeconds: number;
  /** Seconds between SIGTERM and SIGKILL when a restart or stop is asked for: the gateway's drain budget. */
  restartDrainSeconds: number;
  /** Fail closed when a launched child keeps a must-drop capability. */
  requireCapDrop: boolean;
  /**
   * Root mode: PID 1 keeps CAP_NET_BIND_SERVICE and gives it to the gateway alone, as an
   * ambient capability, so it can listen on a port made privileged with
   * net.ipv4.ip_unprivileged_port_start (which keeps the sandbox user off the port).
   */
  gatewayNetBindService: boolean;
  /** Where the token's 32 random bytes are read from. */
  entropySource: string;
  /** Crash loop: first backoff, cap, stable period, quarantine threshold and window (seconds, count). */
  backoffInitialSeconds: number;
  backoffMaxSeconds: number;
  stableAfterSeconds: number;
  quarantineAfter: number;
  quarantineWindowSeconds: number;
  /** Watchdog: how long a new gateway may go without progress before it is healthy. */
  bootGraceSeconds: number;
  /** While it makes progress (CPU time, a listener), a booting gateway gets up to this long. */
  bootGraceMaxSeconds: number;
  probeIntervalSeconds: number;
  probeTimeoutSeconds: number;
  /** Consecutive failed probes of a running gateway before the watchdog replaces it. */
  unhealthyThreshold: number;
  /** Quarantine cool-down before one probation relaunch; doubles up to the max; 0: no probation. */
  probationSeconds: number;
  probationMaxSeconds: number;
}

export const DEFAULT_SETTINGS_FILE = "/etc/sandbox-supervisor/config.json";

/**
 * Where a supervisor running as `uid` keeps its control socket unless runDir says otherwise:
 * root's /run/supervisor, or (non-root mode, which cannot create that) a private directory
 * of its own in /tmp. Either is checked before use: owned by that uid, mode 0700.
 */
export function defaultRunDir(uid: number): string {
  return uid === 0 ? "/run/supervisor" : `/tmp/supervisor-${uid}`;
}

/** Where the gateway's config is published unless gatewayConfigDir says otherwise (see defaultRunDir). */
export function defaultGatewayConfigDir(uid: number): string {
  return uid === 0 ? "/run/supervisor-gateway" : `${defaultRunDir(uid)}/gateway`;
}

export const DEFAULTS: Settings = {
  configDir: "/sandbox/.openclaw",
  dataDir: "/sandbox/.openclaw-data",
  preloadSourceDir: "/usr/local/lib/nemoclaw/preloads",
  tmpDir: "/tmp",
  runDir: "/run/supervisor",
  stateDir: "/var/lib/sandbox-supervisor",
  gatewayConfigDir: "/run/supervisor-gateway",
  gatewayConfigEnv: "OPENCLAW_CONFIG_PATH",
  configReference: "/usr/local/share/sandbox-supervisor/openclaw.reference.json",
  sandboxUser: "sandbox",
  gatewayUser: "gateway",
  gatewayCommand: ["openclaw", "gateway", "run", "--port", "{port}"],
  gatewayRestarts: "in-process",
  restartHandoffCommand: [],
  gatewayPort: 18789,
  healthUrl: "http://127.0.0.1:{port}/health",
  livenessUrl: "http://127.0.0.1:{port}/healthz",
  startupUrl: "http://127.0.0.1:{port}/startupz",
  readinessUrl: "http://127.0.0.1:{port}/readyz",
  healthMode: "probes",
  posture: "locked",
  // Below Docker's own 10 s stop timeout, so the supervisor's SIGKILL comes before Docker's.
  stopGraceSeconds: 8,
  // OpenClaw caps its own drain at 315 s so that systemd's 330 s stop limit never cuts it
  // (docs/cli/gateway/restart-and-supervision.md of OpenClaw): the same 330 s here. A gateway
  // with no work in flight exits at once, so a restart only takes this long when work is.
  restartDrainSeconds: 330,
  requireCapDrop: false,
  gatewayNetBindService: false,
  entropySource: "/dev/urandom",
  backoffInitialSeconds: 1,
  backoffMaxSeconds: 60,
  stableAfterSeconds: 60,
  quarantineAfter: 5,
  quarantineWindowSeconds: 300,
  bootGraceSeconds: 30,
  bootGraceMaxSeconds: 300,
  probeIntervalSeconds: 5,
  probeTimeoutSeconds: 2,
  unhealthyThreshold: 3,
  probationSeconds: 600,
  probationMaxSeconds: 3600,
};

type Kind = "path" | "name" | "variable" | "argv" | "port" | "url" | "healthMode" | "gatewayRestarts" | "posture" | "seconds" | "flag" | "count";

/** Each setting: its key in the config file, its environment variable, its kind. */
const FIELDS: Record<keyof Settings, { env: string; kind: Kind }> = {
  configDir: { env: "SUPERVISOR_CONFIG_DIR", kind: "path" },
  dataDir: { env: "SUPERVISOR_DATA_DIR", kind: "path" },
  preloadSourceDir: { env: "SUPERVISOR_PRELOAD_DIR", kind: "path" },
  tmpDir: { env: "SUPERVISOR_TMP_DIR", kind: "path" },
  runDir: { env: "SUPERVISOR_RUN_DIR", kind: "path" },
  stateDir: { env: "SUPERVISOR_STATE_DIR", kind: "path" },
  gatewayConfigDir: { env: "SUPERVISOR_GATEWAY_CONFIG_DIR", kind: "path" },
  gatewayConfigEnv: { env: "SUPERVISOR_GATEWAY_CONFIG_ENV", kind: "variable" },
  configReference: { env: "SUPERVISOR_CONFIG_REFERENCE", kind: "path" },
  sandboxUser: { env: "SUPERVISOR_SANDBOX_USER", kind: "name" },
  gatewayUser: { env: "SUPERVISOR_GATEWAY_USER", kind: "name" },
  gatewayCommand: { env: "SUPERVISOR_GATEWAY_COMMAND", kind: "argv" },
  gatewayRestarts: { env: "SUPERVISOR_GATEWAY_RESTARTS", kind: "gatewayRestarts" },
  restartHandoffCommand: { env: "SUPERVISOR_RESTART_HANDOFF_COMMAND", kind: "argv" },
  gatewayPort: { env: "SUPERVISOR_GATEWAY_PORT", kind: "port" },
  healthUrl: { env: "SUPERVISOR_HEALTH_URL", kind: "url" },
  livenessUrl: { env: "SUPERVISOR_LIVENESS_URL", kind: "url" },
  startupUrl: { env: "SUPERVISOR_STARTUP_URL", kind: "url" },
  readinessUrl: { env: "SUPERVISOR_READINESS_URL", kind: "url" },
  healthMode: { env: "SUPERVISOR_HEALTH_MODE", kind: "healthMode" },
  posture: { env: "SUPERVISOR_CONFIG_POSTURE", kind: "posture" },
  stopGraceSeconds: { env: "SUPERVISOR_STOP_GRACE", kind: "seconds" },
  restartDrainSeconds: { env: "SUPERVISOR_RESTART_DRAIN_SECONDS", kind: "seconds" },
  requireCapDrop: { env: "SUPERVISOR_REQUIRE_CAP_DROP", kind: "flag" },
  gatewayNetBindService: { env: "SUPERVISOR_GATEWAY_NET_BIND_SERVICE", kind: "flag" },
  entropySource: { env: "SUPERVISOR_ENTROPY_SOURCE", kind: "path" },
  backoffInitialSeconds: { env: "SUPERVISOR_BACKOFF_INITIAL", kind: "seconds" },
  backoffMaxSeconds: { env: "SUPERVISOR_BACKOFF_MAX", kind: "seconds" },
  stableAfterSeconds: { env: "SUPERVISOR_STABLE_AFTER", kind: "seconds" },
  quarantineAfter: { env: "SUPERVISOR_QUARANTINE_AFTER", kind: "count" },
  quarantineWindowSeconds: { env: "SUPERVISOR_QUARANTINE_WINDOW", kind: "seconds" },
  bootGraceSeconds: { env: "SUPERVISOR_BOOT_GRACE", kind: "seconds" },
  bootGraceMaxSeconds: { env: "SUPERVISOR_BOOT_GRACE_MAX", kind: "seconds" },
  probeIntervalSeconds: { env: "SUPERVISOR_PROBE_INTERVAL", kind: "seconds" },
  probeTimeoutSeconds: { env: "SUPERVISOR_PROBE_TIMEOUT", kind: "seconds" },
  unhealthyThreshold: { env: "SUPERVISOR_UNHEALTHY_THRESHOLD", kind: "count" },
  probationSeconds: { env: "SUPERVISOR_PROBATION", kind: "seconds" },
  probationMaxSeconds: { env: "SUPERVISOR_PROBATION_MAX", kind: "seconds" },
};

export class SettingsError extends Error {}

/**
 * SUPERVISOR_* variables that are not settings of this file: the settings file's own name,
 * the log's, the guard of the boot chain's capability re-exec (set by the supervisor for its
 * own second start), and the two below.
 */
const OTHER_VARIABLES = [
  "SUPERVISOR_CONFIG",
  ...LOG_VARIABLES,
];

/** Read, but set only by the supervisor and its tools: never offered to an operator. */
const INTERNAL_VARIABLES = [
  "SUPERVISOR_CAPABILITIES_DROPPED",
  // Set by sandboxctl for the control commands' audit line (who asked).
  "SUPERVISOR_REQUEST_FROM",
  // Fault points of the test-only build (supervise/faults.ts); the release executables ignore it.
  "SUPERVISOR_FAULTS",
];

/** Every SUPERVISOR_* variable the supervisor reads; any other is a mistake worth one line. */
export const DOCUMENTED_VARIABLES: readonly string[] = [...Object.values(FIELDS).map((f) => f.env), ...OTHER_VARIABLES].sort();
export const KNOWN_VARIABLES: readonly string[] = [...DOCUMENTED_VARIABLES, ...INTERNAL_VARIABLES].sort();

/** Pure: the documented variable a mistyped name most likely meant, if one is close. */
export function closestVariable(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of DOCUMENTED_VARIABLES) {
    const distance = editDistance(name, known);
    if (distance <= 4 && (best === undefined || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Pure: the first SUPERVISOR_* variable nobody reads (a typo such as SUPERVISOR_GATEWAY_CMD). */
export function unknownVariable(env: NodeJS.ProcessEnv): string | undefined {
  return Object.keys(env)
    .filter((name) => name.startsWith("SUPERVISOR_") && !KNOWN_VARIABLES.includes(name))
    .sort()[0];
}

const EXPECTED: Record<Kind, string> = {
  path: "an absolute path",
  name: "a user name",
  variable: "an environment variable name",
  argv: "a non-empty JSON array of strings",
  port: "a port number from 1 to 65535",
  url: "an http:// URL",
  healthMode: '"probes", "http", "listener" or "process"',
  gatewayRestarts: '"in-process" or "handoff"',
  posture: '"locked" or "mutable"',
  seconds: "a number of seconds from 0 to 3600",
  flag: '"1"/"0" or true/false',
  count: "a whole number from 1 to 1000",
};

/** Parses one value; `fromEnv` values are strings, file values are JSON values. */
function parseValue(kind: Kind, raw: unknown, fromEnv: boolean): unknown {
  switch (kind) {
    case "path":
      return typeof raw === "string" && raw.startsWith("/") ? raw.replace(/\/+$/, "") || "/" : undefined;
    case "name":
      return typeof raw === "string" && /^[a-z_][a-z0-9_-]*\$?$/i.test(raw) ? raw : undefined;
    case "variable":
      return typeof raw === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw) && !raw.startsWith("SUPERVISOR_") ? raw : undefined;
    case "argv": {
      let value = raw;
      if (fromEnv) {
        try {
          value = JSON.parse(raw as string);
        } catch {
          return undefined;
        }
      }
      return Array.isArray(value) && value.length > 0 && value.every((a) => typeof a === "string" && a !== "")
        ? value
        : undefined;
    }
    case "port": {
      const n = fromEnv ? (/^\d+$/.test(raw as string) ? Number(raw) : NaN) : raw;
      return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
    }
    case "url":
      return typeof raw === "string" && /^http:\/\/[^\s]+$/.test(raw) ? raw : undefined;
    case "healthMode":
      return (HEALTH_MODES as readonly unknown[]).includes(raw) ? raw : undefined;
    case "gatewayRestarts":
      return raw === "in-process" || raw === "handoff" ? raw : undefined;
    case "posture":
      return raw === "locked" || raw === "mutable" ? raw : undefined;
    case "seconds": {
      const n = fromEnv ? (/^\d+(\.\d+)?$/.test(raw as string) ? Number(raw) : NaN) : raw;
      return typeof n === "number" && n >= 0 && n <= 3600 ? n : undefined;
    }
    case "count": {
      const n = fromEnv ? (/^\d+$/.test(raw as string) ? Number(raw) : NaN) : raw;
      return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 1000 ? n : undefined;
    }
    case "flag":
      if (fromEnv) return raw === "1" ? true : raw === "0" || raw === "" ? false : undefined;
      return typeof raw === "boolean" ? raw : undefined;
  }
}

/**
 * Resolves settings from defaults, the config file's text (undefined when there is no
 * file) and the environment. Throws SettingsError with one line on the first bad value.
 */
export function resolveSettings(env: NodeJS.ProcessEnv, fileText: string | undefined, fileName: string, supervisorUid = 0): Settings {
  const unknownName = unknownVariable(env);
  if (unknownName !== undefined) {
    const guess = closestVariable(unknownName);
    const hint = guess !== undefined ? `did you mean ${guess}? ` : "";
    throw new SettingsError(`${unknownName}: unknown variable (${hint}known: ${DOCUMENTED_VARIABLES.join(", ")})`);
  }
  let file: Record<string, unknown> = {};
  if (fileText !== undefined) {
    const parsed = parseBoundedJson(fileText, CONFIG_JSON_LIMITS);
    if (!parsed.ok) throw new SettingsError(`${fileName}: ${parsed.reason.replace(/^is /, "")}, expected a JSON object of settings`);
    if (!isObject(parsed.value)) throw new SettingsError(`${fileName}: expected a JSON object of settings`);
    file = parsed.value;
    const unknownKey = Object.keys(file).find((key) => !(key in FIELDS));
    if (unknownKey !== undefined) {
      throw new SettingsError(`${fileName}: unknown setting "${unknownKey}" (known: ${Object.keys(FIELDS).join(", ")})`);
    }
  }
  const settings: Record<string, unknown> = { ...DEFAULTS, runDir: defaultRunDir(supervisorUid), gatewayConfigDir: defaultGatewayConfigDir(supervisorUid) };
  for (const [key, { env: variable, kind }] of Object.entries(FIELDS)) {
    if (key in file) {
      const value = parseValue(kind, file[key], false);
      if (value === undefined) throw new SettingsError(`${fileName}: "${key}" must be ${EXPECTED[kind]}`);
      settings[key] = value;
    }
    const fromEnv = env[variable];
    if (fromEnv !== undefined) {
      const value = parseValue(kind, fromEnv, true);
      if (value === undefined) throw new SettingsError(`${variable}=${JSON.stringify(fromEnv)}: expected ${EXPECTED[kind]}`);
      settings[key] = value;
    }
  }
  return checkCombinations(settings as unknown as Settings, fileName);
}

/**
 * Settings that are each valid but wrong together. The gateway must run as a user of its
 * own: as root every stray hunt by uid would target root's processes (PID 1 included), and
 * as the sandbox user the agent could signal and trace it.
 */
function checkCombinations(settings: Settings, fileName: string): Settings {
  if (settings.gatewayUser === "root") {
    throw new SettingsError(`gatewayUser "root" (${fileName} or SUPERVISOR_GATEWAY_USER): expected an unprivileged user of the gateway's own`);
  }
  if (settings.gatewayUser === settings.sandboxUser) {
    throw new SettingsError(`gatewayUser and sandboxUser are both "${settings.sandboxUser}": the gateway needs a user of its own, or the agent can signal it`);
  }
  if (settings.gatewayRestarts === "handoff" && settings.restartHandoffCommand.length === 0) {
    throw new SettingsError(`gatewayRestarts "handoff" (${fileName} or SUPERVISOR_GATEWAY_RESTARTS) needs restartHandoffCommand, e.g. ["openclaw","gateway","restart-handoff"]`);
  }
  if (settings.bootGraceMaxSeconds < settings.bootGraceSeconds) {
    throw new SettingsError(`bootGraceMaxSeconds (${settings.bootGraceMaxSeconds}) is below bootGraceSeconds (${settings.bootGraceSeconds}): expected at least the grace`);
  }
  if (settings.probationSeconds > 0 && settings.probationMaxSeconds < settings.probationSeconds) {
    throw new SettingsError(`probationMaxSeconds (${settings.probationMaxSeconds}) is below probationSeconds (${settings.probationSeconds}): expected at least the cool-down`);
  }
  return settings;
}

/**
 * The same rule by uid, once /etc/passwd has named them (boot): another name for uid 0, or
 * the sandbox user's uid in root mode, is refused just as "root" is.
 */
export function gatewayUidProblem(gatewayUid: number, sandboxUid: number, rootMode: boolean): string | undefined {
  if (gatewayUid === 0) return `gateway user has uid 0: expected an unprivileged user of the gateway's own (setting gatewayUser)`;
  if (rootMode && gatewayUid === sandboxUid) {
    return `gateway user has the sandbox user's uid ${sandboxUid}: the agent could signal it; expected a user of the gateway's own (setting gatewayUser)`;
  }
  return undefined;
}

/**
 * Reads the settings file named by SUPERVISOR_CONFIG (must exist) or the default (may be
 * absent). `supervisorUid` is the uid PID 1 runs as (it decides the default run directory).
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, supervisorUid = process.getuid?.() ?? 0): Settings {
  const named = env.SUPERVISOR_CONFIG;
  const fileName = named ?? DEFAULT_SETTINGS_FILE;
  let text: string | undefined;
  try {
    text = readFileSync(fileName, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (named !== undefined || code !== "ENOENT") {
      throw new SettingsError(`${fileName}: cannot read settings (${errorReason(error)})`);
    }
  }
  return resolveSettings(env, text, fileName, supervisorUid);
}

/**
 * The uid of the supervisor a control command talks to: PID 1's (a `docker exec --user
 * root` into a non-root sandbox must find that user's run directory), else our own.
 */
export function supervisorUid(statusFile = "/proc/1/status"): number {
  try {
    const match = /^Uid:\s+(\d+)/m.exec(readFileSync(statusFile, "latin1"));
    if (match) return Number(match[1]);
  } catch {
    // No /proc of PID 1 to read (a test outside any namespace): our own uid.
  }
  return process.getuid?.() ?? 0;
}

/** The gateway argv and health URL with the port filled in. */
export function withPort(template: string, port: number): string {
  return template.replaceAll("{port}", String(port));
}
