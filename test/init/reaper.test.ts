// The reaper collects every zombie child except the ones Node spawned itself: their exit
// status belongs to libuv. It learns of them without loading node:child_process up front
// (through the "child_process" diagnostics channel), so this pins that a child spawned after
// the reaper started keeps its status while scans run the whole time it lives and dies.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Reaper } from "../../supervisor/init/reaper.js";
import { loadAddon } from "../helpers/native.js";

describe("reaper", () => {
  it("leaves the exit status of a child Node spawned to Node, while scanning all along", async () => {
    const reaped: number[] = [];
    const reaper = new Reaper(loadAddon(), (pid) => reaped.push(pid));
    reaper.start();
    try {
      const child = spawn("sh", ["-c", "read line; exit 7"], { stdio: ["pipe", "ignore", "ignore"] });
      let exited: number | null | undefined;
      child.on("exit", (code) => (exited = code));
      child.stdin.end("go\n");
      while (exited === undefined) {
        reaper.reapNow();
        await new Promise((r) => setImmediate(r));
      }
      expect(exited).toBe(7);
      expect(reaped).not.toContain(child.pid);
    } finally {
      reaper.stop();
    }
  });
});
