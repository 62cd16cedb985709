// Who a process is (docs/architecture.md "Why /proc and proven identities"): pid + start time + uid, proven from /proc before
// every signal, so a recycled pid is never mistaken for the gateway.
import { readProcText } from "../shared/proc-read.js";
import { constants } from "node:os";
import type { NativeAddon } from "../shared/native.js";

/** A process as proven by /proc: a pid alone can be recycled, pid + start time cannot. */
export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22 (clock ticks after boot). */
  startTime: number;
  uid: number;
}

export interface StatFields {
  pid: number;
  comm: string;
  /** One letter: R, S, D, T, t, Z, X, I, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: clock ticks after boot. */
  startTime: number;
  /** Fields 14 and 15: CPU time in user and kernel mode, clock ticks (readable for any process). */
  utime: number;
  stime: number;
}

/**
 * Parses a /proc/<pid>/stat line. The comm (field 2) is any 1-15 bytes a process chose,
 * spaces, parentheses and newlines included, so the fields are read after the LAST ')'.
 */
export function parseStat(text: string): StatFields {
  const open = text.indexOf(" (");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`malformed /proc stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const number = (n: number): number => {
    const raw = fields[n - 3];
    if (raw === undefined || !/^-?\d+$/.test(raw)) {
      throw new Error(`malformed /proc stat line: field ${n} is ${JSON.stringify(raw)}, expected an integer`);
    }
    return Number(raw);
  };
  const state = fields[0];
  if (state === undefined || !/^[A-Za-z]$/.test(state)) throw new Error(`malformed /proc stat line: state ${JSON.stringify(state)}`);
  return {
    pid: Number.parseInt(text.slice(0, open), 10),
    comm: text.slice(open + 2, close),
    state,
    ppid: number(4),
    pgrp: number(5),
    session: number(6),
    startTime: number(22),
    utime: number(14),
    stime: number(15),
  };
}

/** The real uid: the first number of the `Uid:` line of /proc/<pid>/status. */
export function parseStatusUid(statusText: string): number {
  const match = /^Uid:\s+(\d+)/m.exec(statusText);
  if (!match) throw new Error("no Uid line in /proc status");
  return Number(match[1]);
}

export type ProcessEntry = StatFields & { uid: number };

const isGone = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException).code;
  // ENOENT: no such pid; ESRCH: reaped between open and read.
  return code === "ENOENT" || code === "ESRCH";
};

/**
 * Reads stat, status, then stat again: a pid can change hands between two reads, and the
 * uid only counts if both stat reads show the same start time (the same process held the
 * pid throughout). Zombies are included here; undefined when the pid is gone.
 */
export function readProcess(pid: number, procDir = "/proc"): ProcessEntry | undefined {
  try {
    const before = parseStat(readProcText(`${procDir}/${pid}/stat`));
    const uid = parseStatusUid(readProcText(`${procDir}/${pid}/status`));
    const after = parseStat(readProcText(`${procDir}/${pid}/stat`));
    if (after.startTime !== before.startTime) return undefined;
    return { ...after, uid };
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/**
 * The identity of a live process, or undefined if the pid is gone or a zombie: a zombie
 * has exited already, cannot be signalled, runs nothing and listens on nothing, so for
 * supervision it is not the gateway any more (its exit status is the waiter's business).
 */
export function readIdentity(pid: number, options: { procDir?: string } = {}): ProcessIdentity | undefined {
  const entry = readProcess(pid, options.procDir);
  if (entry === undefined || entry.state === "Z" || entry.state === "X") return undefined;
  return { pid: entry.pid, startTime: entry.startTime, uid: entry.uid };
}

export interface ProofOptions {
  procDir?: string;
  /**
   * Prove by pid and start time only. For the moment between spawn and the user switch
   * (setpriv still runs as root) and for stopping: the start time alone already rules out
   * a recycled pid; the uid check only adds that it runs as the expected user.
   */
  allowAnyUid?: boolean;
}

/** True iff the process is live and is still the one recorded (same start time and uid). */
export function proveIdentity(expected: ProcessIdentity, options: ProofOptions = {}): boolean {
  const now = readIdentity(expected.pid, options);
  return now !== undefined && now.startTime === expected.startTime && (options.allowAnyUid === true || now.uid === expected.uid);
}

export type SignalOutcome = "signalled" | "gone" | "mismatch";

/** What signalProven needs of the native addon (supervisor/shared/native/pidfd-signal.c). */
export type PidfdSignaller = Pick<NativeAddon, "pidfdSignal">;

const { ESRCH, EXDEV } = constants.errno;

/**
 * Re-proves the identity, then signals through the addon, which re-checks the start time
 * on a pidfd so nothing can take the pid over between proof and signal.
 * "gone": exited (or a zombie); "mismatch": the pid belongs to another process or the uid
 * changed. Throws on anything else (not permitted, unknown signal): a bug, not a state.
 */
export function signalProven(
  addon: PidfdSignaller,
  expected: ProcessIdentity,
  signal: NodeJS.Signals | number,
): SignalOutcome {
  const signo = typeof signal === "number" ? signal : constants.signals[signal];
  if (signo === undefined) throw new Error(`unknown signal ${String(signal)}`);
  const now = readIdentity(expected.pid);
  if (now === undefined) return "gone";
  if (now.startTime !== expected.startTime || now.uid !== expected.uid) return "mismatch";
  const rc = addon.pidfdSignal(expected.pid, expected.startTime, signo);
  if (rc >= 0) return "signalled";
  if (rc === -ESRCH) return "gone";
  if (rc === -EXDEV) return "mismatch";
  const name = Object.entries(constants.errno).find(([, value]) => value === -rc)?.[0] ?? `errno ${-rc}`;
  throw new Error(`cannot send signal ${signo} to pid ${expected.pid} (start time ${expected.startTime}): ${name}`);
}
