// How the supervisor ends: every path leads to exitWith(), with one of these statuses or
// the main child's own (exit code, or 128 + signal).
import { log, type LogOptions, type LogPrefix } from "../shared/log.js";

/** The supervisor's own outcomes (the conventions of env(1), shells and sysexits). */
export const STATUS = {
  usage: 2,
  /** Boot refused: settings, config integrity, layout, guards, capability requirement. */
  refused: 78,
  ownFailure: 125,
  cannotExecute: 126,
  notFound: 127,
} as const;

/** Logs `message` (an error unless the options say otherwise) and exits with `status`. */
export function exitWith(status: number, message?: string, options: LogPrefix | LogOptions = {}): never {
  const opts = typeof options === "string" ? { prefix: options } : options;
  if (message !== undefined) log(message, { level: "error", ...opts });
  process.exit(status);
}
