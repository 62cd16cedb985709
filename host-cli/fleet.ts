// restart, start, stop, check and logs of several sandboxes at once: the ones named, or (--all)
// every running container whose PID 1 is the supervisor, narrowed by --filter. Each one is
// the single-container command, as it would run alone (its own host lock, its own timeout),
// at most --parallel at a time. Every line it prints names its container; a container never
// asked because sandboxctl was interrupted first is "not asked", apart from one that gave
// no answer.
import type { Command, OutputMode, StatusTargets } from "./command-line.js";
import { listSupervised } from "./engine.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { inPool } from "./pool.js";
import { ENGINE_QUERY_MS, failure, reasonOf, report, type Context } from "./request.js";
import type { Output } from "../supervisor/shared/output.js";

export type FleetCommand = Extract<Command, { command: "fleet" }>;
type Single = (ctx: Context, cmd: Extract<Command, { command: "restart" | "start" | "stop" | "check" }>) => Promise<number>;

interface Outcome {
  container: string;
  exit: number;
  /** --json: what the container's command printed, as one object. */
  answer?: Record<string, unknown>;
}

/** An Output that puts `prefix` before every line, whole lines only. */
export function prefixedOutput(out: Output, prefix: string): Output & { flush(): void } {
  let pending = "";
  return {
    write(text: string): void {
      pending += text;
      const end = pending.lastIndexOf("\n");
      if (end === -1) return;
      out.write(pending.slice(0, end + 1).replace(/^(?=.)/gm, prefix));
      pending = pending.slice(end + 1);
    },
    flush(): void {
      if (pending !== "") out.write(`${prefix}${pending}\n`);
      pending = "";
    },
  };
}

/** An Output that keeps what is written, for the --json array. */
function captured(): Output & { text: string } {
  const sink = { text: "", write: (t: string) => void (sink.text += t) };
  return sink;
}

export async function runFleet(ctx: Context, cmd: FleetCommand, single: Single): Promise<number> {
  const names = await targetNames(ctx, cmd.targets, cmd.output);
  if (typeof names === "number") return names;
  const outcomes = await inPool(names, cmd.parallel, async (container): Promise<Outcome> => {
    if (ctx.abort.aborted) return { container, exit: interruptedStatus(reasonOf(ctx.abort)), answer: notAsked(container) };
    return cmd.output === "json" ? askForJson(ctx, cmd, single, container) : askForText(ctx, cmd, single, container);
  });
  if (cmd.output === "json") ctx.stdout.write(`${JSON.stringify(outcomes.map((o) => o.answer))}\n`);
  else {
    for (const o of outcomes) if (o.answer?.layer === "not asked" && cmd.output === "text") ctx.stderr.write(`${o.container}: not asked: sandboxctl was interrupted first\n`);
    if (names.length === 0 && cmd.output === "text") ctx.stderr.write(`${cmd.verb}: no running sandbox matched\n`);
  }
  return outcomes.find((o) => o.exit !== EXIT.ok)?.exit ?? EXIT.ok;
}

function notAsked(container: string): Record<string, unknown> {
  return { ok: false, container, layer: "not asked", message: "sandboxctl was interrupted before it asked this container" };
}

async function targetNames(ctx: Context, targets: StatusTargets, output: OutputMode): Promise<string[] | number> {
  if (targets.kind === "named") return targets.containers;
  const listed = await listSupervised(ctx.engine, targets.filters, Date.now() + ENGINE_QUERY_MS);
  if (ctx.abort.aborted) return interruptedStatus(reasonOf(ctx.abort));
  if (!listed.ok) return report(ctx, output, failure(EXIT.unavailable, "unavailable", listed.message));
  return listed.containers.map((c) => c.name);
}

/**
 * The logs of several containers, every line named: one log after the other, each whole;
 * with --follow all at once, as the lines come, until interrupted.
 */
export async function runFleetLogs(
  ctx: Context,
  cmd: Extract<Command, { command: "logs" }>,
  single: (ctx: Context, container: string) => Promise<number>,
): Promise<number> {
  const names = await targetNames(ctx, cmd.targets, "text");
  if (typeof names === "number") return names;
  const exits = await inPool(names, cmd.follow ? Math.max(1, names.length) : 1, async (container): Promise<number> => {
    if (ctx.abort.aborted) return interruptedStatus(reasonOf(ctx.abort));
    return withNamedLines(ctx, container, (named) => single(named, container));
  });
  if (names.length === 0) ctx.stderr.write("logs: no running sandbox matched\n");
  return exits.find((exit) => exit !== EXIT.ok) ?? EXIT.ok;
}

/** Runs `work` with outputs whose every line starts with `CONTAINER: `. */
async function withNamedLines(ctx: Context, container: string, work: (named: Context) => Promise<number>): Promise<number> {
  const stdout = prefixedOutput(ctx.stdout, `${container}: `);
  const stderr = prefixedOutput(ctx.stderr, `${container}: `);
  const exit = await work({ ...ctx, stdout, stderr });
  stdout.flush();
  stderr.flush();
  return exit;
}

async function askForText(ctx: Context, cmd: FleetCommand, single: Single, container: string): Promise<Outcome> {
  const output = cmd.output as OutputMode;
  const exit = await withNamedLines(ctx, container, (named) => single(named, { command: cmd.verb, container, timeoutSeconds: cmd.timeoutSeconds, output }));
  return { container, exit };
}

async function askForJson(ctx: Context, cmd: FleetCommand, single: Single, container: string): Promise<Outcome> {
  const stdout = captured();
  const exit = await single({ ...ctx, stdout, stderr: captured() }, { command: cmd.verb, container, timeoutSeconds: cmd.timeoutSeconds, output: "json" });
  let answer: Record<string, unknown>;
  try {
    const value = JSON.parse(stdout.text.trim().split("\n").at(-1) ?? "") as unknown;
    answer = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { ok: false, message: "no answer" };
  } catch {
    answer = { ok: false, layer: "unavailable", message: "no answer" };
  }
  return { container, exit, answer: { container, ...answer } };
}
