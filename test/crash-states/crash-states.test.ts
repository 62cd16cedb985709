// The crash-state explorer (docs/crash-states.md): its parts on small inputs, then the short
// exploration npm test runs: a restart's config, anchor and token paths of the real
// supervisor show no violation, and both broken writers are caught with the states that
// show what they break.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BROKEN_WRITERS, brokenSource } from "./broken-writers.js";
import { SHORT, supervisorExecutable } from "./cli.js";
import { selects, durablePath, targetOf } from "./durable-paths.js";
import { explore } from "./explorer.js";
import { FsTree, type Op } from "./fs-tree.js";
import { crashStates, DEFAULT_MODEL, type CrashState } from "./persistence.js";
import { REPO } from "./scratch-root.js";
import { parseStraceLog, StraceLogError } from "./strace-log.js";
import { traceToOps, type RecordedOp } from "./trace-to-ops.js";

const hex = (text: string | Buffer) => `"${[...Buffer.from(text)].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("")}"`;
const ROOT_ATTRS = { mode: 0o755, uid: 0, gid: 0 };

/** A root holding d/f ("old", 0444) and an empty directory e: inodes 1 (root), 2 (d), 3 (f), 4 (e). */
function smallTree(): FsTree {
  const tree = FsTree.empty(ROOT_ATTRS);
  tree.apply({ kind: "create", dir: 1, name: "d", node: 2, type: "dir", attrs: ROOT_ATTRS });
  tree.apply({ kind: "create", dir: 2, name: "f", node: 3, type: "file", attrs: { mode: 0o444, uid: 0, gid: 0 } });
  tree.apply({ kind: "write", node: 3, offset: 0, bytes: Buffer.from("old") });
  tree.apply({ kind: "create", dir: 1, name: "e", node: 4, type: "dir", attrs: ROOT_ATTRS });
  return tree;
}

/** The atomic writer's operations for `name` in directory `dir`, with the given barriers. */
function atomicWrite(dir: number, name: string, node: number, bytes: Buffer, barriers: { file: boolean; dir: boolean }): Op[] {
  const temp = `.${name}.tmp-1-ab`;
  return [
    { kind: "create", dir, name: temp, node, type: "file", attrs: { mode: 0o600, uid: 0, gid: 0 } },
    { kind: "write", node, offset: 0, bytes },
    { kind: "attr", node, mode: 0o444 },
    ...(barriers.file ? [{ kind: "fsync", node } as const] : []),
    { kind: "rename", fromDir: dir, fromName: temp, toDir: dir, toName: name, node },
    ...(barriers.dir ? [{ kind: "fsync", node: dir } as const] : []),
  ];
}

function recorded(ops: Op[]): RecordedOp[] {
  return ops.map((op, at) => ({ at, op, call: `${op.kind} #${at}`, names: [] }));
}

function contentsOf(states: CrashState[], path: string): string[] {
  return [...new Set(states.map((s) => {
    const id = s.tree.resolve(path);
    return id === undefined ? "(absent)" : `${s.tree.node(id).data.toString()} ${s.tree.node(id).mode.toString(8)}`;
  }))].sort();
}

describe("the strace log", () => {
  it("joins a call split by another thread's line and reads hex strings, errors and child ids", () => {
    const calls = parseStraceLog(
      [
        `7 write(4, ${hex("new")}, 3 <unfinished ...>`,
        `8 clone3({flags=CLONE_VM|CLONE_FILES|CLONE_THREAD, exit_signal=0} => {parent_tid=[2]}, 88) = 2 /* 9 in strace's PID NS */`,
        "7 <... write resumed>) = 3",
        `7 unlinkat(3, ${hex("gone")}, 0) = -1 ENOENT (No such file or directory)`,
        "7 +++ exited with 0 +++",
      ].join("\n"),
    );
    expect(calls.map((c) => [c.tid, c.name, c.result, c.errno])).toEqual([
      [8, "clone3", 9, undefined],
      [7, "write", 3, undefined],
      [7, "unlinkat", -1, "ENOENT"],
    ]);
    expect(calls[1]!.text).toBe('write(4, "new", 3) = 3');
  });

  it("refuses a string strace cut short, and a line that is no call, naming the line", () => {
    const cut = parseStraceLog(`7 write(4, ${hex("abc")}..., 9) = 9`)[0]!;
    expect(() => traceToOps([cut], { rootPath: "/r", pre: smallTree(), umask: 0o022, cwd: "/", uid: 0, gid: 0 })).not.toThrow();
    const open = `7 openat(AT_FDCWD, ${hex("/r/d/f")}, O_WRONLY|O_CLOEXEC) = 4`;
    expect(() => traceToOps(parseStraceLog(`${open}\n7 write(4, ${hex("abc")}..., 9) = 9`), { rootPath: "/r", pre: smallTree(), umask: 0o022, cwd: "/", uid: 0, gid: 0 })).toThrow(
      /strace log line 2 .*cut a string short: raise its -s limit/,
    );
    expect(() => parseStraceLog("7 write(4, ")).toThrow(StraceLogError);
    expect(() => parseStraceLog("garbage")).toThrow(/strace log line 1: expected '<tid> <call>'/);
  });
});

describe("from calls to operations", () => {
  const start = { rootPath: "/r", umask: 0o022, cwd: "/", uid: 0, gid: 0 };
  const log = [
    `7 openat(AT_FDCWD, ${hex("/r/d")}, O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY) = 3`,
    `7 openat(3, ${hex(".f.tmp-1-ab")}, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600) = 4`,
    `7 write(4, ${hex("new")}, 3) = 3`,
    "7 fchown(4, 0, 0) = 0",
    "7 fchmod(4, 0444) = 0",
    "7 fsync(4) = 0",
    "7 close(4) = 0",
    `7 renameat(3, ${hex(".f.tmp-1-ab")}, 3, ${hex("f")}) = 0`,
    "7 fsync(3) = 0",
    `7 openat(AT_FDCWD, ${hex("/etc/passwd")}, O_RDONLY|O_CLOEXEC) = 4`,
    `7 write(4, ${hex("outside the root")}, 16) = 16`,
    "7 setresuid(-1, 1000, -1) = 0",
    `7 mkdirat(3, ${hex("sub")}, 0777) = 0`,
  ].join("\n");

  it("replays each call under the root on the tree, through descriptors and ids, and ignores the rest", () => {
    const { ops, final } = traceToOps(parseStraceLog(log), { ...start, pre: smallTree() });
    expect(ops.map((r) => r.op.kind)).toEqual(["create", "write", "attr", "attr", "fsync", "rename", "fsync", "create"]);
    expect(ops[0]!.names).toEqual(["d/.f.tmp-1-ab"]);
    expect(ops[5]!.names).toEqual(["d/.f.tmp-1-ab", "d/f"]);
    const f = final.node(final.resolve("d/f")!);
    expect([f.data.toString(), f.mode, f.uid]).toEqual(["new", 0o444, 0]);
    const sub = final.node(final.resolve("d/sub")!);
    expect([sub.kind, sub.mode, sub.uid]).toEqual(["dir", 0o755, 1000]);
  });

  it("refuses a call under the root it does not model, naming the log line", () => {
    const tmpfile = `7 openat(AT_FDCWD, ${hex("/r/d")}, O_RDWR|O_TMPFILE, 0600) = 5`;
    expect(() => traceToOps(parseStraceLog(tmpfile), { ...start, pre: smallTree() })).toThrow(/strace log line 1 .*O_TMPFILE is not modeled/);
  });
});

describe("the persistence model", () => {
  const all = () => true;

  it("leaves the old or the new file, never a torn one, when the writer fsyncs file and directory", () => {
    const states = crashStates(smallTree(), recorded(atomicWrite(2, "f", 10, Buffer.from("new"), { file: true, dir: true })), all).states;
    expect(contentsOf(states, "d/f")).toEqual(["new 444", "old 444"]);
    // The temp file may or may not have persisted, with or without its bytes: more states than outcomes.
    expect(states.length).toBeGreaterThan(2);
  });

  it("can leave the new name on an empty file when the file fsync before the rename is missing", () => {
    const states = crashStates(smallTree(), recorded(atomicWrite(2, "f", 10, Buffer.from("new"), { file: false, dir: true })), all).states;
    expect(contentsOf(states, "d/f")).toEqual([" 444", " 600", "new 444", "new 600", "old 444"]);
  });

  it("cuts unsynced appends at block boundaries", () => {
    const bytes = Buffer.alloc(10_000, 0x61);
    const states = crashStates(smallTree(), recorded(atomicWrite(2, "f", 10, bytes, { file: false, dir: true })), all).states;
    const sizes = new Set(states.map((s) => s.tree.node(s.tree.resolve("d/f")!).data.length));
    expect([...sizes].sort((a, b) => a - b)).toEqual([0, 3, 4096, 8192, 10_000]);
  });

  it("orders two files only through the first one's directory fsync", () => {
    const writeBoth = (first: { file: boolean; dir: boolean }) =>
      recorded([
        ...atomicWrite(2, "f", 10, Buffer.from("new"), first),
        { kind: "create", dir: 4, name: "g", node: 11, type: "file", attrs: { mode: 0o444, uid: 0, gid: 0 } },
        { kind: "fsync", node: 4 },
      ]);
    const gWithOldF = (ops: RecordedOp[]) =>
      crashStates(smallTree(), ops, all).states.filter((s) => s.tree.resolve("e/g") !== undefined && s.tree.node(s.tree.resolve("d/f")!).data.toString() === "old");
    expect(gWithOldF(writeBoth({ file: true, dir: true }))).toEqual([]);
    const reordered = gWithOldF(writeBoth({ file: true, dir: false }));
    expect(reordered.length).toBeGreaterThan(0);
    expect(reordered[0]!.description).toMatch(/not persisted: .*#4 rename #4/);
  });

  it("refuses, in one line, a crash point with more combinations than its bound instead of sampling", () => {
    const ops = recorded(atomicWrite(2, "f", 10, Buffer.from("new"), { file: false, dir: false }));
    expect(() => crashStates(smallTree(), ops, all, { ...DEFAULT_MODEL, maxCombinations: 2 })).toThrow(
      /^crash point \d+: more than 2 (subsets of \d+ unsynced name operations|combinations of unsynced file contents); raise maxCombinations$/,
    );
  });

  it("lets a path's own operations vary and persists the others as issued", () => {
    const ops = recorded([...atomicWrite(2, "f", 10, Buffer.from("new"), { file: false, dir: false }), ...atomicWrite(4, "g", 11, Buffer.from("g"), { file: false, dir: false })]);
    for (const r of ops) r.names = [r.at < 4 ? "d/.f.tmp-1-ab" : "e/.g.tmp-1-ab"];
    const onlyG = crashStates(smallTree(), ops, (r) => r.names[0]!.startsWith("e/")).states;
    expect(contentsOf(onlyG, "d/f")).toEqual(["new 444"]);
    expect(contentsOf(onlyG, "e/g").length).toBeGreaterThan(2);
  });
});

describe("durable write paths and broken writers", () => {
  it("knows the atomic writer's temp files by the file they stand for", () => {
    expect(targetOf("sandbox/.openclaw/..config-hash.tmp-1-0a9f")).toBe("sandbox/.openclaw/.config-hash");
    expect(targetOf("tmp/.nemoclaw-gateway-token.env.displaced-12-ff")).toBe("tmp/nemoclaw-gateway-token.env");
    const op = (names: string[]): RecordedOp => ({ at: 0, op: { kind: "sync" }, call: "", names });
    expect(selects(durablePath("config"), op(["var/lib/sandbox-supervisor"]))).toBe(true);
    expect(selects(durablePath("config"), op(["tmp/.nemoclaw-gateway-token.env.tmp-1-ab"]))).toBe(false);
    expect(() => durablePath("tokn")).toThrow("unknown durable write path 'tokn', expected one of config, anchor, token, guards, dotfiles, boot");
  });

  it("removes exactly one fsync line from the real writer, and refuses when the line is gone", () => {
    const original = readFileSync(join(REPO, "supervisor/shared/atomic-write.ts"), "utf8").split("\n");
    for (const writer of BROKEN_WRITERS) {
      const broken = brokenSource(writer);
      const lines = broken.split("\n");
      expect(lines.length).toBe(original.length - 1);
      const removed = original.filter((line, i) => line !== lines[i]).at(0);
      expect(removed?.trim()).toBe(writer.name === "no-dir-fsync" ? "fsyncSync(dirFd);" : "fsyncSync(fd);");
      expect(() => brokenSource(writer, broken)).toThrow(`broken writer ${writer.name}: expected its line once in supervisor/shared/atomic-write.ts, found it 0 times`);
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)("the short exploration (real boots as PID 1)", () => {
  it("finds no violation in a restart's config, anchor and token paths or a first boot's anchor path, and catches both broken writers", async () => {
    const result = await explore({ binary: supervisorExecutable(), ...SHORT, brokenWriters: BROKEN_WRITERS, concurrency: 2, model: DEFAULT_MODEL, progress: () => {} });
    for (const path of result.real) {
      expect(path.states, `${path.scenario} / ${path.path} states`).toBeGreaterThan(0);
      expect(path.violations, `${path.scenario} / ${path.path} violations`).toEqual([]);
    }
    expect(result.real.map((r) => `${r.scenario}/${r.path}`)).toContain("first-boot/anchor");
    const config = result.real.find((r) => r.path === "config")!;
    // A crash before the config rename boots the old config, one after it the new one.
    expect(config.outcomes.old).toBeGreaterThan(0);
    expect(config.outcomes.new).toBeGreaterThan(0);

    const problems = (name: string) => result.broken.find((b) => b.writer.name === name)!.results.flatMap((r) => r.violations.flatMap((v) => v.problems));
    expect(problems("no-dir-fsync")).toContainEqual(
      expect.stringMatching(/^blames someone else for the supervisor's own interrupted write: .*openclaw\.json does not match .*\.config-hash: the config was changed outside the supervisor$/),
    );
    expect(problems("no-file-fsync")).toContainEqual(expect.stringMatching(/^the token file is readable by the sandbox user with a half-written token \(0 bytes/));
    expect(problems("no-file-fsync")).toContainEqual(expect.stringMatching(/^torn file: tmp\/nemoclaw-gateway-token\.env is a file of 0 bytes/));
  }, 300_000);
});
