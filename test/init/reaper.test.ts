// The reaper collects every zombie child except the ones Node spawned itself: their exit
// status belongs to libuv. It learns of them without loading node:child_process up front
// (through the "child_process" diagnostics channel), so this pins that a child spawned after
// the reaper started keeps its status while scans run the whole time it lives and dies.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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

describe("reaper under a crowd", () => {
  // Round 2, attack 7 (docs/threat-model.md): thousands of idle processes plus a stream of
  // orphans made every scan walk all of /proc. A scan now reads only this process's own
  // children, whatever else runs: the files it opens say so.
  it("reads its own children files and the stat of its own children only, never another process's", async () => {
    const file = resolve(import.meta.dirname, "../../build/native", `reaper-linux-${process.arch}.node`);
    const script = `
      const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(file)});
      const { spawn } = require("node:child_process");
      const crowd = [];
      for (let i = 0; i < 50; i++) crowd.push(spawn("sleep", ["30"], { stdio: "ignore" }));
      // An orphan-to-be: a child that exits and is never waited for by Node (detached, unref'd through sh).
      spawn("sh", ["-c", "sleep 0.1 &"], { stdio: "ignore" });
      setTimeout(() => {
        process.stdout.write("scan\\n");
        const got = m.exports.reapZombies(Int32Array.from(crowd.map((c) => c.pid)));
        process.stdout.write("reaped " + got.length / 2 + "\\n");
        for (const c of crowd) c.kill("SIGKILL");
        process.exit(0);
      }, 500);
    `;
    const traceFile = join(mkdtempSync(join(tmpdir(), "reaper-trace-")), "trace");
    const traced = spawnSync("strace", ["-f", "-qq", "-e", "trace=openat", "-o", traceFile, process.execPath, "-e", script], { encoding: "utf8", timeout: 30_000 });
    expect(traced.status, traced.stderr.slice(-2000)).toBe(0);
    const procOpens = readFileSync(traceFile, "utf8").split("\n").filter((line) => /openat\(.*"\/proc\//.test(line));
    const opened = procOpens.map((line) => /"(\/proc\/[^"]*)"/.exec(line)![1]!);
    expect(opened.some((path) => /^\/proc\/self\/task\/\d+\/children$/.test(path))).toBe(true);
    // Only /proc/self/task/*/children and /proc/<child>/stat: never the opendir of /proc itself.
    expect(opened.filter((path) => path === "/proc" || path === "/proc/")).toEqual([]);
  });
});
