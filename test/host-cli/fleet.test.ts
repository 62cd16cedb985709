// Fleet commands print through a prefixing output: every line names its container, whole
// lines only, whatever the writes' boundaries.
import { describe, expect, it } from "vitest";
import { prefixedOutput } from "../../host-cli/fleet.js";

describe("the prefixed output of a fleet command", () => {
  it("puts the container before every whole line, and flushes a last line without a newline", () => {
    let text = "";
    const out = prefixedOutput({ write: (t) => void (text += t) }, "sb-1: ");
    out.write("restart: stopping gateway pid 9");
    expect(text).toBe("");
    out.write(" (drain budget 330s)\nrestart: launched gateway pid 12\nrestarted: ");
    expect(text).toBe("sb-1: restart: stopping gateway pid 9 (drain budget 330s)\nsb-1: restart: launched gateway pid 12\n");
    out.write("gateway pid 12");
    out.flush();
    expect(text.split("\n").at(-2)).toBe("sb-1: restarted: gateway pid 12");
    out.flush();
    expect(text.endsWith("pid 12\n")).toBe(true);
  });
});
