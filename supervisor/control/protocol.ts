// The control channel's wire format (docs/architecture.md, control): one request line from the client, then zero
// or more progress lines and exactly one final line from the server, all newline-delimited
// JSON. Encoding and validation are pure, so both ends agree on them by construction.
import { join } from "node:path";
import { GATEWAY_STATES, MAX_FROM_CHARS, type ControlResult, type FailedLayer, type StatusReport } from "../supervise/control-contract.js";
import { isObject } from "../shared/json.js";
import type { Settings } from "../shared/settings.js";

export type ControlOp = "restart" | "start" | "status" | "health" | "stop";

/** `from` says who asks (the exec'd command), for the supervisor's log: the audit trail. */
export type ControlRequest =
  | { op: "restart"; timeoutMs: number; expect?: { pid: number; startTime: number }; from?: string; drainMs?: number }
  | { op: "start"; timeoutMs: number; from?: string }
  | { op: "status" }
  | { op: "health" }
  | { op: "stop"; from?: string; drainMs?: number };

/** The one final line: an outcome (restart, stop, any failure) or a report (status, health). */
export type FinalMessage = { result: ControlResult } | { status: StatusReport };

export type ServerMessage = { progress: string } | FinalMessage;

/** A longer request line is refused: a valid request is well under 200 bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A connection must deliver its whole request line within this time. */
export const REQUEST_IDLE_MS = 5_000;
/** Connections served at once; more are answered "busy" and closed. */
export const MAX_CONNECTIONS = 32;
/** Restart timeouts a request may carry: 1 ms to one hour. */
export const MAX_TIMEOUT_MS = 3_600_000;

const OPS: readonly ControlOp[] = ["restart", "start", "status", "health", "stop"];

/** The keys each op takes, and how a refusal says so. */
const KEYS: Record<ControlOp, { keys: readonly string[]; takes: string }> = {
  restart: { keys: ["op", "timeoutMs", "expect", "from", "drainMs"], takes: "op, timeoutMs and optionally expect, from and drainMs" },
  start: { keys: ["op", "timeoutMs", "from"], takes: "op, timeoutMs and optionally from" },
  stop: { keys: ["op", "from", "drainMs"], takes: "op and optionally from and drainMs" },
  status: { keys: ["op"], takes: "only op" },
  health: { keys: ["op"], takes: "only op" },
};
const LAYERS: readonly FailedLayer[] = [
  "guards missing",
  "config integrity",
  "launch failure",
  "health timeout",
  "busy",
  "unavailable",
  "stale request",
  "bad request",
];

export function controlSocketPath(settings: Pick<Settings, "runDir">): string {
  return join(settings.runDir, "control.sock");
}

/** The file `supervisor restart` locks so that restarts from several shells run one at a time. */
export function restartLockPath(settings: Pick<Settings, "runDir">): string {
  return join(settings.runDir, "restart.lock");
}

export function failure(layer: FailedLayer, message: string): { result: ControlResult } {
  return { result: { ok: false, layer, message } };
}

export function encodeRequest(request: ControlRequest): string {
  return `${JSON.stringify(request)}\n`;
}

export function encodeMessage(message: ServerMessage): string {
  return `${JSON.stringify(message)}\n`;
}

function isOp(value: unknown): value is ControlOp {
  return typeof value === "string" && (OPS as readonly string[]).includes(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Validates one request line (without its newline). Strict: an unknown op, a key the op
 * does not take, or a value of the wrong type or range is refused with one line naming
 * what was wrong and what was expected.
 */
export function decodeRequest(line: string): Decoded<ControlRequest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, message: 'request is not valid JSON: expected one line like {"op":"status"}' };
  }
  if (!isObject(parsed)) return { ok: false, message: 'request must be a JSON object like {"op":"status"}' };
  const op = parsed.op;
  if (!isOp(op)) {
    return { ok: false, message: `unknown op ${show(op)}: expected one of ${OPS.join(", ")}` };
  }
  const { keys, takes } = KEYS[op];
  const extra = Object.keys(parsed).find((key) => !keys.includes(key));
  if (extra !== undefined) return { ok: false, message: `unexpected key ${show(extra)} in a ${op} request: it takes ${takes}` };
  const from = parsed.from;
  if (from !== undefined && (typeof from !== "string" || from.length > MAX_FROM_CHARS || /[\u0000-\u001f]/.test(from))) {
    return { ok: false, message: `from must be one line of at most ${MAX_FROM_CHARS} characters, got ${show(from)}` };
  }
  const drainMs = parsed.drainMs;
  if (drainMs !== undefined && !(typeof drainMs === "number" && Number.isSafeInteger(drainMs) && drainMs >= 0 && drainMs <= MAX_TIMEOUT_MS)) {
    return { ok: false, message: `drainMs must be an integer from 0 to ${MAX_TIMEOUT_MS} (milliseconds), got ${show(drainMs)}` };
  }
  const fromPart = { ...(from === undefined ? {} : { from }), ...(drainMs === undefined ? {} : { drainMs }) };
  if (op === "stop") return { ok: true, value: { op, ...fromPart } };
  if (op !== "restart" && op !== "start") return { ok: true, value: { op } };

  const timeoutMs = parsed.timeoutMs;
  if (!isPositiveInteger(timeoutMs) || timeoutMs > MAX_TIMEOUT_MS) {
    return { ok: false, message: `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS} (milliseconds), got ${show(timeoutMs)}` };
  }
  if (op === "start") return { ok: true, value: { op, timeoutMs, ...(from === undefined ? {} : { from }) } };
  if (!("expect" in parsed)) return { ok: true, value: { op, timeoutMs, ...fromPart } };
  const expect = parsed.expect;
  if (!isObject(expect)) {
    return { ok: false, message: `expect must be an object {"pid":N,"startTime":T}, got ${show(expect)}` };
  }
  const extraInExpect = Object.keys(expect).find((key) => key !== "pid" && key !== "startTime");
  if (extraInExpect !== undefined) {
    return { ok: false, message: `unexpected key ${show(extraInExpect)} in expect: it takes only pid and startTime` };
  }
  for (const key of ["pid", "startTime"] as const) {
    if (!isPositiveInteger(expect[key])) {
      return { ok: false, message: `expect.${key} must be a positive integer, got ${show(expect[key])}` };
    }
  }
  return { ok: true, value: { op, timeoutMs, expect: { pid: expect.pid as number, startTime: expect.startTime as number }, ...fromPart } };
}

function isIdentity(value: unknown): boolean {
  return isObject(value) && isPositiveInteger(value.pid) && typeof value.startTime === "number" && typeof value.uid === "number";
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isControlResult(value: unknown): value is ControlResult {
  if (!isObject(value)) return false;
  if (value.ok === true) {
    const state = value.alreadyStarted;
    const stateOk = state === undefined || (typeof state === "string" && (GATEWAY_STATES as readonly string[]).includes(state));
    return stateOk && (value.gateway === null || isIdentity(value.gateway));
  }
  return (
    value.ok === false &&
    typeof value.layer === "string" &&
    (LAYERS as readonly string[]).includes(value.layer) &&
    typeof value.message === "string" &&
    (value.refused === undefined || value.refused === true)
  );
}

function isStatusReport(value: unknown): value is StatusReport {
  if (!isObject(value)) return false;
  const { gateway, lastExit, capabilities } = value;
  return (
    typeof value.state === "string" &&
    (GATEWAY_STATES as readonly string[]).includes(value.state) &&
    (gateway === null ||
      (isIdentity(gateway) &&
        isObject(gateway) &&
        typeof gateway.startedAt === "string" &&
        typeof gateway.uptimeSeconds === "number")) &&
    typeof value.restarts === "number" &&
    typeof value.crashes === "number" &&
    typeof value.failedBoots === "number" &&
    typeof value.inProcessRestarts === "number" &&
    (value.probationAt === null || typeof value.probationAt === "string") &&
    isObject(value.breaker) &&
    typeof value.breaker.tripped === "boolean" &&
    typeof value.breaker.uncleanBoots === "number" &&
    typeof value.breaker.windowSeconds === "number" &&
    (lastExit === null ||
      (isObject(lastExit) &&
        typeof lastExit.description === "string" &&
        typeof lastExit.at === "string" &&
        typeof lastExit.expected === "boolean")) &&
    (value.detail === null || typeof value.detail === "string") &&
    isObject(capabilities) &&
    (capabilities.gatewayKept === null || isStringList(capabilities.gatewayKept)) &&
    isStringList(capabilities.supervisorKept) &&
    (value.mode === "root" || value.mode === "non-root") &&
    (value.posture === "locked" || value.posture === "mutable") &&
    isReadiness(value.readiness) &&
    isDrain(value.drain)
  );
}

function isReadiness(value: unknown): boolean {
  return value === null || (isObject(value) && typeof value.ready === "boolean" && isStringList(value.failing));
}

function isDrain(value: unknown): boolean {
  return value === null || (isObject(value) && typeof value.budgetSeconds === "number" && typeof value.secondsLeft === "number");
}

/** Validates one line from the server; anything else means the two ends do not agree. */
export function decodeMessage(line: string): Decoded<ServerMessage> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, message: "answer is not valid JSON" };
  }
  if (!isObject(parsed) || Object.keys(parsed).length !== 1) {
    return { ok: false, message: "answer must be an object with one of progress, result, status" };
  }
  if ("progress" in parsed) {
    return typeof parsed.progress === "string"
      ? { ok: true, value: { progress: parsed.progress } }
      : { ok: false, message: "progress must be a string" };
  }
  if ("result" in parsed) {
    return isControlResult(parsed.result)
      ? { ok: true, value: { result: parsed.result } }
      : { ok: false, message: "result is not a valid outcome" };
  }
  if ("status" in parsed) {
    return isStatusReport(parsed.status)
      ? { ok: true, value: { status: parsed.status } }
      : { ok: false, message: "status is not a valid status report" };
  }
  return { ok: false, message: "answer must be an object with one of progress, result, status" };
}
