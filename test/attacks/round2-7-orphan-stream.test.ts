// Round 2, attack 7 (docs/threat-model.md): about 2,000 idle processes plus a stream of
// short-lived orphans took PID 1 from 8 to 807 CPU ticks per 10 s, because each burst of
// child exits walked all of /proc. A scan now reads only PID 1's own children
// (/proc/self/task/*/children and each child's stat), whatever else runs: the files the real
// addon opens under strace say so.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

describe("reaper under a crowd", () => {
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
