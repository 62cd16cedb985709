// How `sandboxctl status` shows several containers: one row each in an aligned table like
// `docker ps`, or one JSON object each in an array. Pure.
import { EXIT } from "./exit.js";
import { formatDuration } from "../supervisor/shared/format.js";

/** What one container answered, or why it could not. */
export type StatusEntry =
  | { container: string; id: string | null; ok: true; report: Record<string, unknown> }
  | { container: string; id: string | null; ok: false; exit: number; layer: string; message: string };

export const COLUMNS = ["CONTAINER", "STATE", "PID", "UPTIME", "RESTARTS", "CRASHES", "MODE", "DETAIL"] as const;

function text(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  return String(value).replace(/\s+/g, " ");
}

/** Pure: the row of one entry, in COLUMNS order. */
export function rowOf(entry: StatusEntry): string[] {
  if (!entry.ok) return [entry.container, entry.layer, "-", "-", "-", "-", "-", entry.message];
  const r = entry.report;
  const gateway = r.gateway as { pid?: unknown; uptimeSeconds?: unknown } | null | undefined;
  const uptime = typeof gateway?.uptimeSeconds === "number" ? formatDuration(gateway.uptimeSeconds, "short") : "-";
  return [entry.container, text(r.state), text(gateway?.pid), uptime, text(r.restarts), text(r.crashes), text(r.mode), r.detail ? text(r.detail) : ""];
}

/** Pure: the table, columns three spaces apart, no trailing blanks. */
export function statusTable(entries: readonly StatusEntry[]): string {
  const rows = [[...COLUMNS], ...entries.map(rowOf)];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("").trimEnd()).join("\n").concat("\n");
}

/** Pure: one object of the --json array: the report with `container`, `id` and `ok`, or the failure. */
export function entryJson(entry: StatusEntry): Record<string, unknown> {
  if (entry.ok) return { ok: true, container: entry.container, id: entry.id, ...entry.report };
  return { ok: false, container: entry.container, id: entry.id, layer: entry.layer, message: entry.message };
}

/** Pure: 0 if every container answered, else the status of the first that did not. */
export function overallExit(entries: readonly StatusEntry[]): number {
  const failed = entries.find((e) => !e.ok);
  return failed !== undefined && !failed.ok ? failed.exit : EXIT.ok;
}
