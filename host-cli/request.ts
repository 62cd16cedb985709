// The steps every sandboxctl command is made of: prove the container is there (inspect,
// which also gives the full id every later step uses), take the host lock, ask the
// supervisor inside (exec), and turn what came back into output and one exit status
// (docs/sandboxctl.md). Each step returns a failure instead of printing it, so a command
// about one container prints it as a line and `status` of many puts it in a table row.
import { ENGINE_VARIABLE, engineSpawnMessage, execArgs, execUser, inEngineTerms, inspectContainer, startEngine, SUPERVISOR_PATH, type EngineName, type EngineResult, type Inspected, type RunningEngine } from "./engine.js";
import type { OutputMode } from "./command-line.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { acquireHostLock, DEFAULT_LOCK, HostLockError, lockDirectory, type HeldLock, type LockTuning } from "./host-lock.js";
import type { Output } from "../supervisor/shared/output.js";
import { isCommandLine, jsonAnswer, jsonFailure, outcomeOf, refusalAnswered } from "./relay.js";
import { singleLine } from "../supervisor/shared/format.js";

export interface Context {
  engine: EngineName;
  stdout: Output;
  stderr: Output;
  /** Aborted, with the signal's name as reason, when sandboxctl gets SIGINT, SIGTERM or SIGHUP. */
  abort: AbortSignal;
  env: NodeJS.ProcessEnv;
  lock?: LockTuning;
  /** The other engine on PATH, when the engine was chosen by default (no flag, no variable). */
  alternative?: EngineName;
}

/** inspect, kill and ps answer at once from a responsive engine. */
export const ENGINE_QUERY_MS = 20_000;

/** Why a command could not do what it was asked, and the exit status that says so. */
export interface Failure {
  kind: "failure";
  exit: number;
  /** not running, unavailable, busy, host lock, interrupted, token, ... */
  layer: string;
  message: string;
}

export type Interrupted = { kind: "interrupted"; signal: NodeJS.Signals };

export function failure(exit: number, layer: string, message: string): Failure {
  return { kind: "failure", exit, layer, message: singleLine(message) };
}

/** The one line of a failure: text on stderr, or with --json the JSON object on stdout. */
export function report(ctx: Context, mode: OutputMode, f: Failure): number {
  const message = inEngineTerms(ctx.engine, f.message);
  if (mode === "json") ctx.stdout.write(`${JSON.stringify({ ok: false, layer: f.layer, message })}\n`);
  else ctx.stderr.write(`sandboxctl: ${message}\n`);
  return f.exit;
}

export function reasonOf(abort: AbortSignal): NodeJS.Signals {
  return typeof abort.reason === "string" ? (abort.reason as NodeJS.Signals) : "SIGINT";
}

type Raced = { kind: "done"; result: EngineResult } | Interrupted;

/**
 * Waits for an engine CLI, or for an interrupt. On an interrupt, `onInterrupt` decides the
 * CLI's fate: read-only commands end it, a request that changes the container leaves it be.
 */
export function raceInterrupt(running: RunningEngine, abort: AbortSignal, onInterrupt: "end" | "leave"): Promise<Raced> {
  return new Promise((resolve) => {
    const interrupted = (): void => {
      if (onInterrupt === "end") running.child.kill("SIGTERM");
      else running.child.unref();
      resolve({ kind: "interrupted", signal: reasonOf(abort) });
    };
    if (abort.aborted) return interrupted();
    abort.addEventListener("abort", interrupted, { once: true });
    void running.done.then((result) => {
      abort.removeEventListener("abort", interrupted);
      resolve({ kind: "done", result });
    });
  });
}

export type Found = { kind: "found"; container: Inspected };

/** The container if it runs (or, with `anyState`, exists); else why not. */
export async function findContainer(ctx: Context, container: string, deadline: number, anyState = false): Promise<Found | Failure | Interrupted> {
  const state = await inspectContainer(ctx.engine, container, Math.min(deadline, Date.now() + ENGINE_QUERY_MS));
  if (ctx.abort.aborted) return { kind: "interrupted", signal: reasonOf(ctx.abort) };
  switch (state.kind) {
    case "running":
      return { kind: "found", container: state.container };
    case "stopped":
      if (anyState) return { kind: "found", container: state.container };
      return failure(EXIT.notRunning, "not running", `container ${container} is not running (${state.container.status})`);
    case "missing":
      return failure(EXIT.notRunning, "not running", `container ${container} is not running (no such container${await otherEngineHint(ctx, container)})`);
    case "error":
      return failure(EXIT.unavailable, "unavailable", `${ctx.engine}: ${state.message}`);
  }
}

/** A container the default engine does not know may be the other engine's: say so, and how. */
async function otherEngineHint(ctx: Context, container: string): Promise<string> {
  if (ctx.alternative === undefined) return "";
  const other = await inspectContainer(ctx.alternative, container, Date.now() + ENGINE_QUERY_MS);
  if (other.kind !== "running" && other.kind !== "stopped") return "";
  return ` in ${ctx.engine}; ${ctx.alternative} has one by that name: add --engine ${ctx.alternative}, or set ${ENGINE_VARIABLE}=${ctx.alternative}`;
}

/** After an exec that gave no answer: a container that stopped meanwhile is exit 3, not 4. */
export async function stoppedMeanwhile(ctx: Context, container: string): Promise<Failure | undefined> {
  const state = await inspectContainer(ctx.engine, container, Date.now() + ENGINE_QUERY_MS);
  if (state.kind === "stopped") return failure(EXIT.notRunning, "not running", `container ${container} stopped (${state.container.status})`);
  if (state.kind === "missing") return failure(EXIT.notRunning, "not running", `container ${container} is gone`);
  return undefined;
}

/** Takes the host lock of the container for a command that changes it (restart, start, stop, signal). */
export async function takeLock(
  ctx: Context,
  command: string,
  container: string,
  id: string,
  mode: OutputMode,
  deadline: number,
  timeoutSeconds: number,
): Promise<{ kind: "held"; lock: HeldLock } | Failure | Interrupted> {
  let outcome;
  try {
    outcome = await acquireHostLock(lockDirectory(ctx.env, process.getuid?.() ?? 0), id, deadline, ctx.abort, (path) => {
      if (mode === "text") ctx.stderr.write(`${command}: waiting for another sandboxctl request on container ${container} (${path})\n`);
    }, ctx.lock ?? DEFAULT_LOCK);
  } catch (error) {
    if (error instanceof HostLockError) return failure(EXIT.failed, "host lock", error.message);
    throw error;
  }
  switch (outcome.kind) {
    case "held":
      return outcome;
    case "aborted":
      return { kind: "interrupted", signal: reasonOf(ctx.abort) };
    case "busy":
      return failure(EXIT.busy, "busy", `another sandboxctl request on container ${container} held ${outcome.path} for the whole ${timeoutSeconds} s`);
  }
}

export interface Answered {
  kind: "answered";
  exit: number;
  stdout: string;
  /** stderr lines that were not the command's own progress, in order. */
  held: string[];
}

export interface AskOptions {
  /** The supervisor command's progress lines pass through to stderr as they arrive. */
  progress: boolean;
  /** Bounds the exec; none when the supervisor bounds its answer itself (restart, stop). */
  deadline: number | undefined;
  onInterrupt: "end" | "leave";
}

/**
 * `exec ... supervisor <name> <args>` with the relay rules: the command's own stderr lines
 * (progress, its failure line) pass through as they arrive when `progress`; its stdout and
 * other stderr lines wait until the exit status says whether they are the supervisor's
 * (then the caller prints them) or the engine's (then one line of sandboxctl's stands in).
 */
export async function askSupervisor(
  ctx: Context,
  name: "restart" | "start" | "status" | "health" | "stop" | "check",
  args: readonly string[],
  found: Inspected,
  container: string,
  options: AskOptions,
): Promise<Answered | Failure | Interrupted> {
  const held: string[] = [];
  const own: string[] = [];
  const running = startEngine(ctx.engine, execArgs(found.id, [SUPERVISOR_PATH, name, ...args], execUser(found)), {
    deadline: options.deadline,
    onStderrLine: (line) => {
      if (isCommandLine(name, line)) own.push(line);
      if (options.progress && isCommandLine(name, line)) {
        ctx.stderr.write(`${line}\n`);
      } else {
        held.push(line);
      }
    },
  });
  const raced = await raceInterrupt(running, ctx.abort, options.onInterrupt);
  if (raced.kind === "interrupted") return raced;
  const result = raced.result;
  if (result.spawnError) return failure(EXIT.unavailable, "unavailable", engineSpawnMessage(ctx.engine, result.spawnError));
  if (result.timedOut) return failure(EXIT.unavailable, "unavailable", `no answer from the supervisor in container ${container} in time`);
  // docker prints some of its own errors ("OCI runtime exec failed") on stdout.
  const refused = refusalAnswered(name, own, result.stdout);
  const outcome = outcomeOf(result.status, [...held, ...result.stdout.split("\n")], container, SUPERVISOR_PATH, ctx.engine, refused);
  if (outcome.kind === "no answer") return (await stoppedMeanwhile(ctx, container)) ?? failure(outcome.exit, "unavailable", outcome.message);
  return { kind: "answered", exit: outcome.exit, stdout: result.stdout, held };
}

/** The supervisor's one JSON object, or the failure that stands in for anything else. */
export function answerObject(answered: Answered, container: string): { kind: "object"; value: Record<string, unknown> } | Failure {
  const value = jsonAnswer(answered.stdout);
  if (value === undefined) return failure(EXIT.unavailable, "unavailable", `unexpected answer from the supervisor in container ${container} (not one JSON line)`);
  return { kind: "object", value };
}

/** The supervisor answered in text: its stdout, then anything else it said on stderr. */
export function relayText(ctx: Context, answered: Pick<Answered, "exit" | "stdout" | "held">): number {
  ctx.stdout.write(answered.stdout);
  for (const line of answered.held) ctx.stderr.write(`${inEngineTerms(ctx.engine, line)}\n`);
  return answered.exit;
}

/**
 * The supervisor answered with --json: print the object (json) or, for a failure, its one
 * line (quiet: `sandboxctl: NAME failed (LAYER): MESSAGE`). `ok: true` is added to a
 * success that lacks it (a status report), so every success under --json has it.
 */
export function relayJson(ctx: Context, name: string, mode: OutputMode, answered: Answered, container: string): number {
  const answer = answerObject(answered, container);
  if (answer.kind === "failure") return report(ctx, mode, answer);
  const object = answer.value;
  if (mode === "json") {
    // Appended, so the report's own keys keep their order (and `{"state":...` its start).
    const message = typeof object.message === "string" ? { message: inEngineTerms(ctx.engine, object.message) } : {};
    ctx.stdout.write(`${JSON.stringify(object.ok === undefined ? { ...object, ...message, ok: true } : { ...object, ...message })}\n`);
    return answered.exit;
  }
  const failed = jsonFailure(object);
  if (failed) ctx.stderr.write(`sandboxctl: ${name} failed (${failed.layer}): ${inEngineTerms(ctx.engine, singleLine(failed.message))}\n`);
  return answered.exit;
}
