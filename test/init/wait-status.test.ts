import { describe, expect, it } from "vitest";
import { decodeWaitStatus, describeStatus, shellStatus } from "../../supervisor/init/wait-status.js";

describe("wait status decoding", () => {
  it("reads the exit code of a normal exit", () => {
    expect(decodeWaitStatus(7 << 8)).toEqual({ code: 7, signal: null });
    expect(decodeWaitStatus(255 << 8)).toEqual({ code: 255, signal: null });
    expect(decodeWaitStatus(0)).toEqual({ code: 0, signal: null });
  });

  it("reads the signal of a killed process, with or without a core dump", () => {
    expect(decodeWaitStatus(15)).toEqual({ code: null, signal: 15 });
    expect(decodeWaitStatus(0x80 | 3)).toEqual({ code: null, signal: 3 });
  });

  it("reports 128 + signal like a shell", () => {
    expect(shellStatus({ code: null, signal: 9 })).toBe(137);
    expect(shellStatus({ code: 42, signal: null })).toBe(42);
  });

  it("names the signal in descriptions", () => {
    expect(describeStatus({ code: null, signal: 15 })).toBe("killed by SIGTERM");
    expect(describeStatus({ code: 3, signal: null })).toBe("exited with 3");
  });
});
