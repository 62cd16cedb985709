import { describe, expect, it } from "vitest";
import { descendantsOf, type ProcessInfo, strayTargets } from "../../supervisor/supervise/process-tree.js";

const GATEWAY_UID = 999;
const p = (pid: number, ppid: number, pgrp: number, uid: number, startTime: number, state = "S"): ProcessInfo => ({
  pid, ppid, pgrp, uid, startTime, state, comm: `p${pid}`,
});

// PID 1 (supervisor, root) launched the gateway 100 as a group leader at tick 5000.
//   100 gateway          group 100, uid 999
//   ├─ 101 worker         group 100
//   │  └─ 102 helper       group 100
//   │     └─ 103 zombie    group 100 (Z)
//   └─ 104 root-owned child of the gateway (setuid helper), group 100
//   110 escaped: double fork + setsid, reparented to PID 1, own group, uid 999
//   120 sandbox agent, uid 1000, group 120, child of PID 1
const PROCESSES: ProcessInfo[] = [
  p(1, 0, 1, 0, 10),
  p(100, 1, 100, GATEWAY_UID, 5000),
  p(101, 100, 100, GATEWAY_UID, 5001),
  p(102, 101, 100, GATEWAY_UID, 5002),
  p(103, 102, 100, GATEWAY_UID, 5003, "Z"),
  p(104, 100, 100, 0, 5004),
  p(110, 1, 110, GATEWAY_UID, 5010),
  p(120, 1, 120, 1000, 4000),
];

const pids = (list: Array<{ pid: number }>): number[] => list.map((x) => x.pid);

describe("descendantsOf", () => {
  it("follows ppid links down the whole tree, root excluded", () => {
    expect(pids(descendantsOf(100, PROCESSES)).sort()).toEqual([101, 102, 103, 104]);
    expect(descendantsOf(110, PROCESSES)).toEqual([]);
  });

  it("terminates on a ppid cycle (a torn /proc snapshot)", () => {
    expect(pids(descendantsOf(5, [p(5, 6, 5, 0, 1), p(6, 5, 5, 0, 1)]))).toEqual([6]);
  });
});

describe("strayTargets", () => {
  const search = { processes: PROCESSES, rootPid: 100, rootStartTime: 5000, pgrp: 100, excludePids: [1] };

  it("takes the tree, the group and every process of the gateway's uid, without zombies or duplicates", () => {
    const targets = strayTargets({ ...search, uid: GATEWAY_UID });
    expect(targets.map((t) => [t.pid, t.reason])).toEqual([
      [100, "tree"], [101, "tree"], [102, "tree"], [104, "tree"], [110, "uid"],
    ]);
    expect(targets[0]).toEqual({ pid: 100, startTime: 5000, uid: GATEWAY_UID, comm: "p100", reason: "tree" });
  });

  it("misses the escaped process without the uid rule (why the rule exists)", () => {
    expect(pids(strayTargets(search))).toEqual([100, 101, 102, 104]);
  });

  it("leaves out excluded pids, even when a rule matches them", () => {
    expect(pids(strayTargets({ ...search, uid: GATEWAY_UID, excludePids: [1, 110, 101] }))).toEqual([100, 102, 104]);
  });

  it("applies no tree or group rule once the root pid belongs to another process", () => {
    // 100 was recycled: a sandbox process holds it, leads a group 100 of its own, has a child.
    const recycled = [p(1, 0, 1, 0, 10), p(100, 1, 100, 1000, 9000), p(150, 100, 100, 1000, 9001)];
    expect(strayTargets({ processes: recycled, rootPid: 100, rootStartTime: 5000, pgrp: 100, excludePids: [1] })).toEqual([]);
  });

  it("still kills a recycled root's strays of the gateway uid", () => {
    const recycled = [p(100, 1, 100, 1000, 9000), p(110, 1, 110, GATEWAY_UID, 5010)];
    expect(pids(strayTargets({ processes: recycled, rootPid: 100, rootStartTime: 5000, pgrp: 100, uid: GATEWAY_UID }))).toEqual([110]);
  });

  it("still finds the group (leader gone) and the uid when the root has exited", () => {
    const orphans = PROCESSES.filter((x) => x.pid !== 100).map((x) => (x.ppid === 100 ? { ...x, ppid: 1 } : x));
    expect(pids(strayTargets({ ...search, processes: orphans, uid: GATEWAY_UID }))).toEqual([101, 102, 104, 110]);
  });

  it("refuses the uid rule for root", () => {
    expect(() => strayTargets({ ...search, uid: 0 })).toThrow(/uid 0/);
  });
});
