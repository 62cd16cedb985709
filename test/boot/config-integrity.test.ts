import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashLine, parseHashLine } from "../../supervisor/boot/config-integrity.js";

const HEX = "0123456789abcdef".repeat(4);

describe("config hash line", () => {
  const dir = mkdtempSync(join(tmpdir(), "hashline-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const samples: Array<[string, Uint8Array]> = [
    ["empty file", new Uint8Array()],
    ["a JSON config", Buffer.from('{"gateway":{"auth":{"token":"x"}}}\n')],
    ["non-ASCII and binary bytes", Uint8Array.from([0, 255, 10, 0xe2, 0x82, 0xac, 13])],
  ];
  for (const [name, bytes] of samples) {
    it(`is byte for byte what sha256sum prints for ${name}`, () => {
      writeFileSync(join(dir, "openclaw.json"), bytes);
      const expected = execFileSync("sha256sum", ["openclaw.json"], { cwd: dir, encoding: "utf8" });
      expect(hashLine(bytes)).toBe(expected);
    });
  }

  it("parses its own output back to the digest", () => {
    const line = hashLine(Buffer.from("{}"));
    expect(parseHashLine(line)).toBe(line.slice(0, 64));
    expect(parseHashLine(`${HEX}  openclaw.json\n`)).toBe(HEX);
  });

  const rejected: Array<[string, string]> = [
    ["uppercase hex", `${HEX.toUpperCase()}  openclaw.json\n`],
    ["63 hex digits", `${HEX.slice(1)}  openclaw.json\n`],
    ["65 hex digits", `${HEX}0  openclaw.json\n`],
    ["a non-hex digit", `${HEX.slice(1)}g  openclaw.json\n`],
    ["a single space", `${HEX} openclaw.json\n`],
    ["three spaces", `${HEX}   openclaw.json\n`],
    ["a tab", `${HEX}\topenclaw.json\n`],
    ["the binary-mode marker", `${HEX} *openclaw.json\n`],
    ["another file name", `${HEX}  other.json\n`],
    ["a path to the file", `${HEX}  ./openclaw.json\n`],
    ["a name that only starts right", `${HEX}  openclaw.json.bak\n`],
    ["trailing garbage after the line", `${HEX}  openclaw.json\nextra`],
    ["a second line", `${HEX}  openclaw.json\n${HEX}  openclaw.json\n`],
    ["an extra blank line", `${HEX}  openclaw.json\n\n`],
    ["a trailing space", `${HEX}  openclaw.json \n`],
    ["a CRLF line end", `${HEX}  openclaw.json\r\n`],
    ["no line end", `${HEX}  openclaw.json`],
    ["leading whitespace", ` ${HEX}  openclaw.json\n`],
    ["nothing", ""],
  ];
  for (const [name, text] of rejected) {
    it(`rejects a line with ${name}`, () => {
      expect(parseHashLine(text)).toBeUndefined();
    });
  }
});
