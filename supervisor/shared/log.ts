// PID 1's log: one event per line on stderr, written synchronously so nothing is lost when
// the supervisor exits right after logging. Text lines keep a stable prefix operators can
// grep for (`[supervisor]`, `[SECURITY]`); SUPERVISOR_LOG_FORMAT=json makes every line one
// JSON object with time, level, event and message. The gateway's own output never passes
// through here (wrapped, it is supervise/gateway-output.ts's).
import { writeSync } from "node:fs";

export type LogPrefix = "[supervisor]" | "[SECURITY]";

/** From most to least severe; a threshold shows its own level and the ones before it. */
export const LEVELS = ["error", "warn", "info", "debug"] as const;
export type Level = (typeof LEVELS)[number];

export type LogFormat = "text" | "json";

export interface LogConfig {
  threshold: Level;
  format: LogFormat;
  /** Text format only: an ISO time before each line (JSON lines always carry one). */
  timestamps: boolean;
  /** JSON format only: the gateway's output wrapped as JSON lines; else it passes through (the default). */
  gatewayOutput?: "pass" | "wrap";
}

export interface LogOptions {
  prefix?: LogPrefix;
  level?: Level;
  /** A stable dotted name such as "boot.token" or "gateway.exit", for machines. */
  event?: string;
  /** Extra facts for the JSON form (pid, state, layer, ...); text lines carry them in the message. */
  fields?: Record<string, string | number | boolean | null | undefined>;
}

/** The variables that configure the log; known to settings so they are not called unknown. */
export const LOG_VARIABLES = ["SUPERVISOR_LOG_LEVEL", "SUPERVISOR_LOG_FORMAT", "SUPERVISOR_LOG_TIMESTAMPS", "SUPERVISOR_LOG_GATEWAY_OUTPUT"] as const;

let config: LogConfig = { threshold: "info", format: "text", timestamps: false };

export function configureLog(next: LogConfig): void {
  config = next;
}

export function logConfig(): LogConfig {
  return config;
}

export class LogSettingsError extends Error {}

/**
 * Pure: the log configuration from the environment, with `threshold` as the default level
 * (`run` and one-shot commands are quiet by default, the gateway's boot is not), moved by
 * `verbosity` (each -v one level more, each -q one less). Throws LogSettingsError with one line.
 */
export function logConfigFrom(env: NodeJS.ProcessEnv, threshold: Level, verbosity = 0): LogConfig {
  // Case does not matter: DEBUG is what many fleets already set.
  const level = env.SUPERVISOR_LOG_LEVEL?.toLowerCase();
  if (level !== undefined && level !== "" && !(LEVELS as readonly string[]).includes(level)) {
    throw new LogSettingsError(`SUPERVISOR_LOG_LEVEL=${JSON.stringify(env.SUPERVISOR_LOG_LEVEL)}: expected one of ${LEVELS.join(", ")}`);
  }
  const format = env.SUPERVISOR_LOG_FORMAT?.toLowerCase();
  if (format !== undefined && format !== "" && format !== "text" && format !== "json") {
    throw new LogSettingsError(`SUPERVISOR_LOG_FORMAT=${JSON.stringify(env.SUPERVISOR_LOG_FORMAT)}: expected text or json`);
  }
  const timestamps = env.SUPERVISOR_LOG_TIMESTAMPS;
  if (timestamps !== undefined && timestamps !== "" && timestamps !== "0" && timestamps !== "1") {
    throw new LogSettingsError(`SUPERVISOR_LOG_TIMESTAMPS=${JSON.stringify(timestamps)}: expected 1 or 0`);
  }
  const gatewayOutput = env.SUPERVISOR_LOG_GATEWAY_OUTPUT?.toLowerCase();
  if (gatewayOutput !== undefined && gatewayOutput !== "" && gatewayOutput !== "pass" && gatewayOutput !== "wrap") {
    throw new LogSettingsError(`SUPERVISOR_LOG_GATEWAY_OUTPUT=${JSON.stringify(env.SUPERVISOR_LOG_GATEWAY_OUTPUT)}: expected pass or wrap`);
  }
  if (gatewayOutput === "wrap" && format !== "json") {
    throw new LogSettingsError("SUPERVISOR_LOG_GATEWAY_OUTPUT=wrap: expected SUPERVISOR_LOG_FORMAT=json as well (text logs pass the gateway's lines through as they are)");
  }
  const base = level ? LEVELS.indexOf(level as Level) : LEVELS.indexOf(threshold);
  const index = Math.min(LEVELS.length - 1, Math.max(0, base + verbosity));
  return {
    threshold: LEVELS[index]!,
    format: format === "json" ? "json" : "text",
    timestamps: timestamps === "1",
    gatewayOutput: gatewayOutput === "wrap" ? "wrap" : "pass",
  };
}

/** Pure: the line for one event, or undefined when the threshold hides it. */
export function formatLogLine(message: string, options: LogOptions, settings: LogConfig, now: Date): string | undefined {
  const security = options.prefix === "[SECURITY]";
  const level = options.level ?? (security ? "warn" : "info");
  // A missing protection is never hidden: [SECURITY] lines show at every threshold.
  if (!security && LEVELS.indexOf(level) > LEVELS.indexOf(settings.threshold)) return undefined;
  if (settings.format === "json") {
    const record: Record<string, unknown> = {
      time: now.toISOString(),
      level,
      event: options.event ?? topicEvent(security ? "security" : "supervisor", message),
      message,
    };
    if (security) record.security = true;
    for (const [key, value] of Object.entries(options.fields ?? {})) if (value !== undefined && !(key in record)) record[key] = value;
    return `${JSON.stringify(record)}\n`;
  }
  const time = settings.timestamps ? `${now.toISOString()} ` : "";
  return `${time}${options.prefix ?? "[supervisor]"} ${message.replace(/[\r\n]+/g, " ")}\n`;
}

/**
 * Pure: the event of a line that names none, from its leading topic ("config integrity:
 * ..." under [SECURITY] is "security.config-integrity"); just the area when it has none.
 */
export function topicEvent(area: string, message: string): string {
  const topic = /^([a-z][a-z -]{0,30}):/.exec(message)?.[1];
  return topic === undefined ? area : `${area}.${topic.trim().replace(/[ ]+/g, "-")}`;
}

/** Logs one event; the second argument is a prefix (the common case) or the full options. */
export function log(message: string, options: LogPrefix | LogOptions = {}): void {
  const line = formatLogLine(message, typeof options === "string" ? { prefix: options } : options, config, new Date());
  if (line === undefined) return;
  try {
    writeSync(2, line);
  } catch {
    // stderr closed: a supervisor must not die because nobody reads its log.
  }
}

/** A handler failed and PID 1 carries on: always "internal error ..." at level error, event internal.error. */
export function logInternalError(what: string): void {
  log(`internal error ${what}`, { event: "internal.error", level: "error" });
}
