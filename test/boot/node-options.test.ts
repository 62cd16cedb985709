import { describe, expect, it } from "vitest";
import { composeBoundedNodeOptions, composeNodeOptions, MAX_NODE_OPTIONS_BYTES, splitNodeOptions } from "../../supervisor/boot/node-options.js";

const A = "/tmp/nemoclaw-sandbox-safety-net.js";
const B = "/tmp/nemoclaw-ciao-network-guard.js";

describe("NODE_OPTIONS composition", () => {
  it("adds each guard once after the user's options", () => {
    expect(composeNodeOptions("--max-old-space-size=512", [A, B])).toBe(`--max-old-space-size=512 --require ${A} --require ${B}`);
    expect(composeNodeOptions(undefined, [A])).toBe(`--require ${A}`);
  });

  it("folds existing requires of a guard, in any spelling, into one", () => {
    const existing = `-r ${A} --require=${B} --inspect=0 --require ${A}`;
    expect(composeNodeOptions(existing, [A, B])).toBe(`--inspect=0 --require ${A} --require ${B}`);
  });

  it("does not count a mere mention of the path as required", () => {
    const existing = `--title=${A} --require ${A}.bak`;
    const composed = composeNodeOptions(existing, [A]);
    expect(splitNodeOptions(composed)).toEqual([`--title=${A}`, "--require", `${A}.bak`, "--require", A]);
  });

  it("keeps quoted options intact", () => {
    const existing = '--require "/opt/my hooks/x.js"';
    expect(splitNodeOptions(composeNodeOptions(existing, [A]))).toEqual(["--require", "/opt/my hooks/x.js", "--require", A]);
  });

  it("is idempotent", () => {
    const once = composeNodeOptions("--enable-source-maps", [A, B]);
    expect(composeNodeOptions(once, [A, B])).toBe(once);
  });

  it("stays within one environment string: a huge NODE_OPTIONS gives way to the guards, in linear time", () => {
    expect(composeBoundedNodeOptions("--enable-source-maps", [A, B])).toEqual({ value: composeNodeOptions("--enable-source-maps", [A, B]) });
    const fits = "x".repeat(MAX_NODE_OPTIONS_BYTES - composeNodeOptions("", [A, B]).length - 1);
    expect(composeBoundedNodeOptions(fits, [A, B]).droppedBytes).toBeUndefined();
    expect(composeBoundedNodeOptions(`${fits}y`, [A, B])).toEqual({ value: `--require ${A} --require ${B}`, droppedBytes: fits.length + 1 });
    const started = performance.now();
    const huge = "--max-old-space-size=512 ".repeat(400_000);
    expect(composeBoundedNodeOptions(huge, [A, B])).toEqual({ value: `--require ${A} --require ${B}`, droppedBytes: huge.length });
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
