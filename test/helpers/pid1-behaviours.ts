// The behaviours every PID 1 must show, written once and run against each way of being
// PID 1 (a private PID namespace, a Docker container).
import { expect, it } from "vitest";
import type { Started } from "./pid1.js";

export interface Pid1Harness {
  /** Starts `supervisor <args>` as PID 1. */
  start(args: string[], options?: { cwd?: string }): Started;
  /** Where test/fixtures is seen from inside. */
  fixtures: string;
  /** Users that exist where the child runs, with the groups `id -G` must print. */
  users: Array<{ name: string; uid: number; gid: number; groups: number[] }>;
}

async function run(h: Pid1Harness, args: string[], options?: { cwd?: string }) {
  return h.start(args, options).finished;
}

export function pid1Behaviours(h: Pid1Harness): void {
  it("passes exit codes 0, 1, 2, 127 and 255 through", async () => {
    for (const code of [0, 1, 2, 127, 255]) {
      expect((await run(h, ["run", "--", "sh", "-c", `exit ${code}`])).status).toBe(code);
    }
  });

  it("reports a child killed by TERM, HUP or KILL as 128 + the signal", async () => {
    for (const [name, n] of [["TERM", 15], ["HUP", 1], ["KILL", 9]] as const) {
      expect((await run(h, ["run", "--", "sh", "-c", `kill -${name} $$`])).status).toBe(128 + n);
    }
  });

  it("passes TERM, INT, HUP, QUIT and USR2 sent to PID 1 on to the child", async () => {
    for (const [signal, code] of [["SIGTERM", 85], ["SIGINT", 82], ["SIGHUP", 81], ["SIGQUIT", 83], ["SIGUSR2", 92]] as const) {
      const started = h.start(["run", "--", `${h.fixtures}/trap-signals.sh`]);
      await started.waitForOutput(/ready/);
      await started.signal(signal);
      const result = await started.finished;
      expect(result.stdout).toContain(`got ${signal.slice(3)}`);
      expect(result.status).toBe(code);
    }
  });

  it("writes nothing of its own while the child gets HUP INT QUIT USR2 WINCH CONT and TERM", async () => {
    const started = h.start(["run", "--", `${h.fixtures}/count-signals.js`]);
    await started.waitForOutput(/ready/);
    const names = ["HUP", "INT", "QUIT", "USR2", "WINCH", "CONT", "TERM"] as const;
    for (const name of names) {
      await started.signal(`SIG${name}`);
      await started.waitForOutput(new RegExp(`got ${name}`));
    }
    const result = await started.finished;
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(["ready", ...names.map((name) => `got ${name}`)].join("\n") + "\n");
    expect(result.stderr).toBe("");
  });

  it("reaps 1,000 orphaned grandchildren within 2 s and still reports the child's exit code", async () => {
    const result = await run(h, ["run", "--", `${h.fixtures}/orphans.sh`, "1000"]);
    expect(result.stdout).toMatch(/orphans=1000 zombies=0 /);
    expect(result.status).toBe(7);
  });

  it("gives 127 and one line of error for a command that does not exist", async () => {
    const result = await run(h, ["run", "--", "/doesnotexist"]);
    expect(result.status).toBe(127);
    expect(result.stderr.trim().split("\n")).toEqual(["[supervisor] cannot run '/doesnotexist': No such file or directory"]);
    const notOnPath = await run(h, ["run", "--", "no-such-command-anywhere"]);
    expect(notOnPath.status).toBe(127);
    expect(notOnPath.stderr).toContain("'no-such-command-anywhere': command not found");
  });

  it("gives 126 for a file that is not executable", async () => {
    const result = await run(h, ["run", "--", "/etc/passwd"]);
    expect(result.status).toBe(126);
    expect(result.stderr).toContain("Permission denied");
  });

  it("runs the child with --user's uid, gid and supplementary groups", async () => {
    for (const user of h.users) {
      const result = await run(h, ["run", "--user", user.name, "--", "sh", "-c", "id -u; id -g; id -G"]);
      expect(result.status).toBe(0);
      const [uid, gid, groups] = result.stdout.trim().split("\n");
      expect(Number(uid)).toBe(user.uid);
      expect(Number(gid)).toBe(user.gid);
      expect(groups!.split(" ").map(Number).sort()).toEqual([...user.groups].sort());
    }
  });

  it("refuses an unknown --user with 126 instead of running as root", async () => {
    const result = await run(h, ["run", "--user", "no-such-user", "--", "id", "-u"]);
    expect(result.status).toBe(126);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("no user 'no-such-user'");
  });

  it("kills a child that ignores TERM once the grace period is over, with status 137", async () => {
    const started = h.start(["run", "--grace", "1", "--", `${h.fixtures}/ignore-term.sh`]);
    await started.waitForOutput(/ready/);
    await started.signal("SIGTERM");
    const result = await started.finished;
    expect(result.status).toBe(137);
    expect(result.stderr).toContain("grace period of 1s is over");
  });

  it("keeps the caller's cwd for the child while PID 1 sits in /", async () => {
    const result = await run(h, ["run", "--", "sh", "-c", "pwd; readlink /proc/1/cwd"], { cwd: "/tmp" });
    expect(result.stdout.trim().split("\n")).toEqual(["/tmp", "/"]);
  });

  it("puts the child in its own process group", async () => {
    const result = await run(h, ["run", "--", "sh", "-c", "echo $(cut -d' ' -f5 /proc/$$/stat) $$ $(cut -d' ' -f5 /proc/1/stat)"]);
    const [childGroup, childPid, pid1Group] = result.stdout.trim().split(" ").map(Number);
    expect(childGroup).toBe(childPid);
    expect(pid1Group).not.toBe(childGroup);
  });
}
