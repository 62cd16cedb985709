// sandbox-safety-net inside the gateway: the listed sandbox errors are logged and survived;
// every other error ends the process exactly as plain Node ends it.
import { afterAll, describe, expect, it } from "vitest";
import {
  fixture,
  GATEWAY_ENV,
  nodeStderr,
  preloadLines,
  requireAll,
  runNode,
  Scratch,
} from "./harness.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

/** Runs `node ARGS... SCRIPT` as the gateway, with the safety net. */
function runGuarded(script: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const { safetyNet } = scratch.stage();
  return runNode([...nodeArgs, ...requireAll(safetyNet), fixture(script)], { ...GATEWAY_ENV, ...env });
}

const ignoredLines = (stderr: string) => preloadLines(stderr).filter((line) => line.includes(": ignored "));

const BENIGN: Array<[string, Record<string, unknown>]> = [
  [
    "interface enumeration refused (SystemError from uv_interface_addresses)",
    {
      message:
        "A system error occurred: uv_interface_addresses returned Unknown system error 1 (Unknown system error 1)",
      code: "ERR_SYSTEM_ERROR",
      info: { errno: 1, code: "Unknown system error 1", syscall: "uv_interface_addresses" },
    },
  ],
  ["multicast membership refused", { message: "addMembership EPERM", code: "EPERM", syscall: "addMembership" }],
  [
    "multicast interface unavailable",
    { message: "setMulticastInterface EADDRNOTAVAIL", code: "EADDRNOTAVAIL", syscall: "setMulticastInterface" },
  ],
  [
    "mDNS send unroutable",
    { message: "send ENETUNREACH 224.0.0.251:5353", code: "ENETUNREACH", syscall: "send", address: "224.0.0.251", port: 5353 },
  ],
  [
    "no IPv6",
    { message: "listen EAFNOSUPPORT ::1:18789", code: "EAFNOSUPPORT", syscall: "listen", address: "::1", port: 18789 },
  ],
  [
    "inotify watches exhausted",
    { message: "ENOSPC: System limit for number of file watchers reached, watch '/sandbox'", code: "ENOSPC", syscall: "watch" },
  ],
  [
    "inotify unavailable",
    { message: "ENOSYS: function not implemented, watch '/sandbox'", code: "ENOSYS", syscall: "watch" },
  ],
  ["ciao probe cancelled", { message: "CIAO PROBING CANCELLED" }],
  ["ciao interface assertion", { message: "Reached illegal state! IPV4 address change from defined to undefined!" }],
];

// Close to an allow-list entry, but not in it: these must still crash.
const NOT_BENIGN: Array<[string, Record<string, unknown>]> = [
  ["EPERM from connect (not multicast)", { message: "connect EPERM 10.0.0.1:443", code: "EPERM", syscall: "connect" }],
  [
    "ENETUNREACH on a port other than mDNS",
    { message: "send ENETUNREACH 10.0.0.1:443", code: "ENETUNREACH", syscall: "send", port: 443 },
  ],
  [
    "EAFNOSUPPORT on an IPv4 address",
    { message: "listen EAFNOSUPPORT 127.0.0.1:18789", code: "EAFNOSUPPORT", syscall: "listen", address: "127.0.0.1" },
  ],
  [
    "a missing watched path",
    { message: "ENOENT: no such file or directory, watch '/nope'", code: "ENOENT", syscall: "watch" },
  ],
  ["a lookalike ciao message", { message: "CIAO PROBING CANCELLED because of a bug" }],
];

describe("known-benign sandbox errors are logged and survived", () => {
  it.each(BENIGN)("%s, thrown from a timer", (_name, spec) => {
    const ran = runGuarded("raise.cjs", { ERROR_SPEC: JSON.stringify(spec) });
    expect(ran.stdout).toBe("survived\n");
    const code = typeof spec.code === "string" ? spec.code : "-";
    const syscall = typeof spec.syscall === "string" ? spec.syscall : "-";
    expect(ignoredLines(ran.stderr)).toEqual([
      `[preload] sandbox-safety-net: ignored ${code} ${syscall}: ${String(spec.message)} (uncaughtException)`,
    ]);
    expect(ran.status).toBe(0);
  });

  it.each(BENIGN)("%s, as an unhandled rejection", (_name, spec) => {
    const ran = runGuarded("raise.cjs", { ERROR_SPEC: JSON.stringify(spec), ORIGIN: "reject" });
    expect(ran.stdout).toBe("survived\n");
    expect(ignoredLines(ran.stderr)).toEqual([expect.stringMatching(/ \(unhandledRejection\)$/)]);
    expect(ran.status).toBe(0);
  });

  it("a real EADDRNOTAVAIL from a dgram multicast call", () => {
    const ran = runGuarded("multicast.cjs");
    expect(ran.stdout).toBe("survived\n");
    expect(ignoredLines(ran.stderr)).toEqual([
      "[preload] sandbox-safety-net: ignored EADDRNOTAVAIL setMulticastInterface: " +
        "setMulticastInterface EADDRNOTAVAIL (uncaughtException)",
    ]);
    expect(ran.status).toBe(0);
  });

  it("a repeating error is logged at its 1st, 2nd, 4th... occurrence", () => {
    const spec = { message: "addMembership EPERM", code: "EPERM", syscall: "addMembership" };
    const ran = runGuarded("raise.cjs", { ERROR_SPEC: JSON.stringify(spec), REPEAT: "5" });
    const line = "[preload] sandbox-safety-net: ignored EPERM addMembership: addMembership EPERM (uncaughtException";
    expect(ignoredLines(ran.stderr)).toEqual([`${line})`, `${line}, seen 2 times)`, `${line}, seen 4 times)`]);
    expect(ran.stdout).toBe("survived\n");
  });

  it("the application's own uncaughtException listener sees only the errors not absorbed", () => {
    const ran = runGuarded("app-listener.cjs");
    expect(ran.stdout).toBe("app listener saw: boom\nsurvived\n");
    expect(ignoredLines(ran.stderr)).toHaveLength(1);
    expect(ran.status).toBe(0);
  });
});

describe("every other error ends the process exactly as plain Node does", () => {
  /** Same script without the guard, not as the gateway: what Node itself does. */
  const plain = (script: string, env: Record<string, string> = {}, nodeArgs: string[] = []) =>
    runNode([...nodeArgs, fixture(script)], env);

  it("throw new Error('boom'): exit 1, same stack on stderr", () => {
    const expected = plain("boom.cjs");
    const ran = runGuarded("boom.cjs");
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain("Error: boom\n    at ");
    expect(nodeStderr(ran.stderr)).toBe(nodeStderr(expected.stderr));
    expect(preloadLines(ran.stderr)).toEqual([expect.stringMatching(/^\[preload\] sandbox-safety-net active/)]);
  });

  it("an unhandled rejection of a plain Error: exit 1, same output", () => {
    const expected = plain("reject.cjs");
    const ran = runGuarded("reject.cjs");
    expect(expected.status).toBe(1);
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain("Error: nope\n    at ");
    expect(nodeStderr(ran.stderr)).toBe(nodeStderr(expected.stderr));
  });

  it("a thrown non-Error value: exit 1, same output", () => {
    const expected = plain("throw-string.cjs");
    const ran = runGuarded("throw-string.cjs");
    expect(ran.status).toBe(1);
    expect(nodeStderr(ran.stderr)).toBe(nodeStderr(expected.stderr));
  });

  it("Node's --unhandled-rejections mode still decides (warn: keep running)", () => {
    const args = ["--unhandled-rejections=warn"];
    const expected = plain("reject.cjs", {}, args);
    const ran = runGuarded("reject.cjs", {}, args);
    expect(expected.status).toBe(0);
    expect(ran.status).toBe(0);
    expect(nodeStderr(ran.stderr)).toBe(nodeStderr(expected.stderr));
  });

  it.each(NOT_BENIGN)("%s", (_name, spec) => {
    const env = { ERROR_SPEC: JSON.stringify(spec) };
    const expected = plain("raise.cjs", env);
    const ran = runGuarded("raise.cjs", env);
    expect(ran.stdout).toBe("");
    expect(ran.status).toBe(1);
    expect(ignoredLines(ran.stderr)).toEqual([]);
    expect(nodeStderr(ran.stderr)).toBe(nodeStderr(expected.stderr));
  });
});
