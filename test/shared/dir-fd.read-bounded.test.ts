import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBounded } from "../../supervisor/shared/dir-fd.js";

const dir = mkdtempSync(join(tmpdir(), "read-bounded-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readWith(path: string, limit: number): Buffer | undefined {
  const fd = openSync(path, "r");
  try {
    return readBounded(fd, limit);
  } finally {
    closeSync(fd);
  }
}

describe("readBounded", () => {
  it("reads a file of exactly the limit and refuses one byte more", () => {
    const bytes = Buffer.from("x".repeat(10_000));
    writeFileSync(join(dir, "at-limit"), bytes);
    expect(readWith(join(dir, "at-limit"), 10_000)?.equals(bytes)).toBe(true);
    expect(readWith(join(dir, "at-limit"), 9_999)).toBeUndefined();
  });

  it("reads an empty file as empty", () => {
    writeFileSync(join(dir, "empty"), "");
    expect(readWith(join(dir, "empty"), 4 * 1024 * 1024)?.length).toBe(0);
  });

  // /proc files report size 0 and hold more: the read outgrows its fstat-sized buffer, as a
  // file appended to while it is read would.
  it("follows a file that holds more than fstat said, up to the limit and no further", () => {
    const maps = readFileSync("/proc/self/maps");
    expect(maps.length).toBeGreaterThan(4096);
    const read = readWith("/proc/self/maps", 4 * 1024 * 1024);
    // The process's mappings change between two reads; their first line does not.
    expect(read?.toString().split("\n")[0]).toBe(maps.toString().split("\n")[0]);
    expect(read!.length).toBeGreaterThan(4096);
    expect(readWith("/proc/self/maps", 100)).toBeUndefined();
  });
});
