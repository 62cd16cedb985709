// The Stop sequence's SIGKILL sweep against a real process tree (docs/gateway-states.md "Stopping a gateway"): the
// gateway, its children, a grandchild that double-forked and called setsid to leave the
// group, all found from /proc and killed through proven identities.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readIdentity, signalProven } from "../../supervisor/supervise/identity.js";
import { listProcesses, type ProcessInfo, strayTargets } from "../../supervisor/supervise/process-tree.js";
import { loadAddon } from "../helpers/native.js";
import { type Exit, start, waitFor } from "../helpers/processes.js";

const addon = loadAddon();
// A uid that runs nothing else on this machine, like the container's `gateway` user.
const GATEWAY_UID = 54321;

const ofGatewayUid = (): ProcessInfo[] => listProcesses().filter((p) => p.uid === GATEWAY_UID && p.state !== "Z");

afterEach(() => {
  for (const p of ofGatewayUid()) signalProven(addon, p, "SIGKILL");
});

describe("listProcesses", () => {
  it("lists this process with its parent, group and state", () => {
    const me = listProcesses().find((p) => p.pid === process.pid);
    expect(me).toMatchObject({ pid: process.pid, ppid: process.ppid, uid: process.getuid!(), pgrp: expect.any(Number), state: expect.stringMatching(/^[RS]$/) });
    expect(me!.startTime).toBe(readIdentity(process.pid)!.startTime);
  });

  it("skips entries that vanish mid-scan", async () => {
    // A /proc where pid 20 is listed but gone by the time it is read.
    const dir = mkdtempSync(join(tmpdir(), "proc-"));
    try {
      mkdirSync(join(dir, "10"));
      writeFileSync(join(dir, "10/stat"), "10 (a b) S 1 10 10 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 555 0 0\n");
      writeFileSync(join(dir, "10/status"), "Name:\ta b\nUid:\t999\t999\t999\t999\n");
      mkdirSync(join(dir, "20"));
      mkdirSync(join(dir, "self"));
      writeFileSync(join(dir, "uptime"), "1 1\n");
      expect(listProcesses(dir)).toEqual([{ pid: 10, startTime: 555, uid: 999, comm: "a b", state: "S", ppid: 1, pgrp: 10 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // And the real /proc while short-lived processes come and go.
    const exits: Array<Promise<Exit>> = [];
    const churn = setInterval(() => exits.push(start("true", []).exited), 1);
    try {
      for (let i = 0; i < 20; i++) expect(listProcesses().length).toBeGreaterThan(0);
    } finally {
      clearInterval(churn);
      await Promise.all(exits);
    }
  });
});

describe.skipIf(process.getuid!() !== 0)("stray sweep of a real tree", () => {
  it("finds the tree by descent and group, and the escaped grandchild by uid; SIGKILL ends them all", async () => {
    // gateway (sh, group leader)
    //   ├─ sleep 300                  same group
    //   └─ sh                         same group
    //      ├─ sleep 301               same group
    //      └─ ( setsid sleep 302 & )  subshell exits: sleep 302 is orphaned, own session and group
    const gateway = start("sh", ["-c", "sleep 300 & sh -c 'sleep 301 & (setsid sleep 302 &); wait' & wait"], {
      uid: GATEWAY_UID, gid: GATEWAY_UID, detached: true,
    });
    const root = await waitFor("the gateway shell", () => readIdentity(gateway.pid));
    const escaped = await waitFor("the tree to settle", () => {
      const mine = ofGatewayUid();
      const sleeps = mine.filter((p) => p.comm === "sleep");
      const loose = sleeps.find((p) => p.pgrp !== gateway.pid);
      return mine.length === 5 && sleeps.length === 3 && loose !== undefined && loose.ppid !== gateway.pid ? loose : undefined;
    });
    expect(escaped.pgrp).toBe(escaped.pid);

    const processes = listProcesses();
    const search = { processes, rootPid: root.pid, rootStartTime: root.startTime, pgrp: gateway.pid, excludePids: [1, process.pid] };
    const withoutUid = strayTargets(search);
    expect(withoutUid.map((t) => t.pid)).not.toContain(escaped.pid);
    expect(withoutUid).toHaveLength(4);

    const targets = strayTargets({ ...search, uid: GATEWAY_UID });
    expect(targets.map((t) => t.pid).sort()).toEqual(ofGatewayUid().map((p) => p.pid).sort());
    expect(targets.find((t) => t.pid === escaped.pid)?.reason).toBe("uid");
    expect(targets.find((t) => t.pid === root.pid)?.reason).toBe("tree");
    expect(targets.every((t) => t.uid === GATEWAY_UID)).toBe(true);

    for (const target of targets) expect(signalProven(addon, target, "SIGKILL")).toBe("signalled");
    expect(await gateway.exited).toEqual({ code: null, signal: "SIGKILL" });
    await waitFor("every process of the gateway uid to die", () => ofGatewayUid().length === 0);
  });

  it("leaves a recycled root's tree alone", async () => {
    const stranger = start("sh", ["-c", "sleep 303 & wait"], { uid: GATEWAY_UID, gid: GATEWAY_UID, detached: true });
    const identity = await waitFor("the stranger", () => readIdentity(stranger.pid));
    await waitFor("its child", () => ofGatewayUid().length === 2);
    const targets = strayTargets({
      processes: listProcesses(),
      rootPid: stranger.pid,
      rootStartTime: identity.startTime - 1,
      pgrp: stranger.pid,
      excludePids: [1, process.pid],
    });
    expect(targets).toEqual([]);
    signalProven(addon, identity, "SIGKILL");
    await stranger.exited;
  });
});
