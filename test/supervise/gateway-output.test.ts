// The wrapped gateway output's parts (supervise/gateway-output.ts): lines cut at their bound
// and the rest of an overlong line skipped, one JSON object per line, and a writer that keeps
// at most its bound waiting and counts what it dropped. Real descriptors for the writer.
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gatewayLine, LineSplitter, QueuedWriter } from "../../supervisor/supervise/gateway-output.js";

const scratch = mkdtempSync(join(tmpdir(), "gateway-output-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function split(chunks: Array<string | Buffer>, max = 8): Array<[string, boolean]> {
  const lines: Array<[string, boolean]> = [];
  const splitter = new LineSplitter((line, cut) => lines.push([line, cut]), max);
  for (const chunk of chunks) splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
}

describe("LineSplitter", () => {
  it("gives whole lines across chunks, a last line without its newline, and drops a CR before LF", () => {
    expect(split(["ab", "c\nde", "f\r\n\n", "gh"])).toEqual([["abc", false], ["def", false], ["", false], ["gh", false]]);
  });

  it("cuts an overlong line at the bound and skips the rest of it, across chunks", () => {
    expect(split(["0123456789", "abc\nnext\n"])).toEqual([["01234567", true], ["next", false]]);
    expect(split(["01234567", "8", "9\nok"])).toEqual([["01234567", true], ["ok", false]]);
    // Exactly the bound is not cut.
    expect(split(["01234567\n"])).toEqual([["01234567", false]]);
  });

  it("keeps a multi-byte character split between chunks whole", () => {
    const bytes = Buffer.from("é\n");
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)])).toEqual([["é", false]]);
  });
});

describe("gatewayLine", () => {
  it("is one JSON object naming its source, stream and pid; a cut line says so", () => {
    const now = new Date("2026-12-04T23:00:00Z");
    expect(JSON.parse(gatewayLine('say "hi"', false, "stderr", 42, now))).toEqual({
      time: "2026-12-04T23:00:00.000Z",
      level: "info",
      event: "gateway.output",
      source: "gateway",
      stream: "stderr",
      pid: 42,
      message: 'say "hi"',
    });
    expect(JSON.parse(gatewayLine("x", true, "stdout", 1, now))).toMatchObject({ stream: "stdout", cut: true });
    expect(gatewayLine("a\nb", false, "stdout", 1, now).split("\n")).toHaveLength(2);
  });
});

describe("QueuedWriter", () => {
  it("writes everything within its bound, in order", async () => {
    const file = join(scratch, "all");
    const writer = new QueuedWriter(openSync(file, "w"), () => expect.unreachable(), 1024);
    for (let i = 0; i < 50; i++) writer.write(`line ${i}\n`);
    await new Promise((r) => setTimeout(r, 200));
    expect(readFileSync(file, "utf8")).toBe(Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(""));
  });

  it("drops what is beyond its bound while a write is in flight, and says how much once caught up", async () => {
    const file = join(scratch, "dropped");
    const reports: Array<[number, number]> = [];
    const writer = new QueuedWriter(openSync(file, "w"), (lines, bytes) => reports.push([lines, bytes]), 20);
    // The first line goes into the write in flight; two more fit the 20 bytes; three are dropped.
    for (let i = 0; i < 6; i++) writer.write(`line-${i}...\n`);
    await new Promise((r) => setTimeout(r, 200));
    expect(readFileSync(file, "utf8")).toBe("line-0...\nline-1...\nline-2...\n");
    expect(reports).toEqual([[3, 30]]);
    writer.write("after\n");
    await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(file, "utf8").endsWith("after\n")).toBe(true);
    expect(reports).toHaveLength(1);
  });
});
