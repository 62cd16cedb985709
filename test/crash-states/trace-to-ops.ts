// From system calls to logical file-system operations on a scratch root: the interpreter
// keeps what the kernel kept for each traced process (descriptor table, working directory,
// umask, effective ids) and replays every call that changed something under the root on
// a tree that starts as the root's snapshot. Its end tree must equal the root as the run
// left it (recorder.ts checks), so a call it misread cannot go unnoticed. Calls outside the
// root are ignored; a call under the root it does not model (O_TMPFILE, fallocate, inode
// flags, fdatasync, ...) is refused with its line, not approximated.
import { posix } from "node:path";
import { FsTree, type Attrs, type Op } from "./fs-tree.js";
import { decodePath, decodeString, flagNames, parseNumber, structField, type Syscall } from "./strace-log.js";

export interface RecordedOp {
  /** Position in the recorded sequence. */
  at: number;
  op: Op;
  /** The system call it came from, shortened, for reports. */
  call: string;
  /** The root-relative paths it names (an operation on an inode: the file's name at that moment). */
  names: string[];
}

export interface Replay {
  ops: RecordedOp[];
  /** The tree after every operation. */
  final: FsTree;
}

export class TraceError extends Error {}

interface Fd {
  node: number | undefined;
  path: string;
  pos: number;
  append: boolean;
  cloexec: boolean;
}

interface Proc {
  fds: Map<number, Fd>;
  fs: { cwd: string; umask: number };
  creds: { uid: number; gid: number };
}

interface Place {
  abs: string;
  /** Under the root: the directory inode and the name in it (the root itself has neither). */
  inside: boolean;
  parent?: number;
  name?: string;
  node?: number;
  rel: string;
}

const AT_FDCWD = -100;

export interface Start {
  rootPath: string;
  pre: FsTree;
  /** The first traced process's umask, working directory and ids. */
  umask: number;
  cwd: string;
  uid: number;
  gid: number;
}

/** Replays the calls; throws TraceError naming the log line of a call it cannot model. */
export function traceToOps(calls: readonly Syscall[], start: Start): Replay {
  const interpreter = new Interpreter(start);
  for (const call of calls) {
    if (call.errno !== undefined || call.result === undefined || call.result < 0) continue;
    try {
      interpreter.step(call);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new TraceError(`strace log line ${call.line} (${call.text}): ${why}`);
    }
  }
  return { ops: interpreter.ops, final: interpreter.tree };
}

class Interpreter {
  readonly ops: RecordedOp[] = [];
  readonly tree: FsTree;
  private readonly procs = new Map<number, Proc>();
  private readonly root: string;
  private call: Syscall | undefined;

  constructor(private readonly start: Start) {
    this.tree = start.pre.clone();
    this.root = posix.normalize(start.rootPath).replace(/\/$/, "");
  }

  private proc(tid: number): Proc {
    let proc = this.procs.get(tid);
    if (proc === undefined) {
      const first = this.procs.size === 0;
      proc = {
        fds: new Map(),
        fs: { cwd: first ? this.start.cwd : "/", umask: this.start.umask },
        creds: { uid: this.start.uid, gid: this.start.gid },
      };
      this.procs.set(tid, proc);
    }
    return proc;
  }

  private emit(op: Op, names: string[]): void {
    this.tree.apply(op);
    this.ops.push({ at: this.ops.length, op, call: this.call!.text, names });
  }

  step(call: Syscall): void {
    this.call = call;
    const proc = this.proc(call.tid);
    if (this.descriptorCall(proc, call) !== false) return;
    if (this.nameCall(proc, call) !== false) return;
    this.processCall(proc, call);
  }

  /** Calls on descriptors and file contents; false when the call is none of them. */
  private descriptorCall(proc: Proc, call: Syscall): void | false {
    const a = call.args;
    const result = call.result!;
    switch (call.name) {
      case "open":
        return this.open(proc, AT_FDCWD, a[0], a[1], a[2], result);
      case "creat":
        return this.open(proc, AT_FDCWD, a[0], "O_WRONLY|O_CREAT|O_TRUNC", a[1], result);
      case "openat":
        return this.open(proc, parseNumber(a[0]), a[1], a[2], a[3], result);
      case "openat2":
        return this.open(proc, parseNumber(a[0]), a[1], structField(a[2], "flags"), structField(a[2], "mode"), result);
      case "close":
        proc.fds.delete(parseNumber(a[0]));
        return;
      case "close_range":
        return this.closeRange(proc, parseNumber(a[0]), parseNumber(a[1] === "~0" ? "2147483647" : a[1]), a[2]);
      case "dup":
        return this.dup(proc, parseNumber(a[0]), result, false);
      case "dup2":
      case "dup3":
        return this.dup(proc, parseNumber(a[0]), result, flagNames(a[2]).has("O_CLOEXEC"));
      case "fcntl":
        if (a[1] === "F_DUPFD" || a[1] === "F_DUPFD_CLOEXEC") this.dup(proc, parseNumber(a[0]), result, a[1] === "F_DUPFD_CLOEXEC");
        return;
      case "write":
        return this.write(proc, a[0], () => decodeString(a[1]).subarray(0, result), undefined);
      case "pwrite64":
        return this.write(proc, a[0], () => decodeString(a[1]).subarray(0, result), a[3]);
      case "writev":
        return this.write(proc, a[0], () => iovecBytes(a[1]).subarray(0, result), undefined);
      case "pwritev":
      case "pwritev2":
        return this.write(proc, a[0], () => iovecBytes(a[1]).subarray(0, result), a[3]);
      case "ftruncate":
        return this.onFd(proc, a[0], (node, fd) => this.emit({ kind: "truncate", node, size: parseNumber(a[1]) }, [fd]));
      case "truncate":
        return this.onPath(proc, AT_FDCWD, a[0], (node, rel) => this.emit({ kind: "truncate", node, size: parseNumber(a[1]) }, [rel]));
      case "fsync":
        return this.onFd(proc, a[0], (node, fd) => this.emit({ kind: "fsync", node }, [fd]));
      case "sync":
        return this.emit({ kind: "sync" }, []);
      case "syncfs":
        return this.onFd(proc, a[0], () => this.emit({ kind: "sync" }, []));
      case "fdatasync":
      case "fallocate":
      case "sendfile":
      case "copy_file_range":
      case "splice":
        // The descriptor written to: first for the first three, third for the others.
        return this.onFd(proc, ["copy_file_range", "splice"].includes(call.name) ? a[2] : a[0], () => {
          throw new TraceError(`${call.name} on a file under the root is not modeled`);
        });
      case "ioctl":
        if (a[1] === "FS_IOC_SETFLAGS") return this.onFd(proc, a[0], () => {
          throw new TraceError("inode flags (chattr) are not modeled: run the boot without CAP_LINUX_IMMUTABLE");
        });
        return;
      default:
        return false;
    }
  }

  /** Calls on names, modes and owners; false when the call is none of them. */
  private nameCall(proc: Proc, call: Syscall): void | false {
    const a = call.args;
    switch (call.name) {
      case "rename":
        return this.rename(proc, AT_FDCWD, a[0], AT_FDCWD, a[1], undefined);
      case "renameat":
        return this.rename(proc, parseNumber(a[0]), a[1], parseNumber(a[2]), a[3], undefined);
      case "renameat2":
        return this.rename(proc, parseNumber(a[0]), a[1], parseNumber(a[2]), a[3], a[4]);
      case "unlink":
      case "rmdir":
        return this.remove(proc, AT_FDCWD, a[0]);
      case "unlinkat":
        return this.remove(proc, parseNumber(a[0]), a[1]);
      case "mkdir":
        return this.create(proc, AT_FDCWD, a[0], "dir", parseNumber(a[1]));
      case "mkdirat":
        return this.create(proc, parseNumber(a[0]), a[1], "dir", parseNumber(a[2]));
      case "mknod":
        return this.create(proc, AT_FDCWD, a[0], "other", 0o644);
      case "mknodat":
        return this.create(proc, parseNumber(a[0]), a[1], "other", 0o644);
      case "symlink":
        return this.create(proc, AT_FDCWD, a[1], "symlink", 0o777, decodePath(a[0]));
      case "symlinkat":
        return this.create(proc, parseNumber(a[1]), a[2], "symlink", 0o777, decodePath(a[0]));
      case "link":
        return this.link(proc, AT_FDCWD, a[0], AT_FDCWD, a[1]);
      case "linkat":
        return this.link(proc, parseNumber(a[0]), a[1], parseNumber(a[2]), a[3]);
      case "fchmod":
        return this.onFd(proc, a[0], (node, fd) => this.emit({ kind: "attr", node, mode: parseNumber(a[1]) }, [fd]));
      case "chmod":
        return this.onPath(proc, AT_FDCWD, a[0], (node, rel) => this.emit({ kind: "attr", node, mode: parseNumber(a[1]) }, [rel]));
      case "fchmodat":
        return this.onPath(proc, parseNumber(a[0]), a[1], (node, rel) => this.emit({ kind: "attr", node, mode: parseNumber(a[2]) }, [rel]));
      case "fchown":
        return this.onFd(proc, a[0], (node, fd) => this.emit({ kind: "attr", node, ...owner(a[1], a[2]) }, [fd]));
      case "chown":
      case "lchown":
        return this.onPath(proc, AT_FDCWD, a[0], (node, rel) => this.emit({ kind: "attr", node, ...owner(a[1], a[2]) }, [rel]));
      case "fchownat":
        if (flagNames(a[4]).has("AT_EMPTY_PATH") && decodePath(a[1]) === "") {
          return this.onFd(proc, a[0], (node, fd) => this.emit({ kind: "attr", node, ...owner(a[2], a[3]) }, [fd]));
        }
        return this.onPath(proc, parseNumber(a[0]), a[1], (node, rel) => this.emit({ kind: "attr", node, ...owner(a[2], a[3]) }, [rel]));
      default:
        return false;
    }
  }

  /** Calls that change a process rather than a file: ids, umask, working directory, forks, exec. */
  private processCall(proc: Proc, call: Syscall): void {
    const a = call.args;
    const id = (arg: string | undefined) => (arg === "-1" ? undefined : parseNumber(arg));
    switch (call.name) {
      case "chdir":
        proc.fs.cwd = this.absolute(proc, AT_FDCWD, decodePath(a[0]));
        return;
      case "fchdir":
        proc.fs.cwd = proc.fds.get(parseNumber(a[0]))?.path ?? proc.fs.cwd;
        return;
      case "umask":
        proc.fs.umask = parseNumber(a[0]);
        return;
      case "setuid":
      case "setfsuid":
        proc.creds.uid = parseNumber(a[0]);
        return;
      case "setgid":
      case "setfsgid":
        proc.creds.gid = parseNumber(a[0]);
        return;
      case "setreuid":
      case "setresuid":
        proc.creds.uid = id(a[1]) ?? proc.creds.uid;
        return;
      case "setregid":
      case "setresgid":
        proc.creds.gid = id(a[1]) ?? proc.creds.gid;
        return;
      case "clone":
      case "clone3":
      case "fork":
      case "vfork":
        return this.fork(proc, call.result!, flagNames(structField(a[0], "flags") ?? a.find((arg) => arg.startsWith("flags="))?.slice(6)));
      case "execve":
      case "execveat":
        proc.fds = new Map([...proc.fds].filter(([, fd]) => !fd.cloexec));
        return;
    }
  }

  private fork(parent: Proc, child: number, flags: Set<string>): void {
    const early = this.procs.get(child);
    const fds = flags.has("CLONE_FILES") ? parent.fds : new Map(parent.fds);
    for (const [n, fd] of early?.fds ?? []) fds.set(n, fd);
    this.procs.set(child, {
      fds,
      fs: flags.has("CLONE_FS") ? parent.fs : { ...parent.fs },
      creds: { ...parent.creds },
    });
  }

  private absolute(proc: Proc, dirfd: number, path: string): string {
    if (path.startsWith("/")) return posix.normalize(path);
    const base = dirfd === AT_FDCWD ? proc.fs.cwd : proc.fds.get(dirfd)?.path;
    if (base === undefined) throw new TraceError(`descriptor ${dirfd} was never opened in the trace`);
    return posix.normalize(`${base}/${path}`);
  }

  /** Where a (dirfd, path) pair lands: outside the root, or a directory inode and a name in it. */
  private place(proc: Proc, dirfd: number, rawPath: string | undefined): Place {
    const path = decodePath(rawPath);
    const dirFd = dirfd === AT_FDCWD || path.startsWith("/") ? undefined : proc.fds.get(dirfd);
    if (dirFd?.node !== undefined) {
      if (path.split("/").includes("..")) throw new TraceError(`'..' relative to a descriptor is not modeled: ${path}`);
      return this.placeUnder(dirFd.node, this.relOf(dirFd.node), path, posix.normalize(`${dirFd.path}/${path}`));
    }
    const abs = this.absolute(proc, dirfd, path);
    if (abs === this.root) return { abs, inside: true, node: this.tree.root, rel: "" };
    if (!abs.startsWith(`${this.root}/`)) return { abs, inside: false, rel: "" };
    return this.placeUnder(this.tree.root, "", abs.slice(this.root.length + 1), abs);
  }

  private placeUnder(dir: number, dirRel: string, path: string, abs: string): Place {
    const parts = path.split("/").filter((p) => p !== "" && p !== ".");
    if (parts.length === 0) return { abs, inside: true, node: dir, rel: dirRel };
    let parent = dir;
    for (const part of parts.slice(0, -1)) {
      const next = this.tree.lookup(parent, part);
      if (next === undefined || this.tree.node(next).kind !== "dir") throw new TraceError(`${abs}: a directory on the way is missing from the model`);
      parent = next;
    }
    const name = parts.at(-1)!;
    const rel = posix.join(dirRel, ...parts);
    return { abs, inside: true, parent, name, node: this.tree.lookup(parent, name), rel };
  }

  /** The inode's path relative to the root, for reports and path selection. */
  private relOf(node: number): string {
    return this.tree.walk().find((entry) => entry.id === node)?.path ?? `(unlinked inode ${node})`;
  }

  private open(proc: Proc, dirfd: number, path: string | undefined, flagArg: string | undefined, modeArg: string | undefined, fd: number): void {
    const flags = flagNames(flagArg);
    const place = this.place(proc, dirfd, path);
    const entry = { path: place.abs, pos: 0, append: flags.has("O_APPEND"), cloexec: flags.has("O_CLOEXEC") };
    if (!place.inside) {
      proc.fds.set(fd, { node: undefined, ...entry });
      return;
    }
    if (flags.has("O_TMPFILE") || flags.has("__O_TMPFILE")) throw new TraceError("O_TMPFILE is not modeled");
    let node = place.node;
    if (node === undefined) {
      if (!flags.has("O_CREAT")) throw new TraceError(`${place.abs} opened but missing from the model`);
      node = this.createNode(proc, place, "file", parseNumber(modeArg ?? "0"));
    } else if (flags.has("O_TRUNC") && (flags.has("O_WRONLY") || flags.has("O_RDWR")) && this.tree.node(node).kind === "file") {
      this.emit({ kind: "truncate", node, size: 0 }, [place.rel]);
    }
    proc.fds.set(fd, { node, ...entry });
  }

  private createNode(proc: Proc, place: Place, type: "file" | "dir" | "symlink" | "other", mode: number, target?: string): number {
    if (place.parent === undefined || place.name === undefined) throw new TraceError(`cannot create the root ${place.abs}`);
    const parent = this.tree.node(place.parent);
    const setgid = (parent.mode & 0o2000) !== 0;
    const attrs: Attrs = {
      mode: type === "symlink" ? 0o777 : (mode & ~proc.fs.umask & 0o7777) | (setgid && type === "dir" ? 0o2000 : 0),
      uid: proc.creds.uid,
      gid: setgid ? parent.gid : proc.creds.gid,
    };
    const node = this.tree.nextId();
    const op: Op = { kind: "create", dir: place.parent, name: place.name, node, type, attrs };
    if (target !== undefined) op.target = target;
    this.emit(op, [place.rel]);
    return node;
  }

  private create(proc: Proc, dirfd: number, path: string | undefined, type: "dir" | "symlink" | "other", mode: number, target?: string): void {
    const place = this.place(proc, dirfd, path);
    if (!place.inside) return;
    if (place.node !== undefined) throw new TraceError(`${place.abs} created but already in the model`);
    this.createNode(proc, place, type, mode, target);
  }

  private closeRange(proc: Proc, first: number, last: number, flags: string | undefined): void {
    for (const [n, fd] of [...proc.fds]) {
      if (n < first || n > last) continue;
      if (flagNames(flags).has("CLOSE_RANGE_CLOEXEC")) fd.cloexec = true;
      else proc.fds.delete(n);
    }
  }

  private dup(proc: Proc, from: number, to: number, cloexec: boolean): void {
    const fd = proc.fds.get(from);
    if (fd === undefined) proc.fds.delete(to);
    else proc.fds.set(to, { ...fd, cloexec });
  }

  private onFd(proc: Proc, arg: string | undefined, act: (node: number, rel: string) => void): void {
    const fd = proc.fds.get(parseNumber(arg));
    if (fd?.node !== undefined) act(fd.node, this.relOf(fd.node));
  }

  private onPath(proc: Proc, dirfd: number, path: string | undefined, act: (node: number, rel: string) => void): void {
    const place = this.place(proc, dirfd, path);
    if (!place.inside) return;
    if (place.node === undefined) throw new TraceError(`${place.abs} changed but missing from the model`);
    act(place.node, place.rel);
  }

  /** Bytes are decoded only for a file under the root: what goes to pipes and logs is not read. */
  private write(proc: Proc, fdArg: string | undefined, data: () => Buffer, at: string | undefined): void {
    const fd = proc.fds.get(parseNumber(fdArg));
    if (fd?.node === undefined) return;
    const bytes = data();
    const offset = at !== undefined ? parseNumber(at) : fd.append ? this.tree.node(fd.node).data.length : fd.pos;
    this.emit({ kind: "write", node: fd.node, offset, bytes }, [this.relOf(fd.node)]);
    if (at === undefined) fd.pos = offset + bytes.length;
  }

  private rename(proc: Proc, fromFd: number, from: string | undefined, toFd: number, to: string | undefined, flags: string | undefined): void {
    const names = flagNames(flags);
    if (names.has("RENAME_EXCHANGE") || names.has("RENAME_WHITEOUT")) throw new TraceError("rename exchange/whiteout is not modeled");
    const a = this.place(proc, fromFd, from);
    const b = this.place(proc, toFd, to);
    if (!a.inside && !b.inside) return;
    if (!a.inside || !b.inside || a.parent === undefined || b.parent === undefined) throw new TraceError("a rename across the root's edge is not modeled");
    if (a.node === undefined) throw new TraceError(`${a.abs} renamed but missing from the model`);
    this.emit({ kind: "rename", fromDir: a.parent, fromName: a.name!, toDir: b.parent, toName: b.name!, node: a.node }, [a.rel, b.rel]);
  }

  /** unlink, rmdir and unlinkat alike: the kernel already refused the wrong kind. */
  private remove(proc: Proc, dirfd: number, path: string | undefined): void {
    const place = this.place(proc, dirfd, path);
    if (!place.inside) return;
    if (place.node === undefined || place.parent === undefined) throw new TraceError(`${place.abs} removed but missing from the model`);
    this.emit({ kind: "remove", dir: place.parent, name: place.name! }, [place.rel]);
  }

  private link(proc: Proc, fromFd: number, from: string | undefined, toFd: number, to: string | undefined): void {
    const a = this.place(proc, fromFd, from);
    const b = this.place(proc, toFd, to);
    if (!a.inside && !b.inside) return;
    if (a.node === undefined || b.parent === undefined) throw new TraceError("a hard link across the root's edge is not modeled");
    this.emit({ kind: "link", dir: b.parent, name: b.name!, node: a.node }, [b.rel]);
  }
}

function owner(uid: string | undefined, gid: string | undefined): { uid?: number; gid?: number } {
  const result: { uid?: number; gid?: number } = {};
  if (uid !== "-1") result.uid = parseNumber(uid);
  if (gid !== "-1") result.gid = parseNumber(gid);
  return result;
}

/** The bytes of a writev iovec array, in order. */
function iovecBytes(arg: string | undefined): Buffer {
  const parts = [...(arg ?? "").matchAll(/iov_base=("(?:\\x[0-9a-f]{2})*"(?:\.\.\.)?)/g)].map((m) => decodeString(m[1]));
  return Buffer.concat(parts);
}
