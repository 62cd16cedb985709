// The sandboxctl commands about one container. Each one first proves the container is there,
// then asks through the engine's CLI and turns the answer into output and one exit status
// (docs/sandboxctl.md); `status` lives in status.ts, since it may ask many containers.
import type { Command, OutputMode } from "./command-line.js";
import { engineSpawnMessage, execArgs, logsArgs, mayBecomeSupervisor, runsSupervisor, startEngine } from "./engine.js";
import { EXIT, interruptedStatus } from "./exit.js";
import type { HeldLock } from "./host-lock.js";
import { outcomeOf } from "./relay.js";
import {
  answerObject,
  askSupervisor,
  ENGINE_QUERY_MS,
  failure,
  findContainer,
  raceInterrupt,
  reasonOf,
  relayJson,
  relayText,
  report,
  stoppedMeanwhile,
  takeLock,
  type Context,
  type Failure,
  type Found,
  type Interrupted,
} from "./request.js";
import { runFleet, runFleetLogs } from "./fleet.js";
import { status } from "./status.js";
import { MAX_TOKEN_FILE_BYTES, TOKEN_FILE, TOKEN_MISSING, TOKEN_STALE } from "./token.js";
import { parseTokenFile } from "../supervisor/shared/token-file.js";

type Mutation = Extract<Command, { command: "restart" | "start" | "stop" }>;

/**
 * The part every command that changes a container shares: find it, take its host lock,
 * run `body`, release. An interrupt before `body` asked anything says that nothing changed.
 */
async function underLock(
  ctx: Context,
  cmd: { command: string; container: string; timeoutSeconds: number; output: OutputMode },
  nothingDone: string,
  body: (found: Found, deadline: number, lock: HeldLock) => Promise<number>,
): Promise<number> {
  const { container, output: mode, timeoutSeconds } = cmd;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const interrupted = (signal: NodeJS.Signals): number => report(ctx, mode, failure(interruptedStatus(signal), "interrupted", nothingDone));
  const found = await findContainer(ctx, container, deadline);
  if (found.kind === "interrupted") return interrupted(found.signal);
  if (found.kind === "failure") return ctx.abort.aborted ? interrupted(reasonOf(ctx.abort)) : report(ctx, mode, found);
  const taken = await takeLock(ctx, cmd.command, container, found.container.id, mode, deadline, timeoutSeconds);
  if (taken.kind === "failure") return report(ctx, mode, taken);
  if (taken.kind === "interrupted") return interrupted(taken.signal);
  try {
    return await body(found, deadline, taken.lock);
  } finally {
    await taken.lock.release();
  }
}

/** What is left of the budget, for the supervisor's own --timeout: at least 1 s once the lock is ours. */
function secondsLeft(deadline: number): string {
  return String(Math.max(1, Math.round((deadline - Date.now()) / 1000)));
}

/** The end of an interrupted request that changes the container: it goes on inside without us. */
function continuesInside(ctx: Context, cmd: Mutation, signal: NodeJS.Signals): number {
  return report(
    ctx,
    cmd.output,
    failure(interruptedStatus(signal), "interrupted", `interrupted; the ${cmd.command} continues inside the container, check with: sandboxctl status ${cmd.container}`),
  );
}

async function restart(ctx: Context, cmd: Extract<Command, { command: "restart" }>): Promise<number> {
  const mode = cmd.output;
  return underLock(ctx, cmd, "interrupted before the restart was requested; nothing was changed", async ({ container: found }, deadline) => {
    const args = ["--timeout", secondsLeft(deadline), ...(mode === "text" ? [] : ["--json"])];
    // No deadline here: the supervisor bounds its answer itself (docs/supervisor-restart.md).
    // Never ended on an interrupt: a restart the supervisor has begun is never half done.
    const asked = await askSupervisor(ctx, "restart", args, found, cmd.container, { progress: mode === "text", deadline: undefined, onInterrupt: "leave" });
    if (asked.kind === "failure") return report(ctx, mode, asked);
    if (asked.kind === "interrupted") return continuesInside(ctx, cmd, asked.signal);
    return mode === "text" ? relayText(ctx, asked) : relayJson(ctx, "restart", mode, asked, cmd.container);
  });
}

/** A status report, as much of it as start and health read. */
interface ReportFacts {
  kind: "facts";
  state: string;
  pid: number | null;
  startTime: number | null;
  detail: string | null;
}

function factsOf(report: Record<string, unknown>): ReportFacts | undefined {
  if (typeof report.state !== "string") return undefined;
  const gateway = report.gateway as { pid?: unknown; startTime?: unknown } | null | undefined;
  return {
    kind: "facts",
    state: report.state,
    pid: typeof gateway?.pid === "number" ? gateway.pid : null,
    startTime: typeof gateway?.startTime === "number" ? gateway.startTime : null,
    detail: typeof report.detail === "string" ? report.detail : null,
  };
}

/** Asks `supervisor status --json` and reads it; a failure the supervisor answered is a Failure too. */
async function readFacts(ctx: Context, found: Found, container: string, deadline: number): Promise<ReportFacts | Failure | Interrupted> {
  const asked = await askSupervisor(ctx, "status", ["--json"], found.container, container, { progress: false, deadline, onInterrupt: "end" });
  if (asked.kind !== "answered") return asked;
  const answer = answerObject(asked, container);
  if (answer.kind === "failure") return answer;
  if (answer.value.ok === false) {
    const { layer, message } = answer.value;
    return failure(asked.exit, typeof layer === "string" ? layer : "unavailable", typeof message === "string" ? message : "status failed");
  }
  return factsOf(answer.value) ?? failure(EXIT.unavailable, "unavailable", `unexpected status report from the supervisor in container ${container}`);
}

/**
 * `supervisor start`: PID 1 launches a gateway only where none runs nor is due (stopped,
 * quarantined), deciding in one step, so no request from inside comes in between.
 */
async function start(ctx: Context, cmd: Extract<Command, { command: "start" }>): Promise<number> {
  const mode = cmd.output;
  return underLock(ctx, cmd, "interrupted before the start was requested; nothing was changed", async ({ container: found }, deadline) => {
    const args = ["--timeout", secondsLeft(deadline), ...(mode === "text" ? [] : ["--json"])];
    const asked = await askSupervisor(ctx, "start", args, found, cmd.container, { progress: mode === "text", deadline: undefined, onInterrupt: "leave" });
    if (asked.kind === "failure") return report(ctx, mode, asked);
    if (asked.kind === "interrupted") return continuesInside(ctx, cmd, asked.signal);
    return mode === "text" ? relayText(ctx, asked) : relayJson(ctx, "start", mode, asked, cmd.container);
  });
}

async function stop(ctx: Context, cmd: Extract<Command, { command: "stop" }>): Promise<number> {
  const mode = cmd.output;
  return underLock(ctx, cmd, "interrupted before the stop was requested; nothing was changed", async ({ container: found }) => {
    // Bounded by the supervisor itself (its stop grace plus 15 s: docs/supervisor-stop.md).
    const asked = await askSupervisor(ctx, "stop", mode === "text" ? [] : ["--json"], found, cmd.container, {
      progress: mode === "text",
      deadline: undefined,
      onInterrupt: "leave",
    });
    if (asked.kind === "failure") return report(ctx, mode, asked);
    if (asked.kind === "interrupted") return continuesInside(ctx, cmd, asked.signal);
    return mode === "text" ? relayText(ctx, asked) : relayJson(ctx, "stop", mode, asked, cmd.container);
  });
}

async function health(ctx: Context, cmd: Extract<Command, { command: "health" }>): Promise<number> {
  const { container, output: mode } = cmd;
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, deadline);
  if (found.kind === "interrupted") return interruptedStatus(found.signal);
  if (found.kind === "failure") return report(ctx, mode, found);
  if (mode === "json") {
    // From the status report: supervisor health has no JSON form (and older images never will).
    const facts = await readFacts(ctx, found, container, deadline);
    if (facts.kind === "interrupted") return interruptedStatus(facts.signal);
    if (facts.kind === "failure") return report(ctx, mode, facts);
    const healthy = facts.state === "healthy";
    ctx.stdout.write(`${JSON.stringify({ ok: true, healthy, state: facts.state, pid: facts.pid, detail: facts.detail })}\n`);
    return healthy ? EXIT.ok : EXIT.failed;
  }
  const asked = await askSupervisor(ctx, "health", [], found.container, container, { progress: true, deadline, onInterrupt: "end" });
  if (asked.kind === "interrupted") return interruptedStatus(asked.signal);
  if (asked.kind === "failure") return report(ctx, mode, asked);
  return relayText(ctx, mode === "quiet" ? { ...asked, stdout: "" } : asked);
}

/** `supervisor check` in the container, its lines or its JSON object relayed as they are. */
async function check(ctx: Context, cmd: Extract<Command, { command: "check" }>): Promise<number> {
  const { container, output: mode } = cmd;
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, deadline);
  if (found.kind === "interrupted") return interruptedStatus(found.signal);
  if (found.kind === "failure") return report(ctx, mode, found);
  const asked = await askSupervisor(ctx, "check", mode === "json" ? ["--json"] : [], found.container, container, { progress: false, deadline, onInterrupt: "end" });
  if (asked.kind === "interrupted") return interruptedStatus(asked.signal);
  if (asked.kind === "failure") return report(ctx, mode, asked);
  return relayText(ctx, asked);
}

/** How often `token` looks again while the new boot has not written its token yet. */
const TOKEN_POLL_MS = 250;

async function token(ctx: Context, cmd: Extract<Command, { command: "token" }>): Promise<number> {
  const { container } = cmd;
  const mode: OutputMode = "text";
  const fail = (f: Failure): number => report(ctx, mode, f);
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const found = await findContainer(ctx, container, deadline);
  if (found.kind === "interrupted") return interruptedStatus(found.signal);
  if (found.kind === "failure") return fail(found);
  // Only the supervisor writes the token: a PID 1 that never becomes it never will, so there
  // is nothing to wait for.
  if (!mayBecomeSupervisor(found.container)) {
    return fail(failure(EXIT.unavailable, "unavailable", `container ${container} does not run the supervisor as PID 1 (it runs ${found.container.path}): it has no gateway token`));
  }
  let waited: "missing" | "stale" | undefined;
  for (;;) {
    const attempt = await readTokenOnce(ctx, found.container.id, container, deadline);
    if (attempt.kind === "exit") return attempt.status;
    // A look cut short by the deadline after earlier ones found no token: the answer is theirs.
    if (attempt.kind === "late") {
      if (waited !== undefined) break;
      return fail(failure(EXIT.unavailable, "unavailable", `no answer from container ${container} in time`));
    }
    if (attempt.kind === "token") {
      ctx.stdout.write(`${attempt.value}\n`);
      return EXIT.ok;
    }
    waited = attempt.kind;
    if (Date.now() + TOKEN_POLL_MS >= deadline) break;
    if (await interruptibleSleep(TOKEN_POLL_MS, ctx.abort)) return interruptedStatus(reasonOf(ctx.abort));
  }
  const why = waited === "stale" ? "holds an earlier boot's token" : "does not exist";
  return fail(
    failure(
      EXIT.failed,
      "token",
      `container ${container} has no gateway token: ${TOKEN_FILE} ${why} after waiting ${cmd.timeoutSeconds} s (the supervisor writes it at boot and removes it at shutdown or when it could not produce one; see: sandboxctl logs ${container})`,
    ),
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

type TokenAttempt = { kind: "token"; value: string } | { kind: "missing" } | { kind: "stale" } | { kind: "late" } | { kind: "exit"; status: number };

async function readTokenOnce(ctx: Context, id: string, container: string, deadline: number): Promise<TokenAttempt> {
  const fail = (f: Failure): TokenAttempt => ({ kind: "exit", status: report(ctx, "text", f) });
  const stderr: string[] = [];
  const running = startEngine(ctx.engine, execArgs(id, ["/bin/sh", "-c", TOKEN_SCRIPT]), {
    deadline,
    maxStdoutChars: MAX_TOKEN_FILE_BYTES + 1,
    onStderrLine: (line) => stderr.push(line),
  });
  const raced = await raceInterrupt(running, ctx.abort, "end");
  if (raced.kind === "interrupted") return { kind: "exit", status: interruptedStatus(raced.signal) };
  const result = raced.result;
  if (result.spawnError) return fail(failure(EXIT.unavailable, "unavailable", engineSpawnMessage(ctx.engine, result.spawnError)));
  if (result.timedOut) return { kind: "late" };
  if (result.status === 0) {
    const value = parseTokenFile(result.stdout);
    if (value !== undefined) return { kind: "token", value };
    // The content is never shown: it may be a token in the wrong shape.
    return fail(failure(EXIT.failed, "token", `${TOKEN_FILE} in container ${container} is not one line export OPENCLAW_GATEWAY_TOKEN='<64 hex>'`));
  }
  if (result.status === TOKEN_MISSING) return { kind: "missing" };
  if (result.status === TOKEN_STALE) return { kind: "stale" };
  const detail = stderr.find((line) => line.trim() !== "")?.trim() ?? "";
  if (result.status === 1) return fail(failure(EXIT.failed, "token", `cannot read ${TOKEN_FILE} in container ${container}: ${detail}`));
  const stopped = await stoppedMeanwhile(ctx, container);
  if (stopped !== undefined) return fail(stopped);
  const outcome = outcomeOf(result.status, stderr, container, "/bin/sh", ctx.engine);
  const message = outcome.kind === "no answer" ? outcome.message : `${ctx.engine} exec in container ${container} exited with ${String(result.status)}`;
  return fail(failure(EXIT.unavailable, "unavailable", message));
}

async function logs(ctx: Context, cmd: Extract<Command, { command: "logs" }>): Promise<number> {
  const { targets } = cmd;
  if (targets.kind === "named" && targets.containers.length === 1) return logsOf(ctx, cmd, targets.containers[0]!, "inherit");
  return runFleetLogs(ctx, cmd, (prefixed, container) => logsOf(prefixed, cmd, container, "lines"));
}

/**
 * One container's log: straight through to the terminal (one container), or line by line
 * into ctx's outputs (several, each line named there).
 */
async function logsOf(ctx: Context, cmd: Extract<Command, { command: "logs" }>, container: string, how: "inherit" | "lines"): Promise<number> {
  const found = await findContainer(ctx, container, Date.now() + ENGINE_QUERY_MS, true);
  if (found.kind === "interrupted") return interruptedStatus(found.signal);
  if (found.kind === "failure") return report(ctx, "text", found);
  const options =
    how === "inherit"
      ? { inherit: true }
      : { onStdoutLine: (line: string) => ctx.stdout.write(`${line}\n`), onStderrLine: (line: string) => ctx.stderr.write(`${line}\n`) };
  const raced = await raceInterrupt(startEngine(ctx.engine, logsArgs(ctx.engine, found.container.id, cmd), options), ctx.abort, "end");
  if (raced.kind === "interrupted") return interruptedStatus(raced.signal);
  const result = raced.result;
  if (result.spawnError) return report(ctx, "text", failure(EXIT.unavailable, "unavailable", engineSpawnMessage(ctx.engine, result.spawnError)));
  // The engine has printed its own reason on stderr.
  return result.status === 0 ? EXIT.ok : EXIT.failed;
}

async function signal(ctx: Context, cmd: Extract<Command, { command: "signal" }>): Promise<number> {
  const { container, output: mode } = cmd;
  return underLock(ctx, cmd, `interrupted; ${cmd.signal} was not sent`, async ({ container: found }) => {
    // The engine's record of PID 1, not anything the container says: a signal meant for the
    // supervisor must not end a container that would not handle it.
    if (!runsSupervisor(found)) {
      return report(
        ctx,
        mode,
        failure(EXIT.unavailable, "unavailable", `container ${container} does not run the supervisor as PID 1 (it runs ${found.path}); ${cmd.signal} was not sent`),
      );
    }
    const stderr: string[] = [];
    // Not raced with an interrupt: it takes an instant, and then the signal is either sent or not.
    const result = await startEngine(ctx.engine, ["kill", "--signal", cmd.signal, found.id], {
      deadline: Date.now() + ENGINE_QUERY_MS,
      onStderrLine: (line) => stderr.push(line),
    }).done;
    if (result.spawnError) return report(ctx, mode, failure(EXIT.unavailable, "unavailable", engineSpawnMessage(ctx.engine, result.spawnError)));
    if (result.status !== 0) {
      const stopped = await stoppedMeanwhile(ctx, container);
      if (stopped !== undefined) return report(ctx, mode, stopped);
      const detail = stderr.find((line) => line.trim() !== "")?.trim() ?? (result.timedOut ? "no answer in time" : `status ${String(result.status)}`);
      return report(ctx, mode, failure(EXIT.unavailable, "unavailable", `${ctx.engine} kill --signal ${cmd.signal} ${container} failed: ${detail}`));
    }
    if (mode === "json") ctx.stdout.write(`${JSON.stringify({ ok: true, signal: cmd.signal })}\n`);
    else if (mode === "text") ctx.stdout.write(`sent ${cmd.signal} to container ${container}\n`);
    return EXIT.ok;
  });
}

export function runCommand(ctx: Context, cmd: Command): Promise<number> {
  switch (cmd.command) {
    case "restart":
      return restart(ctx, cmd);
    case "start":
      return start(ctx, cmd);
    case "stop":
      return stop(ctx, cmd);
    case "status":
      return status(ctx, cmd);
    case "health":
      return health(ctx, cmd);
    case "check":
      return check(ctx, cmd);
    case "token":
      return token(ctx, cmd);
    case "logs":
      return logs(ctx, cmd);
    case "signal":
      return signal(ctx, cmd);
    case "fleet":
      return runFleet(ctx, cmd, (each, one) => runCommand(each, one));
  }
}
