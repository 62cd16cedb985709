// Is a gateway that is not healthy making progress (docs/gateway-states.md "Slow gateways")?
// Its process tree's CPU time: /proc/<pid>/stat fields 14 and 15 are readable for any process,
// so PID 1 needs no privilege for them. A gateway that computes (compiles, migrates, loads
// plugins, restarts in process) is slow, not stuck; one that sleeps without listening is stuck.
//
// Only the gateway's own tree is read, from its root down through each thread's `children`
// file (/proc/<pid>/task/<tid>/children), never a scan of all of /proc: thousands of other
// processes of the sandbox user cannot push the gateway out of view (docs/threat-model.md).
// The walk is bounded; one cut short can only prove progress, never disprove it.
import { readdirSync } from "node:fs";
import { readProcText } from "../shared/proc-read.js";
import { parseStat, type StatFields } from "./identity.js";

/** The most processes of one gateway tree read per sample. */
export const MAX_TREE_PROCESSES = 4096;
/** The most threads of one process whose children are read. */
const MAX_TASKS = 1024;
/** A children file is pids separated by spaces: 64 KiB is over 9,000 of them. */
const MAX_CHILDREN_BYTES = 64 * 1024;
/** CPU time per second of wall time that counts as progress: well above an idle Node process. */
export const PROGRESS_CPU_SHARE = 0.02;
const TICKS_PER_SECOND = 100;
/** Samples closer together than this say little (a tick is 10 ms). */
const MIN_SAMPLE_MS = 1000;

export interface TreeSample {
  processes: StatFields[];
  /** False when the walk stopped at a bound: processes beyond it are not in the sample. */
  complete: boolean;
}

/** Pure: whether `ticks` CPU ticks over `elapsedMs` of wall time count as progress. */
export function isProgress(ticks: number, elapsedMs: number): boolean {
  return elapsedMs > 0 && ticks / TICKS_PER_SECOND >= (PROGRESS_CPU_SHARE * elapsedMs) / 1000;
}

const keyOf = (p: StatFields): string => `${p.pid}:${p.startTime}`;

/**
 * Pure: CPU ticks the tree used since `before` (ticks by process key). A process seen for the
 * first time counts whole (it started since), one that exited counts nothing more: an exit
 * never hides what the others did.
 */
export function ticksUsedSince(before: ReadonlyMap<string, number>, now: readonly StatFields[]): number {
  let used = 0;
  for (const p of now) used += Math.max(0, p.utime + p.stime - (before.get(keyOf(p)) ?? 0));
  return used;
}

function statOf(procDir: string, pid: number): StatFields | undefined {
  try {
    return parseStat(readProcText(`${procDir}/${pid}/stat`));
  } catch {
    // Gone in between, or unparseable (qemu-user): it adds nothing.
    return undefined;
  }
}

/** The direct children of `pid`, from its threads' children files. */
function childrenOf(procDir: string, pid: number): { pids: number[]; complete: boolean } {
  let tasks: string[];
  try {
    tasks = readdirSync(`${procDir}/${pid}/task`);
  } catch {
    return { pids: [], complete: true };
  }
  const pids: number[] = [];
  for (const tid of tasks.slice(0, MAX_TASKS)) {
    try {
      for (const word of readProcText(`${procDir}/${pid}/task/${tid}/children`, MAX_CHILDREN_BYTES).split(" ")) {
        if (/^\d+$/.test(word)) pids.push(Number(word));
      }
    } catch {
      // The thread ended in between.
    }
  }
  return { pids, complete: tasks.length <= MAX_TASKS };
}

/** The tree of `rootPid` (if it still has `rootStartTime`), breadth first, bounded. */
export function readTree(rootPid: number, rootStartTime: number, procDir = "/proc"): TreeSample | undefined {
  const root = statOf(procDir, rootPid);
  if (root === undefined || root.startTime !== rootStartTime) return undefined;
  const processes = [root];
  let complete = true;
  for (let i = 0; i < processes.length; i++) {
    const { pids, complete: allTasks } = childrenOf(procDir, processes[i]!.pid);
    complete &&= allTasks;
    for (const pid of pids) {
      if (processes.length >= MAX_TREE_PROCESSES) return { processes, complete: false };
      const child = statOf(procDir, pid);
      if (child !== undefined) processes.push(child);
    }
  }
  return { processes, complete };
}

/** Samples one gateway's tree over time; says when its CPU time grew enough since the last sample. */
export class ProgressMeter {
  private last: { at: number; ticks: Map<string, number> } | undefined;

  constructor(
    private readonly rootPid: number,
    private readonly rootStartTime: number,
    private readonly procDir = "/proc",
  ) {}

  /** The progress since the previous sample (what, and when that sample was), or undefined. */
  sample(now: number, tree?: TreeSample, always = false): { what: string; since: number } | undefined {
    if (this.last !== undefined && now - this.last.at < (always ? 1 : MIN_SAMPLE_MS)) return undefined;
    const sampled = tree ?? readTree(this.rootPid, this.rootStartTime, this.procDir);
    if (sampled === undefined) return undefined;
    const previous = this.last;
    this.last = { at: now, ticks: new Map(sampled.processes.map((p) => [keyOf(p), p.utime + p.stime])) };
    if (previous === undefined) return undefined;
    const used = ticksUsedSince(previous.ticks, sampled.processes);
    if (!isProgress(used, now - previous.at)) return undefined;
    return { what: `${used * (1000 / TICKS_PER_SECOND)} ms of CPU time in ${now - previous.at} ms`, since: previous.at };
  }
}
