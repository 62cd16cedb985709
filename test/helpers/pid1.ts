// Starts the real supervisor executable as PID 1 (in a private PID namespace via
// unshare, or as a Docker container's entrypoint) and observes it from outside.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { arch } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const FIXTURES = join(ROOT, "test/fixtures");

export function supervisorBinary(targetArch = arch()): string {
  const file = resolve(process.env.SUPERVISOR_BIN ?? join(ROOT, `dist/supervisor-linux-${targetArch}`));
  if (!existsSync(file)) throw new Error(`${file} does not exist: run 'node build.mjs' first`);
  return file;
}

export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Started {
  stdout = "";
  stderr = "";
  readonly finished: Promise<Finished>;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly process: ChildProcess,
    private readonly signalPid1: (signal: NodeJS.Signals) => Promise<void>,
  ) {
    process.stdout!.on("data", (d: Buffer) => this.append("stdout", d));
    process.stderr!.on("data", (d: Buffer) => this.append("stderr", d));
    this.finished = new Promise((done) =>
      process.on("close", (status, signal) => done({ status, signal, stdout: this.stdout, stderr: this.stderr })),
    );
  }

  private append(stream: "stdout" | "stderr", data: Buffer): void {
    this[stream] += data.toString();
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once stdout matches, rejects if the process ends first or after timeoutMs. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.finished.then(() => {
      ended = true;
      for (const wake of this.waiters.splice(0)) wake();
    });
    while (!pattern.test(this.stdout)) {
      if (ended) throw new Error(`ended before ${pattern}: stdout=${this.stdout} stderr=${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: stdout=${this.stdout}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 200);
      });
    }
  }

  signal(signal: NodeJS.Signals): Promise<void> {
    return this.signalPid1(signal);
  }
}

/** Host pid of the process unshare --fork started, i.e. PID 1 of the new namespace. */
function namespaceInitPid(unsharePid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim();
    return children === "" ? undefined : Number(children.split(" ")[0]);
  } catch {
    return undefined;
  }
}

/** The supervisor as PID 1 of a fresh PID namespace, with its own /proc. */
export function startInPidNamespace(supervisorArgs: string[], options: { cwd?: string } = {}): Started {
  const child = spawn("unshare", ["--pid", "--fork", "--mount-proc", supervisorBinary(), ...supervisorArgs], {
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Started(child, async (signal) => {
    let pid: number | undefined;
    for (let i = 0; i < 100 && pid === undefined; i++) {
      pid = namespaceInitPid(child.pid!);
      if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    if (pid === undefined) throw new Error("PID 1 of the namespace not found");
    process.kill(pid, signal);
  });
}

/** The supervisor outside any namespace: not PID 1, so it must become a subreaper. */
export function startPlain(supervisorArgs: string[]): Started {
  const child = spawn(supervisorBinary(), supervisorArgs, { stdio: ["ignore", "pipe", "pipe"] });
  return new Started(child, async (signal) => {
    process.kill(child.pid!, signal);
  });
}
