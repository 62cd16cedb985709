// A file tree in memory: what a scratch root holds (names, inodes, bytes, mode, owner), and
// the logical operations a recorded run did to it. Inodes have ids, so a rename or a
// descriptor keeps pointing at the same file, and a crash state can give one inode the bytes
// of one moment and another inode those of another. Pure: snapshots and materialisation of
// real directories are in tree-io.ts.
import { createHash } from "node:crypto";

export type NodeKind = "file" | "dir" | "symlink" | "other";

export interface FsNode {
  kind: NodeKind;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  data: Buffer;
  /** Directories only: name → inode id. */
  entries: Map<string, number> | undefined;
  /** Symlinks only. */
  target: string | undefined;
}

export interface Attrs {
  mode: number;
  uid: number;
  gid: number;
}

/** A logical file-system operation; directories and files are inode ids. */
export type Op =
  | { kind: "create"; dir: number; name: string; node: number; type: NodeKind; attrs: Attrs; target?: string }
  | { kind: "link"; dir: number; name: string; node: number }
  | { kind: "rename"; fromDir: number; fromName: string; toDir: number; toName: string; node: number }
  | { kind: "remove"; dir: number; name: string }
  | { kind: "write"; node: number; offset: number; bytes: Buffer }
  | { kind: "truncate"; node: number; size: number }
  | { kind: "attr"; node: number; mode?: number; uid?: number; gid?: number }
  | { kind: "fsync"; node: number }
  | { kind: "sync" };

export class TreeError extends Error {}

const EMPTY = Buffer.alloc(0);

export class FsTree {
  constructor(
    readonly nodes: Map<number, FsNode>,
    readonly root: number,
  ) {}

  static empty(attrs: Attrs): FsTree {
    return new FsTree(new Map([[1, { kind: "dir", ...attrs, data: EMPTY, entries: new Map(), target: undefined }]]), 1);
  }

  clone(): FsTree {
    const nodes = new Map<number, FsNode>();
    for (const [id, node] of this.nodes) nodes.set(id, { ...node, entries: node.entries && new Map(node.entries) });
    return new FsTree(nodes, this.root);
  }

  node(id: number): FsNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new TreeError(`no inode ${id}`);
    return node;
  }

  nextId(): number {
    return Math.max(0, ...this.nodes.keys()) + 1;
  }

  entries(dir: number): Map<string, number> {
    const entries = this.node(dir).entries;
    if (entries === undefined) throw new TreeError(`inode ${dir} is not a directory`);
    return entries;
  }

  lookup(dir: number, name: string): number | undefined {
    return this.entries(dir).get(name);
  }

  /** The inode at a path relative to the root ("" is the root); symlinks are not followed. */
  resolve(relative: string): number | undefined {
    let at: number | undefined = this.root;
    for (const part of relative.split("/").filter((p) => p !== "")) {
      if (at === undefined || this.node(at).kind !== "dir") return undefined;
      at = this.lookup(at, part);
    }
    return at;
  }

  apply(op: Op): void {
    switch (op.kind) {
      case "create":
        this.nodes.set(op.node, {
          kind: op.type,
          ...op.attrs,
          data: EMPTY,
          entries: op.type === "dir" ? new Map() : undefined,
          target: op.target,
        });
        this.entries(op.dir).set(op.name, op.node);
        return;
      case "link":
        this.entries(op.dir).set(op.name, op.node);
        return;
      case "rename": {
        const moved = this.lookup(op.fromDir, op.fromName);
        if (moved === undefined) throw new TreeError(`rename of a missing entry ${op.fromName}`);
        this.entries(op.fromDir).delete(op.fromName);
        this.entries(op.toDir).set(op.toName, moved);
        return;
      }
      case "remove":
        this.entries(op.dir).delete(op.name);
        return;
      case "write":
      case "truncate":
        this.setData(op.node, applyData(this.node(op.node).data, op));
        return;
      case "attr":
        this.setAttrs(op.node, applyAttr(this.node(op.node), op));
        return;
      case "fsync":
      case "sync":
        return;
    }
  }

  setData(id: number, data: Buffer): void {
    this.node(id).data = data;
  }

  setAttrs(id: number, attrs: Attrs): void {
    Object.assign(this.node(id), attrs);
  }

  /** Every inode reachable from the root, by path ("" is the root), parents first. */
  walk(): Array<{ path: string; id: number; node: FsNode }> {
    const found: Array<{ path: string; id: number; node: FsNode }> = [];
    const visit = (path: string, id: number): void => {
      const node = this.node(id);
      found.push({ path, id, node });
      if (node.entries === undefined) return;
      for (const name of [...node.entries.keys()].sort()) visit(path === "" ? name : `${path}/${name}`, node.entries.get(name)!);
    };
    visit("", this.root);
    return found;
  }

  /** One line per reachable entry: what a state is, independent of inode ids. */
  listing(): string[] {
    return this.walk().map(({ path, node }) => describeEntry(path, node));
  }

  /** Equal digests mean equal trees as a boot would see them. */
  digest(): string {
    return createHash("sha256").update(this.listing().join("\n")).digest("hex");
  }

  /** The first difference from another tree, or undefined when they are equal. */
  difference(other: FsTree): string | undefined {
    const mine = this.listing();
    const theirs = other.listing();
    for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
      if (mine[i] !== theirs[i]) return `${mine[i] ?? "(nothing)"} / ${theirs[i] ?? "(nothing)"}`;
    }
    return undefined;
  }
}

function describeEntry(path: string, node: FsNode): string {
  const what = node.kind === "file" ? `${node.data.length} bytes sha256:${sha256(node.data).slice(0, 16)}` : node.kind === "symlink" ? `-> ${node.target}` : "";
  return `/${path} ${node.kind} ${node.mode.toString(8).padStart(4, "0")} ${node.uid}:${node.gid} ${what}`.trimEnd();
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A file's bytes after one write or truncate. */
export function applyData(data: Buffer, op: Extract<Op, { kind: "write" | "truncate" }>): Buffer {
  if (op.kind === "truncate") {
    if (op.size <= data.length) return data.subarray(0, op.size);
    return Buffer.concat([data, Buffer.alloc(op.size - data.length)]);
  }
  const end = op.offset + op.bytes.length;
  const out = Buffer.alloc(Math.max(data.length, end));
  data.copy(out);
  op.bytes.copy(out, op.offset);
  return out;
}

/** Attributes after chmod or chown; chown of a non-directory clears setuid and (group-executable) setgid, as Linux does. */
export function applyAttr(current: Attrs & { kind?: NodeKind }, op: Extract<Op, { kind: "attr" }>): Attrs {
  let mode = op.mode ?? current.mode;
  const chown = op.uid !== undefined || op.gid !== undefined;
  if (chown && current.kind !== "dir") {
    mode &= ~0o4000;
    if ((mode & 0o2010) === 0o2010) mode &= ~0o2000;
  }
  return { mode: mode & 0o7777, uid: op.uid ?? current.uid, gid: op.gid ?? current.gid };
}
