// How an answer from inside the container becomes sandboxctl's: which lines pass through,
// which exit status it means on the host, and the one line that stands in for anything
// that did not come from the supervisor (the engine's own errors, an image without it). Pure.
import { EXIT } from "./exit.js";

/** `supervisor restart|status|health|stop` statuses (docs/supervisor-*.md). */
const SUPERVISOR = { ok: 0, failed: 1, usage: 2, busy: 3, unavailable: 4, settings: 78 } as const;

/** exec: the executable could not be run (126) or found (127) in the container. */
const CANNOT_EXECUTE = new Set([126, 127]);

/**
 * A line of the command's own on stderr: progress (`restart: ...`) or its one failure line
 * (`restart failed (LAYER): ...`). Any other stderr line is held back until the exit
 * status tells whose it is.
 */
export function isCommandLine(command: string, line: string): boolean {
  return line.startsWith(`${command}: `) || line.startsWith(`${command} failed (`) || line.startsWith(`${command} refused (`);
}

/**
 * Whether a status 78 is the command's answer (restart refused before it stopped anything,
 * check found a problem) rather than settings the supervisor could not load: its output says.
 */
export function refusalAnswered(command: string, stderrLines: readonly string[], stdout: string): boolean {
  if (stderrLines.some((line) => line.startsWith(`${command} refused (`))) return true;
  if (command === "check" && /^(ok|problem) /m.test(stdout)) return true;
  const answer = jsonAnswer(stdout);
  return answer !== undefined && (answer.refused === true || (command === "check" && Array.isArray(answer.checks)));
}

export type Outcome =
  /** The supervisor answered: relay its output; exit with `exit`. */
  | { kind: "answered"; exit: number }
  /** No answer from the supervisor: print `message` (one line) and exit with `exit`. */
  | { kind: "no answer"; exit: number; message: string };

/** The supervisor's answer statuses as sandboxctl's: its busy (3) is 5 here, 3 being "not running". */
export function answeredExit(status: number): number | undefined {
  switch (status) {
    case SUPERVISOR.ok:
      return EXIT.ok;
    case SUPERVISOR.failed:
      return EXIT.failed;
    case SUPERVISOR.busy:
      return EXIT.busy;
    case SUPERVISOR.unavailable:
      return EXIT.unavailable;
    default:
      return undefined;
  }
}

function firstLine(lines: readonly string[]): string | undefined {
  return lines.map((line) => line.trim()).find((line) => line !== "");
}

/**
 * Pure: what the exit status of `ENGINE exec ... supervisor COMMAND` and the stderr lines
 * held back mean. `what` names the executable for the messages. docker and podman agree
 * on the statuses: 126 cannot execute, 127 not found, 125 the engine's own error.
 */
export function outcomeOf(status: number | null, held: readonly string[], container: string, what: string, engine = "docker", refused = false): Outcome {
  if (status !== null) {
    const exit = answeredExit(status);
    if (exit !== undefined) return { kind: "answered", exit };
  }
  if (status === SUPERVISOR.settings && refused) return { kind: "answered", exit: EXIT.refused };
  const detail = firstLine(held);
  if (status !== null && CANNOT_EXECUTE.has(status)) {
    const why = /no such file or directory|not found/i.test(detail ?? "") ? "not found" : "cannot be executed";
    return {
      kind: "no answer",
      exit: EXIT.unavailable,
      message: `container ${container} has no usable ${what} (${why}): is it a sandbox-supervisor image?`,
    };
  }
  if (status === SUPERVISOR.usage) {
    return {
      kind: "no answer",
      exit: EXIT.unavailable,
      message: `the supervisor in container ${container} does not accept the request (${detail ?? "usage error"}): is its image older than sandboxctl?`,
    };
  }
  if (status === SUPERVISOR.settings) {
    return { kind: "no answer", exit: EXIT.unavailable, message: `the supervisor in container ${container} cannot load its settings: ${detail ?? "status 78"}` };
  }
  const how = status === null ? "was killed" : `exited with ${status}`;
  return { kind: "no answer", exit: EXIT.unavailable, message: `${engine} exec in container ${container} ${how}${detail ? `: ${detail}` : ""}` };
}

export interface JsonFailure {
  ok: false;
  layer: string;
  message: string;
}

/** Pure: the one JSON object a `--json` command printed, or undefined if it printed anything else. */
export function jsonAnswer(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split("\n").filter((line) => line.trim() !== "");
  if (lines.length !== 1) return undefined;
  try {
    const value: unknown = JSON.parse(lines[0]!);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: the failure in a `--json` answer of the supervisor, if it is one. */
export function jsonFailure(answer: Record<string, unknown>): JsonFailure | undefined {
  if (answer.ok !== false) return undefined;
  return {
    ok: false,
    layer: typeof answer.layer === "string" ? answer.layer : "unavailable",
    message: typeof answer.message === "string" ? answer.message : "",
  };
}
