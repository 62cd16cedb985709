// The addon's SHA-256 (supervisor/shared/native/sha256.c), which the config's integrity
// record relies on, against node:crypto and sha256sum's published vectors.
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { randomHex, sha256Hex } from "../../supervisor/shared/digest.js";

const reference = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("sha256Hex", () => {
  it("gives the FIPS 180-4 example digests", () => {
    expect(sha256Hex(Buffer.from(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex(Buffer.from("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with node:crypto on every length around the block and padding edges, and on 5 MB", () => {
    const data = randomBytes(300);
    for (let length = 0; length <= 300; length++) expect(sha256Hex(data.subarray(0, length)), `length ${length}`).toBe(reference(data.subarray(0, length)));
    const big = randomBytes(5 * 1024 * 1024 + 17);
    expect(sha256Hex(big)).toBe(reference(big));
  });

  it("hashes exactly the bytes of a view into a larger buffer", () => {
    const whole = randomBytes(1000);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 100, 200);
    expect(sha256Hex(view)).toBe(reference(view));
  });

  it("refuses anything but a Uint8Array", () => {
    expect(() => sha256Hex("abc" as unknown as Uint8Array)).toThrow("needs a Uint8Array");
    expect(() => sha256Hex(new Uint16Array(4) as unknown as Uint8Array)).toThrow("needs a Uint8Array");
  });
});

describe("randomHex", () => {
  it("gives count random bytes as hex, never the same twice, and refuses counts outside 1 to 64", () => {
    const names = new Set(Array.from({ length: 200 }, () => randomHex(6)));
    expect(names.size).toBe(200);
    for (const name of names) expect(name).toMatch(/^[0-9a-f]{12}$/);
    expect(randomHex(64)).toMatch(/^[0-9a-f]{128}$/);
    expect(() => randomHex(0)).toThrow("1 to 64");
    expect(() => randomHex(65)).toThrow("1 to 64");
  });
});
