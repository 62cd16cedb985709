// Is a booting gateway making progress (docs/gateway-states.md "Slow gateways")? Its
// process tree's CPU time: /proc/<pid>/stat fields 14 and 15 are readable for any process,
// so PID 1 needs no privilege for them. A gateway that computes (compiles, migrates, loads
// plugins) is slow, not stuck; one that sleeps without listening is stuck. The scan is
// bounded: one stat read per process, at most MAX_PROCESSES of them.
import { readdirSync, readFileSync } from "node:fs";
import { descendantsOf } from "./process-tree.js";
import { parseStat, type StatFields } from "./identity.js";

const MAX_PROCESSES = 4096;
/** CPU time per second of wall time that counts as progress: well above an idle Node process. */
export const PROGRESS_CPU_SHARE = 0.02;
const TICKS_PER_SECOND = 100;
/** Samples closer together than this say little (a tick is 10 ms) and cost a /proc scan each. */
const MIN_SAMPLE_MS = 1000;

/** Pure: the CPU ticks of rootPid (if it still has rootStartTime) and its descendants. */
export function treeCpuTicks(processes: readonly StatFields[], rootPid: number, rootStartTime: number): number | undefined {
  const root = processes.find((p) => p.pid === rootPid);
  if (root === undefined || root.startTime !== rootStartTime) return undefined;
  return [root, ...descendantsOf(rootPid, processes)].reduce((sum, p) => sum + p.utime + p.stime, 0);
}

/** Pure: whether `ticks` CPU ticks over `elapsedMs` of wall time count as progress. */
export function isProgress(ticks: number, elapsedMs: number): boolean {
  return elapsedMs > 0 && ticks / TICKS_PER_SECOND >= (PROGRESS_CPU_SHARE * elapsedMs) / 1000;
}

/** Every process's stat line, at most MAX_PROCESSES; entries that vanish are skipped. */
export function readStats(procDir = "/proc"): StatFields[] {
  const stats: StatFields[] = [];
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    if (stats.length >= MAX_PROCESSES) break;
    try {
      stats.push(parseStat(readFileSync(`${procDir}/${name}/stat`, "latin1")));
    } catch {
      // Gone in between, or unparseable (qemu-user): it adds nothing.
    }
  }
  return stats;
}

/** Samples one gateway's tree over time; says when its CPU time grew enough since the last sample. */
export class ProgressMeter {
  private last: { at: number; ticks: number } | undefined;

  constructor(
    private readonly rootPid: number,
    private readonly rootStartTime: number,
  ) {}

  /** A description of the progress since the previous sample, or undefined. */
  sample(now: number, processes?: readonly StatFields[]): string | undefined {
    if (this.last !== undefined && now - this.last.at < MIN_SAMPLE_MS) return undefined;
    const ticks = treeCpuTicks(processes ?? readStats(), this.rootPid, this.rootStartTime);
    if (ticks === undefined) return undefined;
    const previous = this.last;
    this.last = { at: now, ticks };
    if (previous === undefined) return undefined;
    const used = ticks - previous.ticks;
    return isProgress(used, now - previous.at) ? `${used * (1000 / TICKS_PER_SECOND)} ms of CPU time in ${now - previous.at} ms` : undefined;
  }
}
