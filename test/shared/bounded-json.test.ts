import { describe, expect, it } from "vitest";
import { CONFIG_JSON_LIMITS, exceededLimit, parseBoundedJson } from "../../supervisor/shared/bounded-json.js";

const limits = { maxDepth: 3, maxItems: 5, maxStringChars: 10 };

describe("bounded JSON", () => {
  it("parses what is within every limit", () => {
    expect(parseBoundedJson('{"a":[1,{"b":"0123456789"}]}', limits)).toEqual({ ok: true, value: { a: [1, { b: "0123456789" }] } });
  });

  it("names the limit a document exceeds", () => {
    expect(parseBoundedJson("[[[[1]]]]", limits)).toEqual({ ok: false, reason: "has nesting deeper than 3 levels (the limit)" });
    expect(parseBoundedJson("[1,2,3,4,5,6]", limits)).toEqual({ ok: false, reason: "has more than 5 members and elements (the limit)" });
    expect(parseBoundedJson('["01234567890"]', limits)).toEqual({ ok: false, reason: "has a string of more than 10 characters (the limit)" });
  });

  it("does not count brackets and escaped quotes inside strings", () => {
    expect(exceededLimit('["[[[[,,,,,,\\"[[["]', { ...limits, maxStringChars: 100 })).toBeUndefined();
  });

  it("refuses 200,000 levels quickly, naming the depth, without touching the stack", () => {
    const deep = `${'{"a":'.repeat(200_000)}1${"}".repeat(200_000)}`;
    const started = performance.now();
    expect(parseBoundedJson(deep, CONFIG_JSON_LIMITS)).toEqual({ ok: false, reason: "has nesting deeper than 64 levels (the limit)" });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("never quotes the input in a parse error", () => {
    expect(parseBoundedJson('{"token":"secret"', limits)).toEqual({ ok: false, reason: "is not valid JSON" });
  });
});
