// `sandboxctl status`: of one container, the supervisor's own report relayed as it is; of
// several, or of every running container whose PID 1 is the supervisor (--all), one row
// each (status-table.ts). Read-only: no host lock, so it answers during a restart.
import type { Command } from "./command-line.js";
import { listSupervised, type Inspected } from "./engine.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { answerObject, askSupervisor, ENGINE_QUERY_MS, failure, findContainer, reasonOf, relayJson, relayText, report, type Context } from "./request.js";
import { entryFromCheck } from "./health-check-entry.js";
import { inPool } from "./pool.js";
import { entryJson, overallExit, statusTable, type StatusEntry } from "./status-table.js";

type StatusCommand = Extract<Command, { command: "status" }>;


async function single(ctx: Context, cmd: StatusCommand, container: string, deadline: number): Promise<number> {
  const mode = cmd.output;
  const found = await findContainer(ctx, container, deadline);
  if (found.kind === "interrupted") return interruptedStatus(found.signal);
  if (found.kind === "failure") return report(ctx, mode, found);
  const asked = await askSupervisor(ctx, "status", mode === "json" ? ["--json"] : [], found.container, container, {
    progress: mode !== "json",
    deadline,
    onInterrupt: "end",
  });
  if (asked.kind === "interrupted") return interruptedStatus(asked.signal);
  if (asked.kind === "failure") return report(ctx, mode, asked);
  return mode === "json" ? relayJson(ctx, "status", mode, asked, container) : relayText(ctx, asked);
}

/** One container's entry: its report, or why there is none. */
async function entryOf(ctx: Context, container: string, known: Inspected | undefined, deadline: number): Promise<StatusEntry> {
  let inspected = known;
  if (inspected === undefined) {
    const found = await findContainer(ctx, container, deadline);
    if (found.kind === "failure") return { container, id: null, ok: false, exit: found.exit, layer: found.layer, message: found.message };
    if (found.kind === "interrupted") return { container, id: null, ok: false, exit: interruptedStatus(found.signal), layer: "interrupted", message: "interrupted" };
    inspected = found.container;
  }
  const id = inspected.id;
  const asked = await askSupervisor(ctx, "status", ["--json"], inspected, container, { progress: false, deadline, onInterrupt: "end" });
  if (asked.kind === "interrupted") return { container, id, ok: false, exit: interruptedStatus(asked.signal), layer: "interrupted", message: "interrupted" };
  if (asked.kind === "failure") return { container, id, ok: false, exit: asked.exit, layer: asked.layer, message: asked.message };
  const answer = answerObject(asked, container);
  if (answer.kind === "failure") return { container, id, ok: false, exit: answer.exit, layer: answer.layer, message: answer.message };
  if (answer.value.ok === false) {
    const { layer, message } = answer.value;
    return { container, id, ok: false, exit: asked.exit, layer: typeof layer === "string" ? layer : "unavailable", message: typeof message === "string" ? message : "" };
  }
  return { container, id, ok: true, report: answer.value };
}

export async function status(ctx: Context, cmd: StatusCommand): Promise<number> {
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  const { targets, output: mode } = cmd;
  if (targets.kind === "named" && targets.containers.length === 1) return single(ctx, cmd, targets.containers[0]!, deadline);

  let asked: Array<{ name: string; inspected?: Inspected }>;
  if (targets.kind === "all") {
    const listed = await listSupervised(ctx.engine, targets.filters, Math.min(deadline, Date.now() + ENGINE_QUERY_MS));
    if (ctx.abort.aborted) return interruptedStatus(reasonOf(ctx.abort));
    if (!listed.ok) return report(ctx, mode, failure(EXIT.unavailable, "unavailable", listed.message));
    asked = listed.containers.map((inspected) => ({ name: inspected.name, inspected }));
  } else {
    asked = targets.containers.map((name) => ({ name }));
  }
  const now = Date.now();
  // --all without --full: a health check of this start stands for the container's answer.
  const glance = (target: (typeof asked)[number]): StatusEntry | undefined =>
    targets.kind === "all" && !cmd.full && target.inspected !== undefined ? entryFromCheck(target.name, target.inspected.id, target.inspected.checks, now) : undefined;
  const entries = await inPool(asked, cmd.parallel, async (target) => glance(target) ?? (await entryOf(ctx, target.name, target.inspected, deadline)));
  // Interrupted: the exec's were ended; half a table would look like a whole one.
  if (ctx.abort.aborted) return interruptedStatus(reasonOf(ctx.abort));
  ctx.stdout.write(mode === "json" ? `${JSON.stringify(entries.map(entryJson))}\n` : statusTable(entries));
  return overallExit(entries);
}
