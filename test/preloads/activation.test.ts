// Both guards ride in NODE_OPTIONS into every Node process of the sandbox: they must act in the
// gateway (NEMOCLAW_GATEWAY=1), exactly once, and nowhere else.
import { afterAll, describe, expect, it } from "vitest";
import { fixture, GATEWAY_ENV, jsonLines, preloadLines, requireAll, runNode, Scratch, type Staged } from "./harness.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

const MARKERS = [
  /^\[preload\] sandbox-safety-net active \(pid \d+\)$/,
  /^\[preload\] ciao-network-guard active \(pid \d+\)$/,
];

describe("outside the gateway the guards are inert", () => {
  it.each([
    ["absent", {}],
    ["'0'", { NEMOCLAW_GATEWAY: "0" }],
    ["'true'", { NEMOCLAW_GATEWAY: "true" }],
  ])("with NEMOCLAW_GATEWAY %s: no marker, os and process.emit untouched", (_name, env) => {
    const { safetyNet, ciao } = scratch.stage();
    // Each guard alone too: the first guard loaded is the one that reads the variable.
    for (const guards of [[safetyNet, ciao], [safetyNet], [ciao]]) {
      const ran = runNode([...requireAll(fixture("fake-netif.cjs"), ...guards), fixture("state.cjs")], env);
      expect(ran.stderr).toBe("");
      expect(jsonLines(ran.stdout)).toEqual([{ networkInterfacesUntouched: true, emitWrapped: false, marker: null }]);
      expect(ran.status).toBe(0);
    }
  });

  it("an uncaught error crashes exactly as without the guards", () => {
    const { safetyNet, ciao } = scratch.stage();
    const plain = runNode([fixture("boom.cjs")]);
    const guarded = runNode([...requireAll(safetyNet, ciao), fixture("boom.cjs")]);
    expect(plain.status).toBe(1);
    expect(guarded).toEqual(plain);
  });

  it("a sandbox EPERM from os.networkInterfaces() still throws", () => {
    const { safetyNet, ciao } = scratch.stage();
    const ran = runNode([...requireAll(fixture("fake-netif.cjs"), safetyNet, ciao), fixture("netif-calls.cjs")], {
      FAKE_NETIF: "eperm-system",
      CALLS: "1",
    });
    expect(jsonLines(ran.stdout)).toEqual([
      { threw: expect.stringContaining("uv_interface_addresses") as unknown, sameError: true },
    ]);
    expect(ran.stderr).toBe("");
  });
});

describe("inside the gateway", () => {
  it("each guard prints its marker once and both take effect", () => {
    const { safetyNet, ciao } = scratch.stage();
    const ran = runNode(
      [...requireAll(fixture("fake-netif.cjs"), safetyNet, ciao), fixture("state.cjs")],
      GATEWAY_ENV,
    );
    const lines = preloadLines(ran.stderr);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(MARKERS[0]!);
    expect(lines[1]).toMatch(MARKERS[1]!);
    expect(jsonLines(ran.stdout)).toEqual([{ networkInterfacesUntouched: false, emitWrapped: true, marker: null }]);
  });

  it.each([
    ["both guards", (s: Staged) => [s.safetyNet, s.ciao]],
    ["the safety net alone", (s: Staged) => [s.safetyNet]],
    ["the ciao guard alone", (s: Staged) => [s.ciao]],
  ])("the marker is consumed (%s): processes the gateway starts, same NODE_OPTIONS, are inert", (_name, pick) => {
    const guards = pick(scratch.stage());
    const ran = runNode([fixture("spawn-child.cjs")], {
      ...GATEWAY_ENV,
      NODE_OPTIONS: requireAll(...guards).join(" "),
    });
    expect(ran.stdout).toBe("parent sees marker: unset\nchild sees marker: unset\n");
    expect(preloadLines(ran.stderr)).toHaveLength(guards.length); // the gateway's markers, none from the child
    expect(ran.status).toBe(0);
  });

  it("two copies of each guard in NODE_OPTIONS act once", () => {
    const first = scratch.stage();
    const second = scratch.stage();
    const ran = runNode(
      [
        ...requireAll(fixture("fake-netif.cjs"), first.safetyNet, first.ciao, second.safetyNet, second.ciao),
        fixture("netif-calls.cjs"),
      ],
      { ...GATEWAY_ENV, FAKE_NETIF: "eperm-system", CALLS: "2" },
    );
    const lines = preloadLines(ran.stderr);
    expect(lines.filter((line) => line.includes("sandbox-safety-net active"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("ciao-network-guard active"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("returning loopback only"))).toHaveLength(1);
    expect(ran.status).toBe(0);
  });

  it("still work when a package.json makes Node load the staged copies as ES modules", () => {
    const { safetyNet, ciao } = scratch.stage("module");
    const ran = runNode([...requireAll(fixture("fake-netif.cjs"), safetyNet, ciao), fixture("netif-calls.cjs")], {
      ...GATEWAY_ENV,
      FAKE_NETIF: "eperm-system",
      CALLS: "1",
    });
    expect(preloadLines(ran.stderr)).toEqual([
      expect.stringMatching(MARKERS[0]!),
      expect.stringMatching(MARKERS[1]!),
      "[preload] ciao-network-guard: os.networkInterfaces() failed (ERR_SYSTEM_ERROR errno 1); returning loopback only",
    ]);
    expect(ran.status).toBe(0);
  });
});
