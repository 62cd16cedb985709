// The on-disk states a crash can leave, under this persistence model (a POSIX file system
// that promises what fsync promises and nothing more):
//
//   1. A file's data and attributes (mode, owner) survive only once that file was fsynced
//      (or sync ran). Until then its unsynced appends may persist cut at any block boundary
//      (blockSize, 4096), from none of them to all; its attribute changes may persist as any
//      prefix of their order, independently of its data.
//   2. A new name, a rename, a hard link, an unlink or a mkdir survives only once the
//      directory holding the name was fsynced (for a rename, every directory it touches).
//      A directory's own mode and owner follow rule 1 for its fsync.
//   3. Between two barriers, the unsynced operations may persist in any subset closed under
//      their dependencies: an operation on a name needs the previous operation on that name
//      (a rename of a temp file needs the temp file's creation; creating a name after
//      unlinking it needs the unlink), a hard link needs its inode's creation. A rename
//      persists whole or not at all. Nothing else orders them: two files written one after
//      the other, or a rename and an unlink in two directories, may persist in either order.
//
// What this assumes of the real file systems is in docs/crash-states.md: ext4 (data=ordered,
// its default) keeps fewer states than this (its journal commits metadata in order, and an
// fsync commits all metadata before it), overlayfs passes fsync and rename to its upper
// layer; so every state ext4 or overlay-on-ext4 can leave is one of these, and more.
//
// A crash point is a position in the recorded operations (a crash "after k of them"). For
// one durable write path, only that path's operations follow the model; the others persist
// as soon as they were issued, so each path is explored on its own terms. The path "boot"
// selects every operation: the whole model at once.
import { FsTree, applyAttr, applyData, type Attrs, type NodeKind, type Op } from "./fs-tree.js";
import type { RecordedOp } from "./trace-to-ops.js";

export interface ModelOptions {
  /** Unsynced appends are cut at multiples of this many bytes. */
  blockSize: number;
  /** Combinations tried at one crash point, at most: beyond it the run stops with an error, never samples. */
  maxCombinations: number;
}

export const DEFAULT_MODEL: ModelOptions = { blockSize: 4096, maxCombinations: 1 << 16 };

export interface CrashState {
  tree: FsTree;
  digest: string;
  /** The crash came after this many operations. */
  after: number;
  /** One line: where the crash came, and what of the unsynced work did not persist. */
  description: string;
}

export class ModelError extends Error {}

type EntryOp = Extract<Op, { kind: "create" | "link" | "rename" | "remove" }>;
type DataOp = Extract<Op, { kind: "write" | "truncate" }>;
type AttrOp = Extract<Op, { kind: "attr" }>;

interface Choice<T> {
  value: T;
  /** Empty when this choice is "everything issued persisted". */
  lost: string;
}

export interface Exploration {
  /** Distinct states, each with the first crash point that leaves it. */
  states: CrashState[];
  /** Combinations of unsynced work tried at the busiest crash point (before duplicates were dropped). */
  largestPoint: number;
}

/** Every distinct state a crash can leave while `selected` operations follow the model. */
export function crashStates(
  pre: FsTree,
  ops: readonly RecordedOp[],
  selected: (op: RecordedOp) => boolean,
  options: ModelOptions = DEFAULT_MODEL,
): Exploration {
  const model = new Model(pre, ops, selected, options);
  const states = new Map<string, CrashState>();
  const chosen = ops.filter((r) => selected(r) && r.op.kind !== "fsync" && r.op.kind !== "sync");
  const exploration: Exploration = { states: [], largestPoint: 0 };
  if (chosen.length === 0) return exploration;
  const last = chosen.at(-1)!.at;
  // From just before the path's first operation until all of it is durable (or the run ends).
  for (let k = chosen[0]!.at; k <= ops.length; k++) {
    const { unsynced, combinations } = model.statesAt(k, states);
    exploration.largestPoint = Math.max(exploration.largestPoint, combinations);
    if (k > last && !unsynced) break;
  }
  exploration.states = [...states.values()];
  return exploration;
}

class Model {
  private readonly entryDeps = new Map<number, number[]>();
  private readonly creators = new Map<number, number>();

  constructor(
    private readonly pre: FsTree,
    private readonly ops: readonly RecordedOp[],
    private readonly selected: (op: RecordedOp) => boolean,
    private readonly options: ModelOptions,
  ) {
    const lastOnKey = new Map<string, number>();
    for (const r of ops) {
      if (!isEntry(r.op)) continue;
      const deps: number[] = [];
      for (const key of keysOf(r.op)) {
        const previous = lastOnKey.get(key);
        if (previous !== undefined) deps.push(previous);
        lastOnKey.set(key, r.at);
      }
      if (r.op.kind === "create") this.creators.set(r.op.node, r.at);
      if (r.op.kind === "link" && this.creators.has(r.op.node)) deps.push(this.creators.get(r.op.node)!);
      this.entryDeps.set(r.at, deps);
    }
  }

  /** The last barrier for an inode before crash point k, or -1. */
  private lastBarrier(node: number, k: number): number {
    for (let i = k - 1; i >= 0; i--) {
      const op = this.ops[i]!.op;
      if (op.kind === "sync" || (op.kind === "fsync" && op.node === node)) return i;
    }
    return -1;
  }

  private entryDurable(r: RecordedOp, k: number): boolean {
    return dirsOf(r.op as EntryOp).every((dir) => this.lastBarrier(dir, k) > r.at);
  }

  /** Adds the states of crash point k to `into`: whether any selected work was unsynced, and how many combinations it had. */
  statesAt(k: number, into: Map<string, CrashState>): { unsynced: boolean; combinations: number } {
    const issued = this.ops.slice(0, k);
    // What an operation of another path needs persists with it: that path is synchronous here.
    const forced = new Set(issued.filter((r) => isEntry(r.op) && !this.selected(r)).flatMap((r) => this.entryDeps.get(r.at) ?? []));
    const volatile = issued.filter((r) => isEntry(r.op) && this.selected(r) && !forced.has(r.at) && !this.entryDurable(r, k));
    const subsets = this.closedSubsets(volatile, k);
    let unsynced = volatile.length > 0;
    let combinations = 0;
    for (const subset of subsets) {
      const tree = this.pre.clone();
      for (const r of issued) {
        if (!isEntry(r.op) || (volatile.includes(r) && !subset.has(r.at))) continue;
        // Inside a directory whose creation did not persist, nothing did.
        if (dirsOf(r.op).some((dir) => !tree.nodes.has(dir))) continue;
        tree.apply(r.op);
      }
      const lostEntries = volatile.filter((r) => !subset.has(r.at)).map((r) => `#${r.at} ${r.call}`);
      const inodes = this.inodeChoices(tree, k);
      if (inodes.some((c) => c.length > 1)) unsynced = true;
      for (const combination of product(inodes, this.options.maxCombinations, k)) {
        combinations++;
        const state = tree.clone();
        for (const apply of combination) apply.value(state);
        const digest = state.digest();
        if (into.has(digest)) continue;
        const lost = [...lostEntries, ...combination.map((c) => c.lost).filter((l) => l !== "")];
        const where = k === 0 ? "crash before the first operation" : `crash after #${k - 1} ${this.ops[k - 1]!.call}`;
        into.set(digest, { tree: state, digest, after: k, description: `${where}; ${lost.length === 0 ? "everything issued persisted" : `not persisted: ${lost.join("; ")}`}` });
      }
    }
    return { unsynced, combinations };
  }

  /** Subsets of the volatile name operations that hold every dependency they need. */
  private closedSubsets(volatile: RecordedOp[], k: number): Array<Set<number>> {
    const found: Array<Set<number>> = [];
    const inVolatile = new Set(volatile.map((r) => r.at));
    const walk = (i: number, taken: Set<number>): void => {
      if (found.length > this.options.maxCombinations) {
        throw new ModelError(`crash point ${k}: more than ${this.options.maxCombinations} subsets of ${volatile.length} unsynced name operations; raise maxCombinations`);
      }
      if (i === volatile.length) {
        found.push(new Set(taken));
        return;
      }
      const r = volatile[i]!;
      walk(i + 1, taken);
      if ((this.entryDeps.get(r.at) ?? []).every((dep) => !inVolatile.has(dep) || taken.has(dep))) {
        taken.add(r.at);
        walk(i + 1, taken);
        taken.delete(r.at);
      }
    };
    walk(0, new Set());
    return found;
  }

  /** For every reachable inode with data or attribute changes before k: how it may look. */
  private inodeChoices(tree: FsTree, k: number): Array<Array<Choice<(t: FsTree) => void>>> {
    const reachable = new Set(tree.walk().map((e) => e.id));
    const touched = new Set<number>();
    for (const r of this.ops.slice(0, k)) if (r.op.kind === "write" || r.op.kind === "truncate" || r.op.kind === "attr") touched.add(r.op.node);
    const choices: Array<Array<Choice<(t: FsTree) => void>>> = [];
    for (const node of touched) {
      if (!reachable.has(node)) continue;
      const name = tree.walk().find((e) => e.id === node)!.path;
      const data = this.dataChoices(node, k).map((c) => ({ value: (t: FsTree) => t.setData(node, c.value), lost: c.lost && `${name}: ${c.lost}` }));
      const attrs = this.attrChoices(node, k).map((c) => ({ value: (t: FsTree) => t.setAttrs(node, c.value), lost: c.lost && `${name}: ${c.lost}` }));
      choices.push(data, attrs);
    }
    return choices;
  }

  private baseNode(node: number): { data: Buffer; attrs: Attrs; kind: NodeKind } {
    const before = this.pre.nodes.get(node);
    if (before !== undefined) return { data: before.data, attrs: { mode: before.mode, uid: before.uid, gid: before.gid }, kind: before.kind };
    const created = this.ops.find((r) => r.op.kind === "create" && r.op.node === node)?.op as Extract<Op, { kind: "create" }> | undefined;
    if (created === undefined) throw new ModelError(`inode ${node} appears without being created`);
    return { data: Buffer.alloc(0), attrs: created.attrs, kind: created.type };
  }

  private dataChoices(node: number, k: number): Array<Choice<Buffer>> {
    const barrier = this.lastBarrier(node, k);
    const mine = this.ops.slice(0, k).filter((r) => (r.op.kind === "write" || r.op.kind === "truncate") && r.op.node === node);
    let durable = this.baseNode(node).data;
    for (const r of mine) if (r.at < barrier) durable = applyData(durable, r.op as DataOp);
    const pending = mine.filter((r) => r.at > barrier);
    let current = durable;
    let low = durable.length;
    for (const r of pending) {
      current = applyData(current, r.op as DataOp);
      low = Math.min(low, current.length);
    }
    if (pending.length === 0 || !pending.some((r) => this.selected(r))) return [{ value: current, lost: "" }];
    if (!current.subarray(0, low).equals(durable.subarray(0, low))) {
      throw new ModelError(`#${pending[0]!.at} ${pending[0]!.call}: an unsynced overwrite in place is not modeled (only appends)`);
    }
    const cuts = new Set([low, current.length]);
    for (let b = Math.ceil((low + 1) / this.options.blockSize) * this.options.blockSize; b < current.length; b += this.options.blockSize) cuts.add(b);
    const choices: Array<Choice<Buffer>> = [{ value: current, lost: "" }];
    if (!durable.equals(current)) choices.push({ value: durable, lost: `none of its unsynced data (${current.length} bytes written)` });
    for (const cut of [...cuts].sort((x, y) => x - y)) {
      if (cut === current.length || current.subarray(0, cut).equals(durable)) continue;
      choices.push({ value: current.subarray(0, cut), lost: `data cut at ${cut} of ${current.length} bytes` });
    }
    return choices;
  }

  private attrChoices(node: number, k: number): Array<Choice<Attrs>> {
    const barrier = this.lastBarrier(node, k);
    const mine = this.ops.slice(0, k).filter((r) => r.op.kind === "attr" && r.op.node === node);
    const { attrs: base, kind } = this.baseNode(node);
    let attrs = base;
    for (const r of mine) if (r.at < barrier) attrs = applyAttr({ ...attrs, kind }, r.op as AttrOp);
    const pending = mine.filter((r) => r.at > barrier);
    const prefixes: Attrs[] = [attrs];
    for (const r of pending) prefixes.push((attrs = applyAttr({ ...attrs, kind }, r.op as AttrOp)));
    if (!pending.some((r) => this.selected(r))) return [{ value: prefixes.at(-1)!, lost: "" }];
    return prefixes.reverse().map((value, i) => ({ value, lost: i === 0 ? "" : `${i} of ${pending.length} mode/owner changes lost (${describeAttrs(value)})` }));
  }
}

function describeAttrs(a: Attrs): string {
  return `${a.mode.toString(8).padStart(4, "0")} ${a.uid}:${a.gid}`;
}

function isEntry(op: Op): op is EntryOp {
  return op.kind === "create" || op.kind === "link" || op.kind === "rename" || op.kind === "remove";
}

function keysOf(op: EntryOp): string[] {
  if (op.kind === "rename") return [`${op.fromDir}/${op.fromName}`, `${op.toDir}/${op.toName}`];
  return [`${op.dir}/${op.name}`];
}

function dirsOf(op: EntryOp): number[] {
  return op.kind === "rename" ? [op.fromDir, op.toDir] : [op.dir];
}

/** Every combination taking one choice from each list; refuses more than `limit`. */
function product<T>(lists: Array<Array<Choice<T>>>, limit: number, k: number): Array<Array<Choice<T>>> {
  let combinations: Array<Array<Choice<T>>> = [[]];
  for (const list of lists) {
    combinations = combinations.flatMap((partial) => list.map((choice) => [...partial, choice]));
    if (combinations.length > limit) throw new ModelError(`crash point ${k}: more than ${limit} combinations of unsynced file contents; raise maxCombinations`);
  }
  return combinations;
}
