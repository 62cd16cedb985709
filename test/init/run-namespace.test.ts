// `supervisor run` as PID 1 of a private PID namespace (unshare), the real executable.
import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pid1Behaviours } from "../helpers/pid1-behaviours.js";
import { FIXTURES, startInPidNamespace, startPlain, supervisorBinary } from "../helpers/pid1.js";

function idOf(user: string) {
  const read = (flag: string) => execFileSync("id", [flag, user], { encoding: "utf8" }).trim();
  return { name: user, uid: Number(read("-u")), gid: Number(read("-g")), groups: read("-G").split(" ").map(Number) };
}

describe("supervisor run as PID 1 of a PID namespace", () => {
  pid1Behaviours({ start: startInPidNamespace, fixtures: FIXTURES, users: [idOf("nobody")] });
});

describe("supervisor run when it is not PID 1", () => {
  it("becomes a child subreaper and reaps orphans all the same", async () => {
    const result = await startPlain(["run", "--", `${FIXTURES}/orphans.sh`, "300"]).finished;
    expect(result.stdout).toMatch(/orphans=300 zombies=0 /);
    expect(result.status).toBe(7);
  });
});

describe("supervisor command line", () => {
  const cli = (...args: string[]) => spawnSync(supervisorBinary(), args, { encoding: "utf8" });

  it("prints its version", () => {
    const result = cli("--version");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^supervisor \d+\.\d+\.\d+ \(node v22\.\d+\.\d+, linux-(x64|arm64)\)\n$/);
  });

  it("prints help that names every option of run", () => {
    const result = cli("--help");
    expect(result.status).toBe(0);
    for (const word of ["run", "--user", "--grace", "--version"]) expect(result.stdout).toContain(word);
  });

  it("answers unknown flags, unknown commands and a missing command with exit 2 and runs nothing", () => {
    const marker = `/tmp/supervisor-usage-${process.pid}`;
    for (const args of [
      ["run", "--bogus", "--", "touch", marker],
      ["run", "touch", marker],
      ["run", "--"],
      ["run"],
      ["run", "--grace", "soon", "--", "touch", marker],
      ["frobnicate"],
      [],
    ]) {
      const result = cli(...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^supervisor: .+\nTry 'supervisor --help'\.\n$/);
    }
    expect(spawnSync("test", ["-e", marker]).status).toBe(1);
  });
});
