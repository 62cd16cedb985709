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

  it("prints help that names every command, and each command's own help", () => {
    const result = cli("--help");
    expect(result.status).toBe(0);
    for (const word of ["boot", "run", "restart", "status", "health", "stop", "--version"]) expect(result.stdout).toContain(word);
    const run = cli("run", "--help");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: supervisor run /);
    for (const word of ["--user NAME", "--grace SECONDS"]) expect(run.stdout).toContain(word);
    const status = cli("help", "status");
    expect(status.stdout).toMatch(/^Usage: supervisor status /);
    expect(cli("-V").stdout).toBe(cli("version").stdout);
  });

  it("runs `supervisor run CMD` without --, like tini, and passes CMD's own options on", () => {
    const result = cli("run", "sh", "-c", "echo $0 $1", "-x", "--json");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("-x --json\n");
    expect(result.stderr).toBe("");
  });

  it("answers unknown flags, unknown commands and a missing command with exit 2, one line and a hint, and runs nothing", () => {
    const marker = `/tmp/supervisor-usage-${process.pid}`;
    const cases: Array<[string[], string]> = [
      [["run", "--bogus", "--", "touch", marker], "supervisor: run: unknown option '--bogus', expected one of --user, --grace, --verbose, --quiet\nTry 'supervisor run --help'.\n"],
      [["run", "--"], "supervisor: run: missing COMMAND, expected the command to run\nTry 'supervisor run --help'.\n"],
      [["run"], "supervisor: run: missing COMMAND, expected the command to run\nTry 'supervisor run --help'.\n"],
      [["run", "--grace", "soon", "--", "touch", marker], "supervisor: run: --grace 'soon': expected a number of seconds from 0 to 3600\nTry 'supervisor run --help'.\n"],
      [["run", "--grace"], "supervisor: run: missing value for --grace, expected --grace SECONDS\nTry 'supervisor run --help'.\n"],
      [["stauts"], "supervisor: unknown command 'stauts', did you mean 'status'?\nTry 'supervisor --help'.\n"],
      [["status", "--jsn"], "supervisor: status: unknown option '--jsn', did you mean '--json'?\nTry 'supervisor status --help'.\n"],
      [[], "supervisor: missing command, expected one of boot, run, check, restart, start, status, health, stop, help, version\nTry 'supervisor --help'.\n"],
    ];
    for (const [args, stderr] of cases) {
      const result = cli(...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stdout, args.join(" ")).toBe("");
      expect(result.stderr, args.join(" ")).toBe(stderr);
    }
    expect(spawnSync("test", ["-e", marker]).status).toBe(1);
  });

  it("answers every outcome as one JSON object under --json, usage errors included", () => {
    for (const args of [["status", "--json", "--bogus"], ["restart", "--json", "--timeout", "0"], ["health", "--json", "extra"]]) {
      const result = cli(...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toBe("");
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, layer: "usage" });
    }
    expect(JSON.parse(cli("--json", "--version").stdout)).toMatchObject({ ok: true, program: "supervisor" });
  });
});
