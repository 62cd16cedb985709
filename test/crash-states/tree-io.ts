// Real directories to and from FsTree: a snapshot of a scratch root before and after a
// recorded run, and a crash state written out so a real boot can run on it.
import { chmodSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsTree, TreeError, type FsNode } from "./fs-tree.js";

const EMPTY = Buffer.alloc(0);

/** The tree under dir (inclusive), read without following symlinks. */
export function snapshot(dir: string): FsTree {
  const nodes = new Map<number, FsNode>();
  const byInode = new Map<string, number>();
  let next = 1;
  const visit = (path: string): number => {
    const st = lstatSync(path, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const known = byInode.get(key);
    if (known !== undefined && !st.isDirectory()) return known;
    const id = next++;
    byInode.set(key, id);
    const attrs = { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
    if (st.isDirectory()) {
      const entries = new Map<string, number>();
      nodes.set(id, { kind: "dir", ...attrs, data: EMPTY, entries, target: undefined });
      for (const name of readdirSync(path).sort()) entries.set(name, visit(join(path, name)));
    } else if (st.isSymbolicLink()) {
      nodes.set(id, { kind: "symlink", ...attrs, data: EMPTY, entries: undefined, target: readlinkSync(path) });
    } else if (st.isFile()) {
      nodes.set(id, { kind: "file", ...attrs, data: readFileSync(path), entries: undefined, target: undefined });
    } else {
      nodes.set(id, { kind: "other", ...attrs, data: EMPTY, entries: undefined, target: undefined });
    }
    return id;
  };
  const root = visit(dir);
  return new FsTree(nodes, root);
}

/**
 * Writes the tree into dir, which must not exist yet. Owner before mode: chown clears the
 * setgid bit a mutable config directory carries. Hard links become copies (a boot never
 * relies on them); anything that is not a file, directory or symlink is refused.
 */
export function materialise(tree: FsTree, dir: string): void {
  const entries = tree.walk();
  for (const { path, node } of entries) {
    const at = path === "" ? dir : join(dir, path);
    if (node.kind === "dir") mkdirSync(at, { mode: 0o700 });
    else if (node.kind === "file") writeFileSync(at, node.data, { mode: 0o600 });
    else if (node.kind === "symlink") symlinkSync(node.target!, at);
    else throw new TreeError(`cannot materialise ${at}: not a file, directory or symlink`);
  }
  // Modes last and deepest first, so a read-only directory does not stop its own contents.
  for (const { path, node } of entries.reverse()) {
    const at = path === "" ? dir : join(dir, path);
    lchownSync(at, node.uid, node.gid);
    if (node.kind !== "symlink") chmodSync(at, node.mode);
  }
}
