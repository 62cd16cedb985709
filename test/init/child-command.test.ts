import { describe, expect, it } from "vitest";
import { envArray, planChildCommand } from "../../supervisor/init/child-command.js";
import type { FileProbe } from "../../supervisor/init/resolve-command.js";
import { resolveCommand } from "../../supervisor/init/resolve-command.js";
import type { UserEntry } from "../../supervisor/shared/users.js";

function probe(files: Record<string, "x" | "r">): FileProbe {
  return { isFile: (p) => p in files, isExecutable: (p) => files[p] === "x" };
}

const sandbox: UserEntry = { name: "sandbox", uid: 1000, gid: 1000, home: "/sandbox", shell: "/bin/bash" };

describe("command resolution (execvp rules)", () => {
  it("takes the first executable match on PATH", () => {
    const files = probe({ "/a/tool": "r", "/b/tool": "x", "/c/tool": "x" });
    expect(resolveCommand("tool", "/a:/b:/c", files)).toEqual({ file: "/b/tool" });
  });

  it("returns a non-executable match so exec fails with 126, not 127", () => {
    expect(resolveCommand("tool", "/a:/b", probe({ "/b/tool": "r" }))).toEqual({ file: "/b/tool" });
  });

  it("reports not found when nothing matches", () => {
    expect(resolveCommand("tool", "/a:/b", probe({}))).toEqual({ error: "not-found" });
  });

  it("uses a name with a slash as a path without searching", () => {
    expect(resolveCommand("./tool", "/a", probe({}))).toEqual({ file: "./tool" });
  });

  it("falls back to a default PATH when PATH is unset", () => {
    expect(resolveCommand("sh", undefined, probe({ "/bin/sh": "x" }))).toEqual({ file: "/bin/sh" });
  });
});

describe("planning the child command", () => {
  it("refuses an empty command as a usage error", () => {
    expect(planChildCommand({ command: [""], env: {}, probe: probe({}) })).toMatchObject({ status: 2 });
  });

  it("gives 127 for a command not on PATH", () => {
    const plan = planChildCommand({ command: ["nope"], env: { PATH: "/bin" }, probe: probe({}) });
    expect(plan).toEqual({ status: 127, message: "'nope': command not found" });
  });

  it("steps down through setpriv with the user's ids and groups", () => {
    const plan = planChildCommand({
      command: ["id", "-u"],
      env: { PATH: "/bin", HOME: "/root" },
      probe: probe({}),
      user: { name: "sandbox", entry: sandbox, setpriv: "/usr/bin/setpriv" },
    });
    expect(plan).toEqual({
      file: "/usr/bin/setpriv",
      argv: ["/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--init-groups", "--", "id", "-u"],
      env: { PATH: "/bin", HOME: "/sandbox", USER: "sandbox", LOGNAME: "sandbox" },
    });
  });

  it("never runs as root when the user or setpriv is missing", () => {
    const noUser = planChildCommand({
      command: ["id"],
      env: {},
      probe: probe({ "/bin/id": "x" }),
      user: { name: "ghost", entry: undefined, setpriv: "/usr/bin/setpriv" },
    });
    expect(noUser).toMatchObject({ status: 126, message: expect.stringContaining("no user 'ghost'") });
    const noSetpriv = planChildCommand({
      command: ["id"],
      env: {},
      probe: probe({ "/bin/id": "x" }),
      user: { name: "sandbox", entry: sandbox, setpriv: undefined },
    });
    expect(noSetpriv).toMatchObject({ status: 126, message: expect.stringContaining("setpriv not found") });
  });

  it("passes the environment to execve as KEY=value, skipping unset keys", () => {
    expect(envArray({ A: "1", B: undefined, C: "x=y" })).toEqual(["A=1", "C=x=y"]);
  });
});
