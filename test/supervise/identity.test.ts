import { describe, expect, it } from "vitest";
import { parseStat, parseStatusUid } from "../../supervisor/supervise/identity.js";

// Captured from this machine: `cat /proc/self/stat`.
const CAT = "15365 (cat) R 15363 15363 776 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 200174 3133440 389 18446744073709551615 93928078553088 93928078572969 140735123959216 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 93928078588976 93928078590592 93928901255168 140735123962594 140735123962614 140735123962614 140735123963883 0\n";
const TAIL = " S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

describe("/proc/<pid>/stat", () => {
  it("reads state, ppid, pgrp, session and the start time (field 22) of a real line", () => {
    expect(parseStat(CAT)).toEqual({ pid: 15365, comm: "cat", state: "R", ppid: 15363, pgrp: 15363, session: 776, startTime: 200174, utime: 0, stime: 0 });
  });

  it("reads the CPU time, fields 14 (utime) and 15 (stime)", () => {
    const line = "7 (node) S 1 7 7 0 -1 0 0 0 0 0 1234 567 0 0 20 0 1 0 99 0 0\n";
    expect(parseStat(line)).toMatchObject({ utime: 1234, stime: 567, startTime: 99 });
  });

  it.each([
    ["a) b (c"],
    [")"],
    ["("],
    ["x) S 1 2 3"],
    ["two\nlines)"],
    [") ) )"],
    [" "],
    [""],
  ])("reads the fields after the last ')' whatever the comm is: %j", (comm) => {
    expect(parseStat(`4242 (${comm})${TAIL}`)).toEqual({ pid: 4242, comm, state: "S", ppid: 1, pgrp: 42, session: 42, startTime: 777, utime: 0, stime: 0 });
  });

  it("keeps start times beyond 2^32 ticks exact", () => {
    const line = `7 (x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${2 ** 40 + 3} 0 0\n`;
    expect(parseStat(line).startTime).toBe(2 ** 40 + 3);
  });

  it.each([
    ["no comm", "4242 S 1 2 3"],
    ["truncated after the comm", "4242 (x) S 1 2 3\n"],
    ["a field that is not a number", `4242 (x) S one${TAIL.slice(4)}`],
    ["no state", "4242 (x) 1 2 3"],
  ])("refuses a malformed line (%s)", (_what, line) => {
    expect(() => parseStat(line)).toThrow(/malformed \/proc stat line/);
  });
});

describe("/proc/<pid>/status", () => {
  it("takes the real uid, the first of the four", () => {
    expect(parseStatusUid("Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n")).toBe(1000);
  });

  it("refuses a text without a Uid line", () => {
    expect(() => parseStatusUid("Name:\tnode\n")).toThrow(/no Uid line/);
  });
});
