// sandboxctl compiled by build.mjs into a single executable behaves like the bundle.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/pid1.js";

const executable = join(ROOT, `dist/sandboxctl-linux-${process.arch}`);

describe.skipIf(!existsSync(executable))("the sandboxctl executable", () => {
  it("prints its version from the embedded Node", () => {
    const result = spawnSync(executable, ["--version"], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^sandboxctl \d+\.\d+\.\d+ \(node v22\.\d+\.\d+\)$/m);
  });

  it("answers a missing container with exit 3 and one line", () => {
    const result = spawnSync(executable, ["status", "no-such-container-anywhere"], { encoding: "utf8" });
    expect(result.status).toBe(3);
    expect(result.stderr.trim().split("\n")).toEqual(["sandboxctl: container no-such-container-anywhere is not running (no such container)"]);
  });

  it("answers usage errors with exit 2", () => {
    expect(spawnSync(executable, ["frobnicate"], { encoding: "utf8" }).status).toBe(2);
  });
});
