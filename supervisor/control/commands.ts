// `supervisor restart|start|status|health|stop`: run inside the container (docker exec), they ask
// PID 1 over the control socket and turn its answer into output and an exit status. Each
// command's exact behaviour is written down in docs/supervisor-<command>.md.
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import lockfile from "proper-lockfile";
import { request } from "./client.js";
import { controlSocketPath, failure, restartLockPath, type FinalMessage } from "./protocol.js";
import { exitWith, STATUS } from "../init/exit.js";
import { MAX_FROM_CHARS, type ControlResult, type FailedLayer, type StatusReport } from "../supervise/control-contract.js";
import { parseCommandLine, render, usageError, type CommandLine, type OptionValues, type UsageError } from "../shared/command-line.js";
import { errorMessage, errorReason } from "../shared/errors.js";
import { formatDuration, parseDuration, singleLine } from "../shared/format.js";
import { fdOutput, type Output } from "../shared/output.js";
import { loadSettings, SettingsError, supervisorUid } from "../shared/settings.js";
import { DEFAULT_RESTART_SECONDS, MAX_RESTART_SECONDS, SUPERVISOR_PROGRAM } from "../shared/supervisor-spec.js";

export type ControlCommandName = "restart" | "start" | "status" | "health" | "stop";

export const CONTROL_COMMANDS: readonly ControlCommandName[] = ["restart", "start", "status", "health", "stop"];

/** Exit statuses shared by the four commands (docs/supervisor-*.md). */
export const EXIT = {
  ok: 0,
  /** The request failed (restart, stop), or the gateway is not healthy (health). */
  failed: 1,
  usage: STATUS.usage,
  busy: 3,
  unavailable: 4,
  /** Refused before anything was stopped: the next launch cannot happen (config, guards, command). */
  refused: STATUS.refused,
} as const;

export interface CommandIO {
  socketPath: string;
  lockPath: string;
  stdout: Output;
  stderr: Output;
  /** The supervisor's short SIGTERM-to-SIGKILL grace (--force). */
  stopGraceMs: number;
  /** Its drain budget of a requested restart or stop, when the request names none. */
  restartDrainMs: number;
  /** proper-lockfile tuning of the restart lock; tests shorten it. */
  lock?: LockTuning;
}

export interface LockTuning {
  /** A lock not refreshed for this long belongs to a dead process and is taken over. */
  staleMs: number;
  /** How often the holder refreshes it. */
  updateMs: number;
  /** How often a waiting restart tries again. */
  retryMs: number;
}

export const DEFAULT_LOCK: LockTuning = { staleMs: 15_000, updateMs: 5_000, retryMs: 250 };
export { DEFAULT_RESTART_SECONDS };
/** Time the supervisor gets beyond the request's own budget and the drain to answer. */
export const ANSWER_MARGIN_MS = 15_000;
/** The longest drain a request may ask for: as long as a request may wait at all. */
const MAX_WAIT_MS = 3_600_000;

/** A request's drain budget: --wait DURATION, --force (the short stop grace), or the configured one. */
export type Drain = { kind: "wait"; ms: number } | { kind: "force" } | { kind: "default" };

export type ParsedCommand =
  | { command: "restart"; timeoutMs: number; json: boolean; drain: Drain; expect?: { pid: number; startTime: number }; from?: string }
  | { command: "start"; timeoutMs: number; json: boolean; from?: string }
  | { command: "status"; json: boolean }
  | { command: "health"; json: boolean; ready: boolean }
  | { command: "stop"; json: boolean; drain: Drain; from?: string };

export type ParseOutcome = { kind: "run"; parsed: ParsedCommand } | { kind: "help" } | UsageError;

function positiveInteger(value: string): number | undefined {
  const n = /^[1-9]\d*$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Pure: the typed request of a parsed control command line, or the usage error of a bad value. */
export function controlRequestOf(command: ControlCommandName, options: OptionValues, json: boolean): ParsedCommand | UsageError {
  const bad = (message: string) => usageError(command, message, json);
  if (command === "status") return { command, json };
  if (command === "health") return { command, json, ready: options.ready === true };
  const drain = drainOf(options);
  if (typeof drain === "string") return bad(drain);
  if (command === "stop") return { command, json, drain };
  let seconds = DEFAULT_RESTART_SECONDS;
  if (typeof options.timeout === "string") {
    const n = positiveInteger(options.timeout);
    if (n === undefined || n > MAX_RESTART_SECONDS) {
      return bad(`--timeout '${options.timeout}': expected a whole number of seconds from 1 to ${MAX_RESTART_SECONDS}`);
    }
    seconds = n;
  }
  if (command === "start") return { command, timeoutMs: seconds * 1000, json };
  const pidText = options["expect-pid"];
  const startText = options["expect-start-time"];
  if (typeof pidText !== typeof startText) return bad("--expect-pid and --expect-start-time go together");
  const parsed: ParsedCommand = { command, timeoutMs: seconds * 1000, json, drain };
  if (typeof pidText === "string" && typeof startText === "string") {
    const pid = positiveInteger(pidText);
    if (pid === undefined) return bad(`--expect-pid '${pidText}': expected a process id (a positive integer)`);
    const startTime = positiveInteger(startText);
    if (startTime === undefined) return bad(`--expect-start-time '${startText}': expected a positive integer (field 22 of /proc/PID/stat)`);
    parsed.expect = { pid, startTime };
  }
  return parsed;
}

/** Pure: --wait DURATION or --force as a drain budget, or why the value is not one. */
function drainOf(options: OptionValues): Drain | string {
  if (options.force === true) return { kind: "force" };
  if (typeof options.wait !== "string") return { kind: "default" };
  const ms = parseDuration(options.wait);
  if (ms === undefined || ms <= 0 || ms > MAX_WAIT_MS) {
    return `--wait '${options.wait}': expected a duration above 0 and up to 1h, e.g. 30s, 5m30s or milliseconds`;
  }
  return { kind: "wait", ms };
}

/** The drain budget in milliseconds a request asks for, and what to send for it. */
function drainMsOf(drain: Drain, io: CommandIO): { ms: number; sent?: number } {
  if (drain.kind === "wait") return { ms: drain.ms, sent: drain.ms };
  if (drain.kind === "force") return { ms: io.stopGraceMs, sent: io.stopGraceMs };
  return { ms: io.restartDrainMs };
}

/** Pure: the command line of one control command, or why it is a usage error. */
export function parseControlArgs(command: ControlCommandName, args: string[]): ParseOutcome {
  return outcomeOf(parseCommandLine(SUPERVISOR_PROGRAM, [command, ...args]));
}

function outcomeOf(line: CommandLine): ParseOutcome {
  switch (line.kind) {
    case "help":
      return { kind: "help" };
    case "version":
      return usageError(undefined, "unexpected version request", line.json);
    case "usage":
      return line;
    case "run": {
      const request = controlRequestOf(line.command as ControlCommandName, line.options, line.json);
      return "kind" in request ? request : { kind: "run", parsed: request };
    }
  }
}

export function exitCodeFor(layer: FailedLayer): number {
  return layer === "busy" ? EXIT.busy : layer === "unavailable" ? EXIT.unavailable : EXIT.failed;
}

function unexpected(what: string): { ok: false; layer: "unavailable"; message: string } {
  return { ok: false, layer: "unavailable", message: `unexpected answer from the supervisor: ${what}` };
}

/** A restart or stop wants a result line; a status report there means the ends disagree. */
function resultOf(final: FinalMessage): ControlResult {
  return "result" in final ? final.result : unexpected("a status report instead of a result");
}

function errnoFailure(path: string, error: unknown): FinalMessage {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return failure("unavailable", `supervisor runtime directory ${dirname(path)} not found: is PID 1 the sandbox supervisor?`);
  }
  if (code === "EACCES" || code === "EPERM") {
    return failure("unavailable", `permission denied on ${path} (ask as its owner: docker exec --user root ..., or the container's own user in non-root mode)`);
  }
  return failure("unavailable", `cannot use restart lock ${path} (${errorReason(error)})`);
}

type Held = { release: () => Promise<void> };

/**
 * Takes the restart lock, waiting until `deadline` while another restart holds it. A lock
 * whose holder died stops being refreshed and is taken over once it is `staleMs` old.
 */
async function acquireRestartLock(lockPath: string, deadline: number, tuning: LockTuning): Promise<Held | FinalMessage> {
  try {
    closeSync(openSync(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600));
  } catch (error) {
    return errnoFailure(lockPath, error);
  }
  const started = Date.now();
  for (;;) {
    try {
      const release = await lockfile.lock(lockPath, {
        stale: tuning.staleMs,
        update: tuning.updateMs,
        realpath: false,
        retries: 0,
        // Losing the lock mid-request (the event loop stalled past staleMs) must not crash
        // the command: the supervisor itself never runs two restarts at once.
        onCompromised: () => {},
      });
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") return errnoFailure(lockPath, error);
    }
    const wait = Math.min(tuning.retryMs, deadline - Date.now());
    if (wait <= 0) {
      const waited = Math.round((Date.now() - started) / 1000);
      return failure("busy", `another restart holds ${lockPath}; gave up after waiting ${waited} s`);
    }
    await sleep(wait);
  }
}

/**
 * Who asks, for PID 1's log: this command line, its pid and uid, the parent process when it
 * is inside the container (a docker exec has none there), and SUPERVISOR_REQUEST_FROM when
 * a tool says on whose behalf it runs (sandboxctl).
 */
export function describeCaller(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  let parent = "";
  try {
    const ppid = process.ppid;
    if (ppid > 0) parent = `, parent ${readFileSync(`/proc/${ppid}/comm`, "utf8").trim()} pid ${ppid}`;
  } catch {
    // The parent is outside this pid namespace or gone.
  }
  const via = env.SUPERVISOR_REQUEST_FROM ? `, via ${env.SUPERVISOR_REQUEST_FROM}` : "";
  const text = `'supervisor ${[command, ...args].join(" ")}' (pid ${process.pid}, uid ${process.getuid?.() ?? "?"}${parent}${via})`;
  return text.replace(/[\u0000-\u001f]/g, " ").slice(0, MAX_FROM_CHARS);
}

/** A restart or start: under the restart lock, so requests from several shells run one at a time. */
async function askUnderLock(parsed: Extract<ParsedCommand, { command: "restart" | "start" }>, io: CommandIO): Promise<ControlResult> {
  const deadline = Date.now() + parsed.timeoutMs;
  const progress = parsed.json ? () => {} : (message: string) => io.stderr.write(`${parsed.command}: ${singleLine(message)}\n`);
  const held = await acquireRestartLock(io.lockPath, deadline, io.lock ?? DEFAULT_LOCK);
  if (!("release" in held)) return resultOf(held);
  try {
    const timeoutMs = Math.max(1, deadline - Date.now());
    const from = parsed.from !== undefined ? { from: parsed.from } : {};
    if (parsed.command === "start") {
      const req = { op: "start" as const, timeoutMs, ...from };
      return resultOf(await request(io.socketPath, req, progress, timeoutMs + io.restartDrainMs + ANSWER_MARGIN_MS));
    }
    const drain = drainMsOf(parsed.drain, io);
    const req = {
      op: "restart" as const,
      timeoutMs,
      ...(parsed.expect ? { expect: parsed.expect } : {}),
      ...(drain.sent !== undefined ? { drainMs: drain.sent } : {}),
      ...from,
    };
    return resultOf(await request(io.socketPath, req, progress, timeoutMs + drain.ms + ANSWER_MARGIN_MS));
  } finally {
    await held.release().catch(() => {});
  }
}

async function start(parsed: Extract<ParsedCommand, { command: "start" }>, io: CommandIO): Promise<number> {
  const result = await askUnderLock(parsed, io);
  if (!result.ok) return reportFailure("start", result, parsed.json, io);
  const gateway = result.gateway;
  const state = result.alreadyStarted ?? "healthy";
  if (parsed.json) {
    const answer = { ok: true, started: result.alreadyStarted === undefined, state, pid: gateway?.pid ?? null, startTime: gateway?.startTime ?? null };
    io.stdout.write(`${JSON.stringify(answer)}\n`);
  } else if (result.alreadyStarted !== undefined) {
    io.stdout.write(`already started: gateway ${state}${gateway ? `, pid ${gateway.pid}` : ""}\n`);
  } else {
    io.stdout.write(gateway ? `started: gateway pid ${gateway.pid}\n` : "started\n");
  }
  return EXIT.ok;
}

async function restart(parsed: Extract<ParsedCommand, { command: "restart" }>, io: CommandIO): Promise<number> {
  const result = await askUnderLock(parsed, io);
  if (result.ok) {
    const gateway = result.gateway;
    io.stdout.write(
      parsed.json
        ? `${JSON.stringify({ ok: true, pid: gateway?.pid ?? null, startTime: gateway?.startTime ?? null })}\n`
        : gateway
          ? `restarted: gateway pid ${gateway.pid}\n`
          : "restarted\n",
    );
    return EXIT.ok;
  }
  return reportFailure("restart", result, parsed.json, io);
}

async function stop(parsed: Extract<ParsedCommand, { command: "stop" }>, io: CommandIO): Promise<number> {
  const progress = parsed.json ? () => {} : (message: string) => io.stderr.write(`stop: ${singleLine(message)}\n`);
  const drain = drainMsOf(parsed.drain, io);
  const req = { op: "stop" as const, ...(parsed.from !== undefined ? { from: parsed.from } : {}), ...(drain.sent !== undefined ? { drainMs: drain.sent } : {}) };
  const result = resultOf(await request(io.socketPath, req, progress, drain.ms + ANSWER_MARGIN_MS));
  if (result.ok) {
    io.stdout.write(parsed.json ? `${JSON.stringify({ ok: true })}\n` : "stopped\n");
    return EXIT.ok;
  }
  return reportFailure("stop", result, parsed.json, io);
}

function reportFailure(command: string, result: Extract<ControlResult, { ok: false }>, json: boolean, io: CommandIO): number {
  const refused = result.refused === true;
  if (json) io.stdout.write(`${JSON.stringify({ ok: false, layer: result.layer, message: result.message, ...(refused ? { refused } : {}) })}\n`);
  else io.stderr.write(`${command} ${refused ? "refused" : "failed"} (${result.layer}): ${singleLine(result.message)}\n`);
  return refused ? EXIT.refused : exitCodeFor(result.layer);
}

/** The report, or the failure that stands in for it. */
function reportOf(final: FinalMessage): StatusReport | Extract<ControlResult, { ok: false }> {
  if ("status" in final) return final.status;
  return final.result.ok ? unexpected("a result instead of a status report") : final.result;
}

async function status(parsed: Extract<ParsedCommand, { command: "status" }>, io: CommandIO): Promise<number> {
  const report = reportOf(await request(io.socketPath, { op: "status" }, () => {}));
  if ("ok" in report) return reportFailure("status", report, parsed.json, io);
  io.stdout.write(parsed.json ? `${JSON.stringify({ ...report, ok: true })}\n` : formatStatus(report));
  return EXIT.ok;
}

async function health(parsed: Extract<ParsedCommand, { command: "health" }>, io: CommandIO): Promise<number> {
  const report = reportOf(await request(io.socketPath, { op: "health" }, () => {}));
  if ("ok" in report) return reportFailure("health", report, parsed.json, io);
  // Healthy means a proven gateway process: a report without one is not healthy, whatever it says.
  const healthy = report.state === "healthy" && report.gateway !== null;
  const ready = healthy && report.readiness?.ready === true;
  const good = parsed.ready ? ready : healthy;
  if (parsed.json) {
    // ok: an answer came; healthy (and ready): what the exit status says.
    const answer = { ok: true, healthy, ready, readiness: report.readiness, state: report.state, pid: report.gateway?.pid ?? null, detail: report.detail };
    io.stdout.write(`${JSON.stringify(answer)}\n`);
    return good ? EXIT.ok : EXIT.failed;
  }
  if (!healthy) {
    io.stdout.write(`not healthy: ${report.state}${report.detail ? `: ${singleLine(report.detail)}` : ""}\n`);
    return EXIT.failed;
  }
  if (parsed.ready && !ready) {
    io.stdout.write(`healthy but not ready: gateway pid ${report.gateway!.pid}, readiness ${readinessText(report.readiness)}\n`);
    return EXIT.failed;
  }
  io.stdout.write(`${parsed.ready ? "ready" : "healthy"}: gateway pid ${report.gateway!.pid}\n`);
  return EXIT.ok;
}

function capabilityList(list: string[] | null): string {
  if (list === null) return "unknown";
  return list.length === 0 ? "none" : list.join(", ");
}

function readinessText(readiness: StatusReport["readiness"]): string {
  if (readiness === null) return "unknown (no readiness probe answer)";
  if (readiness.ready) return "ready";
  return `not ready (failing: ${readiness.failing.length > 0 ? readiness.failing.join(", ") : "nothing named"})`;
}

/** The state as people read it: what a restarting or stopping gateway is doing. */
function stateText(report: StatusReport): string {
  if (report.state === "restarting") return "restarting (in process)";
  if (report.state === "stopping" && report.drain !== null) return `stopping (draining, ${report.drain.secondsLeft} s left)`;
  return report.state;
}

/** Pure: the human form of a status report, one aligned "name  value" line per fact. */
export function formatStatus(report: StatusReport): string {
  const { gateway, lastExit } = report;
  const rows: Array<[string, string]> = [
    ["state", stateText(report)],
    ["readiness", report.state === "healthy" ? readinessText(report.readiness) : "-"],
    ["gateway", gateway ? `pid ${gateway.pid} (start time ${gateway.startTime}, uid ${gateway.uid})` : "none"],
    ["uptime", gateway ? `${formatDuration(gateway.uptimeSeconds)} (since ${gateway.startedAt})` : "-"],
    ["restarts", `${report.restarts} (crashes: ${report.crashes}, failed boots: ${report.failedBoots}, in process: ${report.inProcessRestarts})`],
    ["last exit", lastExit ? `${lastExit.description} at ${lastExit.at} (${lastExit.expected ? "expected" : "unexpected"})` : "none"],
    [
      "breaker",
      `${report.breaker.tripped ? "tripped" : "clear"} (${report.breaker.uncleanBoots} unclean gateway boot(s) within ${report.breaker.windowSeconds}s)`,
    ],
    [
      "capabilities",
      `gateway kept: ${capabilityList(report.capabilities.gatewayKept)}; supervisor kept: ${capabilityList(report.capabilities.supervisorKept)}`,
    ],
    ["mode", `${report.mode}, config ${report.posture}`],
  ];
  if (report.probationAt !== null) rows.push(["probation", `next relaunch at ${report.probationAt}`]);
  if (report.port !== undefined) {
    const { port, unprivilegedPortStart } = report.port;
    const sysctl = `ip_unprivileged_port_start=${unprivilegedPortStart ?? "unknown"}`;
    rows.push(["port", `${port}, ${report.port.protected ? "protected" : "not protected: any user may listen on it"} (${sysctl})`]);
  }
  if (report.detail !== null) rows.push(["detail", report.detail]);
  return rows.map(([name, value]) => `${name.padEnd(14)}${singleLine(value)}\n`).join("");
}

export function executeControlCommand(parsed: ParsedCommand, io: CommandIO): Promise<number> {
  switch (parsed.command) {
    case "restart":
      return restart(parsed, io);
    case "start":
      return start(parsed, io);
    case "stop":
      return stop(parsed, io);
    case "status":
      return status(parsed, io);
    case "health":
      return health(parsed, io);
  }
}

/** Help and usage errors as the command line layer words them (JSON under --json). */
function writeRendered(io: Pick<CommandIO, "stdout" | "stderr">, outcome: Exclude<ParseOutcome, { kind: "run" }>, command: ControlCommandName, help?: string): number {
  if (outcome.kind === "help" && help !== undefined) {
    io.stdout.write(help);
    return EXIT.ok;
  }
  const rendered = render(SUPERVISOR_PROGRAM, outcome.kind === "help" ? { kind: "help", command, json: false } : outcome);
  if (rendered.stdout) io.stdout.write(rendered.stdout);
  if (rendered.stderr) io.stderr.write(rendered.stderr);
  return rendered.exit;
}

/** Parse and run, for callers that supply their own socket, lock and streams (tests). */
export async function controlCommand(command: ControlCommandName, args: string[], io: CommandIO, help?: string): Promise<number> {
  const outcome = parseControlArgs(command, args);
  if (outcome.kind !== "run") return writeRendered(io, outcome, command, help);
  return executeControlCommand(outcome.parsed, io);
}

/**
 * The `supervisor restart|start|status|health|stop` entry, given the parsed command line: bad
 * values exit 2 before anything else, settings errors 78; otherwise the command's own status
 * (125 if the command itself broke). Under --json every outcome is one JSON object.
 */
export function runControlCommand(command: ControlCommandName, line: Extract<CommandLine, { kind: "run" }>): void {
  main(command, line).catch((error: unknown) => {
    const message = `${command}: ${errorMessage(error)}`;
    if (line.json) {
      fdOutput(1).write(`${JSON.stringify({ ok: false, layer: "unavailable", message })}\n`);
      process.exit(STATUS.ownFailure);
    }
    exitWith(STATUS.ownFailure, message);
  });
}

/** The same from argv (`restart --timeout 5`), for a caller that has not parsed it (tests). */
export function runControlCommandLine(argv: string[]): void {
  const line = parseCommandLine(SUPERVISOR_PROGRAM, argv);
  if (line.kind === "run") return runControlCommand(line.command as ControlCommandName, line);
  const outcome = line.kind === "help" ? ({ kind: "help" } as const) : line.kind === "usage" ? line : usageError(undefined, "not a control command", line.json);
  exitWith(writeRendered({ stdout: fdOutput(1), stderr: fdOutput(2) }, outcome, argv[0] as ControlCommandName));
}

async function main(command: ControlCommandName, line: Extract<CommandLine, { kind: "run" }>): Promise<never> {
  const stdout = fdOutput(1);
  const stderr = fdOutput(2);
  const outcome = outcomeOf(line);
  if (outcome.kind !== "run") return exitWith(writeRendered({ stdout, stderr }, outcome, command));
  let settings;
  try {
    settings = loadSettings(process.env, supervisorUid());
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    if (!line.json) return exitWith(STATUS.refused, error.message);
    stdout.write(`${JSON.stringify({ ok: false, layer: "settings", message: error.message })}\n`);
    return exitWith(STATUS.refused);
  }
  const io: CommandIO = {
    socketPath: controlSocketPath(settings),
    lockPath: restartLockPath(settings),
    stdout,
    stderr,
    stopGraceMs: settings.stopGraceSeconds * 1000,
    restartDrainMs: settings.restartDrainSeconds * 1000,
  };
  const parsed = outcome.parsed;
  if (parsed.command === "restart" || parsed.command === "start" || parsed.command === "stop") parsed.from = describeCaller(command, process.argv.slice(3));
  return exitWith(await executeControlCommand(parsed, io));
}
