// Text for people: one-line values and durations, the same in both programs.

/** Line breaks become spaces: a value shown in one line of output or one table cell. */
export function singleLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

const UNITS: ReadonlyArray<[string, number]> = [["d", 86_400], ["h", 3_600], ["m", 60], ["s", 1]];

/**
 * A duration in whole seconds. `full` ("1h 2m 3s", every unit from the largest present) is
 * `supervisor status`'s uptime; `short` ("1h2m", the two largest units) fits a table column
 * like `docker ps`.
 */
export function formatDuration(totalSeconds: number, style: "full" | "short" = "full"): string {
  return style === "full" ? fullDuration(totalSeconds) : shortDuration(totalSeconds);
}

function fullDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of UNITS.slice(0, 3)) {
    if (rest >= size || parts.length > 0) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  parts.push(`${rest}s`);
  return parts.join(" ");
}

function shortDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const first = UNITS.findIndex(([, size]) => s >= size);
  if (first === -1) return "0s";
  const [bigName, bigSize] = UNITS[first]!;
  const big = `${Math.floor(s / bigSize)}${bigName}`;
  const next = UNITS[first + 1];
  if (next === undefined) return big;
  const rest = Math.floor((s % bigSize) / next[1]);
  return rest > 0 ? `${big}${rest}${next[0]}` : big;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration as OpenClaw's own `--wait` takes it: bare milliseconds ("1500") or numbers with
 * units ms, s, m, h, d, one after another ("30s", "5m", "1h30m"). Undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return Math.round(parts.reduce((sum, [, n, unit]) => sum + Number(n) * DURATION_UNITS_MS[unit!]!, 0));
}
