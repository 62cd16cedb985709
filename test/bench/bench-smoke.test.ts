// `npm run bench` is numbers, never a pass/fail on them; this only keeps its two scripts
// running (a bench that broke when the settings changed went unnoticed once): a few
// rounds each, and every line a reader needs is printed.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerAvailable, ensureTestImage, hostArch, testImageTag } from "../helpers/docker.js";

const root = join(import.meta.dirname, "../..");

function runBench(script: string, env: Record<string, string>): string {
  const result = spawnSync(process.execPath, [join(root, "test/bench", script)], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 8 * 60_000,
  });
  expect(result.status, `${script} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

describe("npm run bench, a few rounds", () => {
  it("supervise-bench prints restart times and PID 1's memory idle, warm and after the restarts", () => {
    const out = runBench("supervise-bench.mjs", { BENCH_RUNS: "2", BENCH_WARM_RESTARTS: "5", BENCH_SOAK_RESTARTS: "20" });
    expect(out).toMatch(/^restart beyond own start\s+-?\d+\.\d/m);
    expect(out).toMatch(/^crash → healthy again\s+\d+\.\d/m);
    expect(out).toMatch(/PID 1 anonymous memory: \d+\.\d MB idle, \d+\.\d MB after 5 restarts, \d+\.\d MB after 20 more .*: [+-]\d+\.\d MB over the 20, [+-]\d+\.\d MB from idle/);
  }, 10 * 60_000);

  it.skipIf(!dockerAvailable())("bench prints start-up ratios, the boot's programs, compiled functions and floor, the signal window and memory", () => {
    const out = runBench("bench.mjs", { BENCH_RUNS: "3" });
    expect(out).toMatch(/^supervisor run -- true\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d$/m);
    expect(out).toMatch(/^supervisor boot -- true\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d$/m);
    expect(out).toMatch(/^programs a boot executes besides the command: \d+/m);
    expect(out).toMatch(/^functions compiled lazily: boot (\d+), run (\d+); most of the boot's, by module:\n  supervisor\/\S+\.ts\s+boot\s+\d+\s+run\s+\d+$/m);
    expect(out).toMatch(/^boot, all cached, no fsync\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d$/m);
    expect(out).toMatch(/^run, all cached\s+\d+\.\d\s+\d+\.\d\s+1\.00$/m);
    expect(out).toMatch(/^supervisor run -- sleep\s+\d+\s+\d+$/m);
    expect(out).toMatch(/^supervisor run\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d$/m);
  }, 10 * 60_000);

  it.skipIf(!dockerAvailable())("bench:fleet on 4 sandboxes prints start, PID 1, host, status and restart lines, all of them healthy", () => {
    ensureTestImage();
    const out = runBench("fleet.mjs", { FLEET_SIZE: "4", FLEET_RUNS: "2", FLEET_IDLE_SECONDS: "5", IMAGE_TAG: testImageTag(hostArch()) });
    expect(out).toMatch(/^start {6}all 4 started in \d+\.\d s; all healthy \d+\.\d s after the first docker run$/m);
    expect(out).toMatch(/^PID 1 {6}anonymous memory median \d+\.\d MiB, max \d+\.\d MiB; CPU idle over 5 s median \d+\.\d{3}%/m);
    expect(out).toMatch(/^host {7}memory per sandbox \(cgroup usage\) median \d+\.\d MiB over 4$/m);
    expect(out).toMatch(/^status {5}--all median \d+\.\d\d s of 2 \(4 rows, \d from health checks\); --full \d+\.\d\d s \(4 answered\)/m);
    expect(out).toMatch(/^restart {4}--all --parallel 16: \d+\.\d s, 4 of 4 healthy again$/m);
  }, 10 * 60_000);
});
