// readProcText (shared/proc-read.ts): one scratch buffer for the steady /proc reads, with
// the same answers as reading the whole file, within a limit when one is given.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readProcText } from "../../supervisor/shared/proc-read.js";

const dir = mkdtempSync(join(tmpdir(), "proc-read-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readProcText", () => {
  it("reads /proc files whole, as readFileSync does, read after read", () => {
    for (const file of ["/proc/self/stat", "/proc/self/status", "/proc/self/schedstat"]) {
      const text = readProcText(file);
      expect(text.split(" ")[0] ?? text).toBe(readFileSync(file, "latin1").split(" ")[0] ?? "");
      expect(text.length).toBeGreaterThan(10);
    }
    // Stable fields of one file, twice: nothing of an earlier, longer read is left behind.
    expect(readProcText("/proc/self/status").match(/^Uid:.*$/m)![0]).toBe(readFileSync("/proc/self/status", "latin1").match(/^Uid:.*$/m)![0]);
    expect(readProcText("/proc/self/schedstat").includes("\n")).toBe(true);
  });

  it("reads files past the scratch buffer whole, and cuts at a limit", () => {
    const big = Array.from({ length: 5000 }, (_, i) => `${i} `).join("");
    writeFileSync(join(dir, "children"), big);
    expect(big.length).toBeGreaterThan(16 * 1024);
    expect(readProcText(join(dir, "children"))).toBe(big);
    expect(readProcText(join(dir, "children"), 20_000)).toBe(big.slice(0, 20_000));
    expect(readProcText(join(dir, "children"), 100)).toBe(big.slice(0, 100));
    writeFileSync(join(dir, "small"), "1 2 3");
    expect(readProcText(join(dir, "small"))).toBe("1 2 3");
  });

  it("throws what open throws for a file that is gone", () => {
    expect(() => readProcText("/proc/999999999/stat")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
