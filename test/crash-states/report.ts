// What `npm run crash-states` prints: states per path with their outcomes, every violation
// of the supervisor with the state that shows it, what caught each broken writer, and one
// last line with the totals.
import type { ExploreResult, PathResult, Violation } from "./explorer.js";

const SHOWN_VIOLATIONS = 20;
const LEGEND = [
  "old / new: booted with the config from before the recorded boot / the one it wrote (with a fresh token either way);",
  "recovered: refused in a documented way and booted after that recovery; finished: boots that first completed or",
  "rolled back an interrupted config write. A state several paths share is booted once and counted in each.",
].join("\n");
const SHOWN_PER_BROKEN_WRITER = 3;

export interface Totals {
  states: number;
  violations: number;
  caught: number;
  writers: number;
}

export function totals(result: ExploreResult): Totals {
  return {
    states: sum(result.real.map((r) => r.states)),
    violations: sum(result.real.map((r) => r.outcomes.violation)),
    caught: result.broken.filter((b) => b.results.some((r) => r.outcomes.violation > 0)).length,
    writers: result.broken.length,
  };
}

export function summaryLine(t: Totals): string {
  return `${t.states} crash states, ${t.violations} violations; broken writers caught: ${t.caught} of ${t.writers}`;
}

export function report(result: ExploreResult, seconds: number): string[] {
  const t = totals(result);
  const lines = ["", table(result.real), LEGEND, ""];
  const violations = result.real.flatMap((r) => r.violations.map((v) => ({ where: `${r.scenario} / ${r.path}`, ...v })));
  if (violations.length === 0) lines.push("Violations of the supervisor: none");
  else {
    lines.push(`Violations of the supervisor (${violations.length}):`);
    for (const v of violations.slice(0, SHOWN_VIOLATIONS)) lines.push(...describe(v.where, v));
    if (violations.length > SHOWN_VIOLATIONS) lines.push(`  ... and ${violations.length - SHOWN_VIOLATIONS} more`);
  }
  lines.push("", "Broken writers (each must be caught):");
  for (const { writer, results } of result.broken) {
    const found = results.flatMap((r) => r.violations.map((v) => ({ where: `${r.scenario} / ${r.path}`, ...v })));
    const states = sum(results.map((r) => r.states));
    lines.push(`  ${writer.name} (${writer.what}): ${found.length} of ${states} states violate${found.length > 0 ? ", caught" : ", NOT caught"}`);
    for (const v of distinctProblems(found).slice(0, SHOWN_PER_BROKEN_WRITER)) lines.push(...describe(v.where, v).map((l) => `  ${l}`));
  }
  lines.push(`\n${result.boots.toLocaleString("en-US")} boots checked the distinct states in ${seconds.toFixed(0)} s`, summaryLine(t));
  return lines;
}

function table(results: readonly PathResult[]): string {
  const header = ["program", "scenario", "path", "states", "old", "new", "recovered", "violations", "finished"];
  const rows = results.map((r) => [r.program, r.scenario, r.path, r.states, r.outcomes.old, r.outcomes.new, r.outcomes.recovered, r.outcomes.violation, r.finished].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  return [format(header), ...rows.map(format)].join("\n");
}

function describe(where: string, v: Violation): string[] {
  return [`  ${where}: ${v.state}`, ...v.problems.map((p) => `      -> ${p}`)];
}

/** One example per kind of problem, so a broken writer's report shows what differs. */
function distinctProblems<T extends Violation>(found: T[]): T[] {
  const seen = new Set<string>();
  return found.filter((v) => {
    const kind = v.problems.map((p) => p.replace(/[\d.]+|\/\S+/g, "")).join("|");
    if (seen.has(kind)) return false;
    seen.add(kind);
    return true;
  });
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
