// The six sandboxctl commands. Each one first proves the container is there (docker
// inspect, which also gives the full id every later step uses), then asks through the
// docker CLI and turns the answer into output and one exit status (docs/sandboxctl.md).
import type { Command, OutputMode } from "./command-line.js";
import { dockerSpawnMessage, execArgs, inspectContainer, startDocker, SUPERVISOR_PATH, type DockerResult, type RunningDocker } from "./docker.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { acquireHostLock, DEFAULT_LOCK, HostLockError, lockDirectory, type HeldLock, type LockTuning } from "./host-lock.js";
import type { Output } from "./output.js";
import { isCommandLine, jsonAnswer, jsonFailure, oneLine, outcomeOf } from "./relay.js";
import { MAX_TOKEN_FILE_BYTES, parseTokenFile, TOKEN_FILE, TOKEN_MISSING, TOKEN_STALE } from "./token.js";

export interface Context {
  stdout: Output;
  stderr: Output;
  /** Aborted, with the signal's name as reason, when sandboxctl gets SIGINT, SIGTERM or SIGHUP. */
  abort: AbortSignal;
  env: NodeJS.ProcessEnv;
  lock?: LockTuning;
}

/** docker inspect and docker kill answer at once from a responsive engine. */
const DOCKER_QUERY_MS = 20_000;

/** The one line of a failure: text on stderr, or with --json the JSON line on stdout. */
function fail(ctx: Context, mode: OutputMode, exit: number, layer: string, message: string): number {
  if (mode === "json") ctx.stdout.write(`${JSON.stringify({ ok: false, layer, message: oneLine(message) })}\n`);
  else ctx.stderr.write(`sandboxctl: ${oneLine(message)}\n`);
  return exit;
}

function reasonOf(abort: AbortSignal): NodeJS.Signals {
  return typeof abort.reason === "string" ? (abort.reason as NodeJS.Signals) : "SIGINT";
}

type Raced = { kind: "done"; result: DockerResult } | { kind: "interrupted"; signal: NodeJS.Signals };

/**
 * Waits for a docker CLI, or for an interrupt. On an interrupt, `onInterrupt` decides the
 * docker CLI's fate: read-only commands end it, a restart leaves it be.
 */
function raceInterrupt(running: RunningDocker, abort: AbortSignal, onInterrupt: "end" | "leave"): Promise<Raced> {
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

type Found = { kind: "found"; id: string } | { kind: "exit"; status: number };

/** The container's full id if it runs (or, with `anyState`, exists); else the failure, printed. */
async function findContainer(ctx: Context, container: string, mode: OutputMode, deadline: number, anyState = false): Promise<Found> {
  const state = await inspectContainer(container, Math.min(deadline, Date.now() + DOCKER_QUERY_MS));
  if (ctx.abort.aborted) return { kind: "exit", status: interruptedStatus(reasonOf(ctx.abort)) };
  switch (state.kind) {
    case "running":
      return { kind: "found", id: state.id };
    case "stopped":
      if (anyState) return { kind: "found", id: state.id };
      return { kind: "exit", status: fail(ctx, mode, EXIT.notRunning, "not running", `container ${container} is not running (${state.status})`) };
    case "missing":
      return { kind: "exit", status: fail(ctx, mode, EXIT.notRunning, "not running", `container ${container} is not running (no such container)`) };
    case "error":
      return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", `docker: ${state.message}`) };
  }
}

/** After a docker exec that gave no answer: a container that stopped meanwhile is exit 3, not 4. */
async function stoppedMeanwhile(ctx: Context, container: string, mode: OutputMode): Promise<number | undefined> {
  const state = await inspectContainer(container, Date.now() + DOCKER_QUERY_MS);
  if (state.kind === "stopped") return fail(ctx, mode, EXIT.notRunning, "not running", `container ${container} stopped (${state.status})`);
  if (state.kind === "missing") return fail(ctx, mode, EXIT.notRunning, "not running", `container ${container} is gone`);
  return undefined;
}

async function takeLock(
  ctx: Context,
  command: string,
  container: string,
  id: string,
  mode: OutputMode,
  deadline: number,
  timeoutSeconds: number,
): Promise<{ kind: "held"; lock: HeldLock } | { kind: "exit"; status: number } | { kind: "interrupted"; signal: NodeJS.Signals }> {
  let outcome;
  try {
    outcome = await acquireHostLock(lockDirectory(ctx.env, process.getuid?.() ?? 0), id, deadline, ctx.abort, (path) => {
      if (mode === "text") ctx.stderr.write(`${command}: waiting for another sandboxctl restart or signal on container ${container} (${path})\n`);
    }, ctx.lock ?? DEFAULT_LOCK);
  } catch (error) {
    if (error instanceof HostLockError) return { kind: "exit", status: fail(ctx, mode, EXIT.failed, "host lock", error.message) };
    throw error;
  }
  switch (outcome.kind) {
    case "held":
      return outcome;
    case "aborted":
      return { kind: "interrupted", signal: reasonOf(ctx.abort) };
    case "busy":
      return {
        kind: "exit",
        status: fail(ctx, mode, EXIT.busy, "busy", `another sandboxctl restart or signal on container ${container} held ${outcome.path} for the whole ${timeoutSeconds} s`),
      };
  }
}

/**
 * `docker exec ... supervisor <args>` with the relay rules: the command's own stderr lines
 * (progress) pass through as they arrive, unless --json; its stdout and other stderr lines
 * wait until the exit status says whether they are the supervisor's (then the caller
 * prints them) or docker's (then one line of sandboxctl's stands in for them).
 */
async function askSupervisor(
  ctx: Context,
  name: "restart" | "status" | "health",
  args: readonly string[],
  id: string,
  container: string,
  mode: OutputMode,
  deadline: number | undefined,
  onInterrupt: "end" | "leave",
): Promise<{ kind: "answered"; exit: number; stdout: string; held: string[] } | { kind: "exit"; status: number } | { kind: "interrupted"; signal: NodeJS.Signals }> {
  const held: string[] = [];
  const running = startDocker(execArgs(id, [SUPERVISOR_PATH, name, ...args]), {
    deadline,
    onStderrLine: (line) => {
      if (mode !== "json" && isCommandLine(name, line)) ctx.stderr.write(`${line}\n`);
      else held.push(line);
    },
  });
  const raced = await raceInterrupt(running, ctx.abort, onInterrupt);
  if (raced.kind === "interrupted") return raced;
  const result = raced.result;
  if (result.spawnError) return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", dockerSpawnMessage(result.spawnError)) };
  if (result.timedOut) {
    return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", `no answer from the supervisor in container ${container} in time`) };
  }
  // docker prints some of its own errors ("OCI runtime exec failed") on stdout.
  const outcome = outcomeOf(result.status, [...held, ...result.stdout.split("\n")], container, SUPERVISOR_PATH);
  if (outcome.kind === "no answer") {
    const stopped = await stoppedMeanwhile(ctx, container, mode);
    return { kind: "exit", status: stopped ?? fail(ctx, mode, outcome.exit, "unavailable", outcome.message) };
  }
  return { kind: "answered", exit: outcome.exit, stdout: result.stdout, held };
}

/** The supervisor answered in text: its stdout, then anything else it said on stderr. */
function relayText(ctx: Context, answered: { exit: number; stdout: string; held: readonly string[] }): number {
  ctx.stdout.write(answered.stdout);
  for (const line of answered.held) ctx.stderr.write(`${line}\n`);
  return answered.exit;
}

/** The supervisor answered with --json: print its line (json) or its failure line (quiet). */
function relayJson(ctx: Context, name: string, mode: OutputMode, answered: { exit: number; stdout: string }, container: string): number {
  const answer = jsonAnswer(answered.stdout);
  if (answer === undefined) {
    return fail(ctx, mode, EXIT.unavailable, "unavailable", `unexpected answer from the supervisor in container ${container} (not one JSON line)`);
  }
  if (mode === "json") {
    ctx.stdout.write(`${JSON.stringify(answer)}\n`);
    return answered.exit;
  }
  const failure = jsonFailure(answer);
  if (failure) ctx.stderr.write(`sandboxctl: ${name} failed (${failure.layer}): ${oneLine(failure.message)}\n`);
  return answered.exit;
}

async function restart(ctx: Context, cmd: Extract<Command, { command: "restart" }>): Promise<number> {
  const { container, output: mode, timeoutSeconds } = cmd;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const nothingAsked = (signal: NodeJS.Signals): number => {
    fail(ctx, mode, interruptedStatus(signal), "interrupted", "interrupted before the restart was requested; nothing was changed");
    return interruptedStatus(signal);
  };
  const found = await findContainer(ctx, container, mode, deadline);
  if (found.kind === "exit") return ctx.abort.aborted ? nothingAsked(reasonOf(ctx.abort)) : found.status;
  const taken = await takeLock(ctx, "restart", container, found.id, mode, deadline, timeoutSeconds);
  if (taken.kind === "exit") return taken.status;
  if (taken.kind === "interrupted") return nothingAsked(taken.signal);
  try {
    // What is left of the budget goes to the supervisor, which waits for its own restart
    // lock within it; at least 1 s once this lock is ours.
    const seconds = Math.max(1, Math.round((deadline - Date.now()) / 1000));
    const args = ["--timeout", String(seconds), ...(mode === "text" ? [] : ["--json"])];
    // No deadline here: the supervisor bounds its answer itself (docs/supervisor-restart.md).
    const asked = await askSupervisor(ctx, "restart", args, found.id, container, mode, undefined, "leave");
    if (asked.kind === "exit") return asked.status;
    if (asked.kind === "interrupted") {
      // The docker exec goes on without us, and so does the supervisor's restart, which
      // no client can cancel once begun (supervisor/control/server.ts): never half done.
      const status = interruptedStatus(asked.signal);
      return fail(ctx, mode, status, "interrupted", `interrupted; the restart continues inside the container, check with: sandboxctl status ${container}`);
    }
    if (mode !== "text") return relayJson(ctx, "restart", mode, asked, container);
    return relayText(ctx, asked);
  } finally {
    await taken.lock.release();
  }
}

async function status(ctx: Context, cmd: Extract<Command, { command: "status" }>): Promise<number> {
  const { container, output: mode } = cmd;
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, mode, deadline);
  if (found.kind === "exit") return found.status;
  const asked = await askSupervisor(ctx, "status", mode === "json" ? ["--json"] : [], found.id, container, mode, deadline, "end");
  if (asked.kind === "exit") return asked.status;
  if (asked.kind === "interrupted") return interruptedStatus(asked.signal);
  if (mode === "json") return relayJson(ctx, "status", mode, asked, container);
  return relayText(ctx, asked);
}

async function health(ctx: Context, cmd: Extract<Command, { command: "health" }>): Promise<number> {
  const { container, output: mode } = cmd;
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, mode, deadline);
  if (found.kind === "exit") return found.status;
  const asked = await askSupervisor(ctx, "health", [], found.id, container, mode, deadline, "end");
  if (asked.kind === "exit") return asked.status;
  if (asked.kind === "interrupted") return interruptedStatus(asked.signal);
  return relayText(ctx, mode === "quiet" ? { ...asked, stdout: "" } : asked);
}

/** How often `token` looks again while the new boot has not written its token yet. */
const TOKEN_POLL_MS = 250;

async function token(ctx: Context, cmd: Extract<Command, { command: "token" }>): Promise<number> {
  const { container } = cmd;
  const mode: OutputMode = "text";
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, mode, deadline);
  if (found.kind === "exit") return found.status;
  let waited: "missing" | "stale" | undefined;
  for (;;) {
    const attempt = await readTokenOnce(ctx, found.id, container, deadline);
    if (attempt.kind === "exit") return attempt.status;
    if (attempt.kind === "token") {
      ctx.stdout.write(`${attempt.value}\n`);
      return EXIT.ok;
    }
    waited = attempt.kind;
    if (Date.now() + TOKEN_POLL_MS >= deadline) break;
    if (await interruptibleSleep(TOKEN_POLL_MS, ctx.abort)) return interruptedStatus(reasonOf(ctx.abort));
  }
  const why = waited === "stale" ? `holds an earlier boot's token` : "does not exist";
  return fail(
    ctx,
    mode,
    EXIT.failed,
    "token",
    `container ${container} has no gateway token: ${TOKEN_FILE} ${why} after waiting ${cmd.timeoutSeconds} s (the supervisor writes it at boot and removes it at shutdown or when it could not produce one; see: sandboxctl logs ${container})`,
  );
}

function interruptibleSleep(ms: number, abort: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (abort.aborted) return resolve(true);
    const timer = setTimeout(() => {
      abort.removeEventListener("abort", interrupted);
      resolve(false);
    }, ms);
    const interrupted = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    abort.addEventListener("abort", interrupted, { once: true });
  });
}

/**
 * One look at the token file: printed only if it was written after this start of the
 * container. /dev is a fresh tmpfs at every container start, made before PID 1 runs, so a
 * file older than /dev is an earlier boot's (a supervisor killed before it could remove it
 * at shutdown, and whose successor has not yet removed it first thing at boot).
 */
const TOKEN_SCRIPT = `f=${TOKEN_FILE}; [ -e "$f" ] || exit ${TOKEN_MISSING}; [ "$f" -nt /dev ] || exit ${TOKEN_STALE}; exec cat "$f"`;

type TokenAttempt = { kind: "token"; value: string } | { kind: "missing" } | { kind: "stale" } | { kind: "exit"; status: number };

async function readTokenOnce(ctx: Context, id: string, container: string, deadline: number): Promise<TokenAttempt> {
  const mode: OutputMode = "text";
  const stderr: string[] = [];
  const running = startDocker(execArgs(id, ["/bin/sh", "-c", TOKEN_SCRIPT]), {
    deadline,
    maxStdoutChars: MAX_TOKEN_FILE_BYTES + 1,
    onStderrLine: (line) => stderr.push(line),
  });
  const raced = await raceInterrupt(running, ctx.abort, "end");
  if (raced.kind === "interrupted") return { kind: "exit", status: interruptedStatus(raced.signal) };
  const result = raced.result;
  if (result.spawnError) return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", dockerSpawnMessage(result.spawnError)) };
  if (result.timedOut) return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", `no answer from container ${container} in time`) };
  if (result.status === 0) {
    const value = parseTokenFile(result.stdout);
    if (value !== undefined) return { kind: "token", value };
    // The content is never shown: it may be a token in the wrong shape.
    return {
      kind: "exit",
      status: fail(ctx, mode, EXIT.failed, "token", `${TOKEN_FILE} in container ${container} is not one line export OPENCLAW_GATEWAY_TOKEN='<64 hex>'`),
    };
  }
  if (result.status === TOKEN_MISSING) return { kind: "missing" };
  if (result.status === TOKEN_STALE) return { kind: "stale" };
  const detail = stderr.find((line) => line.trim() !== "")?.trim() ?? "";
  if (result.status === 1) return { kind: "exit", status: fail(ctx, mode, EXIT.failed, "token", `cannot read ${TOKEN_FILE} in container ${container}: ${detail}`) };
  const stopped = await stoppedMeanwhile(ctx, container, mode);
  if (stopped !== undefined) return { kind: "exit", status: stopped };
  const outcome = outcomeOf(result.status, stderr, container, "/bin/sh");
  const message = outcome.kind === "no answer" ? outcome.message : `docker exec in container ${container} exited with ${String(result.status)}`;
  return { kind: "exit", status: fail(ctx, mode, EXIT.unavailable, "unavailable", message) };
}

async function logs(ctx: Context, cmd: Extract<Command, { command: "logs" }>): Promise<number> {
  const { container } = cmd;
  const found = await findContainer(ctx, container, "text", Date.now() + DOCKER_QUERY_MS, true);
  if (found.kind === "exit") return found.status;
  const args = ["logs", ...(cmd.tail !== undefined ? ["--tail", cmd.tail] : []), ...(cmd.follow ? ["--follow"] : []), found.id];
  const raced = await raceInterrupt(startDocker(args, { inherit: true }), ctx.abort, "end");
  if (raced.kind === "interrupted") return interruptedStatus(raced.signal);
  const result = raced.result;
  if (result.spawnError) return fail(ctx, "text", EXIT.unavailable, "unavailable", dockerSpawnMessage(result.spawnError));
  // docker has printed its own reason on stderr.
  return result.status === 0 ? EXIT.ok : EXIT.failed;
}

async function signal(ctx: Context, cmd: Extract<Command, { command: "signal" }>): Promise<number> {
  const { container, output: mode, timeoutSeconds } = cmd;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const notSent = (signal: NodeJS.Signals): number => fail(ctx, mode, interruptedStatus(signal), "interrupted", `interrupted; ${cmd.signal} was not sent`);
  const found = await findContainer(ctx, container, mode, deadline);
  if (found.kind === "exit") return ctx.abort.aborted ? notSent(reasonOf(ctx.abort)) : found.status;
  const taken = await takeLock(ctx, "signal", container, found.id, mode, deadline, timeoutSeconds);
  if (taken.kind === "exit") return taken.status;
  if (taken.kind === "interrupted") return notSent(taken.signal);
  try {
    const stderr: string[] = [];
    // Not raced with an interrupt: it takes an instant, and then the signal is either sent or not.
    const result = await startDocker(["kill", "--signal", cmd.signal, found.id], {
      deadline: Date.now() + DOCKER_QUERY_MS,
      onStderrLine: (line) => stderr.push(line),
    }).done;
    if (result.spawnError) return fail(ctx, mode, EXIT.unavailable, "unavailable", dockerSpawnMessage(result.spawnError));
    if (result.status !== 0) {
      const stopped = await stoppedMeanwhile(ctx, container, mode);
      if (stopped !== undefined) return stopped;
      const detail = stderr.find((line) => line.trim() !== "")?.trim() ?? (result.timedOut ? "no answer in time" : `status ${String(result.status)}`);
      return fail(ctx, mode, EXIT.unavailable, "unavailable", `docker kill --signal ${cmd.signal} ${container} failed: ${detail}`);
    }
    if (mode === "text") ctx.stdout.write(`sent ${cmd.signal} to container ${container}\n`);
    return EXIT.ok;
  } finally {
    await taken.lock.release();
  }
}

export function runCommand(ctx: Context, cmd: Command): Promise<number> {
  switch (cmd.command) {
    case "restart":
      return restart(ctx, cmd);
    case "status":
      return status(ctx, cmd);
    case "health":
      return health(ctx, cmd);
    case "token":
      return token(ctx, cmd);
    case "logs":
      return logs(ctx, cmd);
    case "signal":
      return signal(ctx, cmd);
  }
}
