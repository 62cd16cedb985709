// Real processes for the supervision tests, and a way to wait for what /proc shows.
import { type ChildProcess, spawn } from "node:child_process";

export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned child whose exit (reaped by Node) can be awaited at any time. */
export function start(file: string, args: string[], options: Parameters<typeof spawn>[2] = {}): { child: ChildProcess; pid: number; exited: Promise<Exit> } {
  const child = spawn(file, args, { stdio: "ignore", ...options });
  const exited = new Promise<Exit>((done) => child.on("exit", (code, signal) => done({ code, signal })));
  if (child.pid === undefined) throw new Error(`cannot start ${file}`);
  return { child, pid: child.pid, exited };
}

/** True iff `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}
