// The progress meter against real process trees: it reads the gateway's own tree through
// the children files of /proc, so a crowd of other processes neither hides the gateway's
// work nor costs a walk of all of /proc.
import { afterEach, describe, expect, it } from "vitest";
import { readIdentity } from "../../supervisor/supervise/identity.js";
import { ProgressMeter, readTree } from "../../supervisor/supervise/progress.js";
import { start, waitFor } from "../helpers/processes.js";

// Each tree is its own process group, so that its grandchildren die with it.
const started: Array<ReturnType<typeof start>> = [];
afterEach(async () => {
  for (const { pid, exited } of started.splice(0)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await exited;
  }
});

const group = (file: string, args: string[]): ReturnType<typeof start> => start(file, args, { detached: true });

/** A shell whose grandchild computes: the work sits two levels below the root. */
function busyTree(): ReturnType<typeof start> {
  const tree = group("sh", ["-c", "sh -c 'while :; do :; done' & sleep 600 & wait"]);
  started.push(tree);
  return tree;
}

describe("progress of a real process tree", () => {
  it("finds every descendant of the root through the children files", async () => {
    const tree = busyTree();
    const identity = await waitFor("root identity", () => readIdentity(tree.pid));
    const sample = await waitFor("three processes", () => {
      const read = readTree(tree.pid, identity.startTime);
      return read !== undefined && read.processes.length >= 3 ? read : undefined;
    });
    expect(sample.complete).toBe(true);
    expect(sample.processes[0]!.pid).toBe(tree.pid);
    expect(sample.processes.slice(1).every((p) => p.pid !== process.pid)).toBe(true);
    expect(readTree(tree.pid, identity.startTime - 1)).toBeUndefined();
  });

  it("sees a grandchild's CPU time as progress, with 2,000 idle processes around", async () => {
    for (let i = 0; i < 20; i++) started.push(group("sh", ["-c", "for i in $(seq 100); do sleep 600 & done; wait"]));
    const tree = busyTree();
    const identity = await waitFor("root identity", () => readIdentity(tree.pid));
    const meter = new ProgressMeter(tree.pid, identity.startTime);
    expect(meter.sample(Date.now())).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(meter.sample(Date.now())?.what).toMatch(/ms of CPU time in \d+ ms/);
  }, 30_000);

  it("sees no progress in an idle tree", async () => {
    const idle = group("sh", ["-c", "sleep 600 & wait"]);
    started.push(idle);
    const identity = await waitFor("root identity", () => readIdentity(idle.pid));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const meter = new ProgressMeter(idle.pid, identity.startTime);
    meter.sample(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(meter.sample(Date.now())).toBeUndefined();
  });
});
