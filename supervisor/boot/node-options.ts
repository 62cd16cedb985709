// Composes NODE_OPTIONS so that it requires each guard exactly once and keeps every other
// option of the user's. Options are compared as tokens (Node splits NODE_OPTIONS on
// spaces, with double quotes grouping), so a path merely mentioned inside another option
// does not count as required.

/** Splits NODE_OPTIONS like Node does: whitespace separates, "double quotes" group, \ escapes inside quotes. */
export function splitNodeOptions(value: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === "\\" && i + 1 < value.length) current += value[++i];
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = true;
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) tokens.push(current);
      current = "";
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) tokens.push(current);
  return tokens;
}

function quote(token: string): string {
  return /[\s"\\]/.test(token) || token === "" ? `"${token.replace(/(["\\])/g, "\\$1")}"` : token;
}

/**
 * NODE_OPTIONS with `--require <path>` for each path, once, after the user's other options.
 * Existing requires of those paths, in any spelling (-r X, --require X, --require=X), are
 * folded into that one occurrence.
 */
export function composeNodeOptions(existing: string | undefined, requirePaths: readonly string[]): string {
  const tokens = splitNodeOptions(existing ?? "");
  const kept: string[] = [];
  const ours = new Set(requirePaths);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if ((token === "--require" || token === "-r") && i + 1 < tokens.length && ours.has(tokens[i + 1]!)) {
      i++;
      continue;
    }
    if (token.startsWith("--require=") && ours.has(token.slice("--require=".length))) continue;
    kept.push(token);
  }
  for (const path of requirePaths) kept.push("--require", path);
  return kept.map(quote).join(" ");
}

/**
 * Linux's MAX_ARG_STRLEN (32 pages) bounds one environment string, "NODE_OPTIONS=" and the
 * final NUL included: a longer value makes every launch fail with E2BIG.
 */
export const MAX_NODE_OPTIONS_BYTES = 32 * 4096 - "NODE_OPTIONS=".length - 1;

/**
 * composeNodeOptions, bounded: when the user's options and the guards together would not
 * fit in one environment string, the guards win and the user's options are dropped
 * (droppedBytes says how many), so a huge NODE_OPTIONS cannot keep the gateway from starting.
 */
export function composeBoundedNodeOptions(
  existing: string | undefined,
  requirePaths: readonly string[],
): { value: string; droppedBytes?: number } {
  const value = composeNodeOptions(existing, requirePaths);
  if (Buffer.byteLength(value) <= MAX_NODE_OPTIONS_BYTES) return { value };
  return { value: composeNodeOptions(undefined, requirePaths), droppedBytes: Buffer.byteLength(existing ?? "") };
}
