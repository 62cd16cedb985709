// Records one real boot: the state directory before it, the strace log of the run turned
// into logical operations, and the directory after it. The operations must explain the
// whole change: replayed on the "before" tree they must give the "after" tree byte for
// byte, mode for mode, or the recording is refused (a call the parser missed or misread
// would otherwise make every crash state after it wrong without a word).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Posture } from "../../supervisor/shared/settings.js";
import type { FsTree } from "./fs-tree.js";
import { bootOn, lastLogLine, type BootRun, type Program } from "./pid1-boot.js";
import type { Base } from "./scratch-root.js";
import { parseStraceLog } from "./strace-log.js";
import { traceToOps, type RecordedOp } from "./trace-to-ops.js";
import { snapshot } from "./tree-io.js";

export interface Recording {
  pre: FsTree;
  /** The replayed tree after every operation (equal to the disk, with the operations' inode ids). */
  final: FsTree;
  ops: RecordedOp[];
  run: BootRun;
}

export class RecordingError extends Error {}

export async function recordBoot(base: Base, stateDir: string, program: Program, posture: Posture): Promise<Recording> {
  const pre = snapshot(stateDir);
  const log = join(base.dir, `strace-${program.name}-${Date.now()}.log`);
  try {
    const run = await bootOn(base, stateDir, program, { posture, straceLog: log, timeoutMs: 120_000 });
    if (run.status !== 0) throw new RecordingError(`the recorded boot of ${program.name} exited with ${run.status}: ${lastLogLine(run)}`);
    const calls = parseStraceLog(readFileSync(log, "utf8"), base.root);
    const { ops, final } = traceToOps(calls, { rootPath: base.root, pre, umask: 0o022, cwd: "/", uid: 0, gid: 0 });
    const post = snapshot(stateDir);
    const difference = final.difference(post);
    if (difference !== undefined) {
      throw new RecordingError(`the recorded calls of ${program.name} do not explain what its boot left (model / disk): ${difference}`);
    }
    return { pre, final, ops, run };
  } finally {
    rmSync(log, { force: true });
  }
}
