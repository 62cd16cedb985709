// JSON that someone else wrote (the sandbox user's config, a gateway's answer) parsed within
// stated limits: nesting depth, number of members and elements, string length. A linear,
// iterative scan checks the limits first, so no recursion anywhere (JSON.parse's or the
// supervisor's own walks of the value) can exhaust PID 1's stack, and a refusal names the
// limit it hit instead of "Maximum call stack size exceeded".

export interface JsonLimits {
  /** Objects and arrays inside one another. */
  maxDepth: number;
  /** Object members plus array elements, in all. */
  maxItems: number;
  /** Characters of one string (key or value), escapes counted as written. */
  maxStringChars: number;
}

/** Far beyond any real openclaw.json (a few levels, a few hundred keys), far below harm. */
export const CONFIG_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxItems: 100_000, maxStringChars: 256 * 1024 };
/** A gateway's probe answer or a CLI's JSON answer: small documents of a few levels. */
export const ANSWER_JSON_LIMITS: JsonLimits = { maxDepth: 16, maxItems: 10_000, maxStringChars: 64 * 1024 };

export type BoundedJson = { ok: true; value: unknown } | { ok: false; reason: string };

/** Pure: the first limit `text` exceeds, or undefined. Linear in the text; strings are skipped whole. */
export function exceededLimit(text: string, limits: JsonLimits): string | undefined {
  let depth = 0;
  let items = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      if (i - start - 1 > limits.maxStringChars) return `a string of more than ${limits.maxStringChars} characters (the limit)`;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limits.maxDepth) return `nesting deeper than ${limits.maxDepth} levels (the limit)`;
      items++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */) {
      if (++items > limits.maxItems) return `more than ${limits.maxItems} members and elements (the limit)`;
    }
  }
  return undefined;
}

/** JSON.parse within `limits`; never throws. The parser's own message is left out: it may quote the input (a token). */
export function parseBoundedJson(text: string, limits: JsonLimits): BoundedJson {
  const exceeded = exceededLimit(text, limits);
  if (exceeded !== undefined) return { ok: false, reason: `has ${exceeded}` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: "is not valid JSON" };
  }
}
