// ciao-network-guard inside the gateway: a permission failure of os.networkInterfaces() becomes
// a loopback-only answer (logged once); anything else passes through untouched.
import { afterAll, describe, expect, it } from "vitest";
import { fixture, GATEWAY_ENV, jsonLines, preloadLines, requireAll, runNode, Scratch } from "./harness.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

const LOOPBACK = {
  lo: [
    {
      address: "127.0.0.1",
      netmask: "255.0.0.0",
      family: "IPv4",
      mac: "00:00:00:00:00:00",
      internal: true,
      cidr: "127.0.0.1/8",
    },
  ],
};

/** The gateway with the guard, after a fake os.networkInterfaces of the given kind. */
function runGuarded(script: string, env: Record<string, string>) {
  const { ciao } = scratch.stage();
  return runNode([...requireAll(fixture("fake-netif.cjs"), ciao), fixture(script)], { ...GATEWAY_ENV, ...env });
}

/** The guard's log lines other than its activation marker. */
const guardLines = (stderr: string) => preloadLines(stderr).filter((line) => !/ active \(pid \d+\)$/.test(line));

describe("permission failures get a loopback-only answer", () => {
  it.each([
    ["SystemError errno 1 (what sandboxes report)", "eperm-system", "ERR_SYSTEM_ERROR errno 1"],
    ["SystemError EACCES", "eacces-system", "ERR_SYSTEM_ERROR errno -13"],
    ["an EPERM error", "eperm", "EPERM"],
  ])("%s: every call answers loopback, the failure is logged once", (_name, kind, described) => {
    const ran = runGuarded("netif-calls.cjs", { FAKE_NETIF: kind, CALLS: "4" });
    const results = jsonLines(ran.stdout);
    expect(results).toHaveLength(4);
    for (const line of results) expect(line).toEqual({ result: LOOPBACK, isFakeResult: false });
    expect(guardLines(ran.stderr)).toEqual([
      `[preload] ciao-network-guard: os.networkInterfaces() failed (${described}); returning loopback only`,
    ]);
    expect(ran.status).toBe(0);
  });

  it("reaches ESM callers through the default and the named import", () => {
    const ran = runGuarded("netif-import.mjs", { FAKE_NETIF: "eperm-system" });
    expect(jsonLines(ran.stdout)).toEqual([{ viaDefault: LOOPBACK, viaNamed: LOOPBACK }]);
    expect(ran.status).toBe(0);
  });
});

describe("everything else passes through unchanged", () => {
  it.each([
    ["a SystemError that is not a permission failure (ENOMEM)", "enomem-system"],
    ["an unrelated TypeError", "type-error"],
  ])("%s is rethrown as the same object, without a log line", (_name, kind) => {
    const ran = runGuarded("netif-calls.cjs", { FAKE_NETIF: kind, CALLS: "2" });
    const results = jsonLines(ran.stdout);
    expect(results).toHaveLength(2);
    for (const line of results) expect(line).toMatchObject({ sameError: true });
    expect(guardLines(ran.stderr)).toEqual([]);
  });

  it("a successful call returns the underlying result itself", () => {
    const ran = runGuarded("netif-calls.cjs", { FAKE_NETIF: "ok", CALLS: "2" });
    expect(jsonLines(ran.stdout)).toEqual([
      { result: { eth9: [] }, isFakeResult: true },
      { result: { eth9: [] }, isFakeResult: true },
    ]);
  });

  it("the real os.networkInterfaces() answers as without the guard", () => {
    const plain = runNode([fixture("netif-calls.cjs")], { CALLS: "1" });
    const guarded = runGuarded("netif-calls.cjs", { CALLS: "1" });
    expect(jsonLines(guarded.stdout)).toEqual(jsonLines(plain.stdout));
    expect(jsonLines(plain.stdout)[0]).toHaveProperty("result.lo");
  });
});
