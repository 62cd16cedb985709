// What is left of the gateway when it is stopped (docs/gateway-states.md "Stopping a gateway"): its process tree, its
// process group, and strays of its uid that escaped both (double fork + setsid). Read
// straight from /proc, without `ps`; every target is an identity for signalProven, so a
// pid recycled between the scan and the signal is never hit.
import { readdirSync } from "node:fs";
import type { ProcessIdentity } from "./identity.js";
import { readProcess } from "./identity.js";

export type ProcessInfo = ProcessIdentity & { comm: string; state: string; ppid: number; pgrp: number };

/**
 * Every process in /proc (zombies included); entries that vanish mid-scan are skipped, and
 * so are entries that cannot be parsed (qemu-user fakes the emulated process's own stat):
 * a process that cannot be identified can never be a signal target.
 */
export function listProcesses(procDir = "/proc"): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    let entry;
    try {
      entry = readProcess(Number(name), procDir);
    } catch {
      continue;
    }
    if (entry === undefined) continue;
    const { pid, startTime, uid, comm, state, ppid, pgrp } = entry;
    processes.push({ pid, startTime, uid, comm, state, ppid, pgrp });
  }
  return processes;
}

/** Children, grandchildren, ... of rootPid (not rootPid itself), as the ppid links show now. */
export function descendantsOf<P extends { pid: number; ppid: number }>(rootPid: number, processes: readonly P[]): P[] {
  const children = new Map<number, P[]>();
  for (const p of processes) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p);
    else children.set(p.ppid, [p]);
  }
  const found: P[] = [];
  const seen = new Set<number>([rootPid]);
  const queue = [rootPid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export interface StraySearch {
  processes: readonly ProcessInfo[];
  /** The gateway as launched: its pid and start time. */
  rootPid: number;
  rootStartTime: number;
  /** The gateway's process group (its pid: it was started as a group leader). */
  pgrp?: number;
  /**
   * Every process of this uid is a target. Only for a uid that runs nothing but the
   * gateway (root mode's `gateway` user); never 0, never the supervisor's own uid.
   */
  uid?: number;
  /** Never targets, e.g. PID 1 and the supervisor itself. */
  excludePids?: readonly number[];
}

export type StrayTarget = ProcessIdentity & { comm: string; reason: "tree" | "group" | "uid" };

/**
 * Live (non-zombie) processes to SIGKILL: the gateway and its descendants, members of its
 * process group, and processes of its uid; deduplicated, sorted by pid.
 * A recycled root pid must not pull in a stranger: when another process holds rootPid,
 * neither its tree nor a group of that number is the gateway's (the kernel never hands
 * out a pid that is still some group's id, so that group was formed after the gateway's
 * ended). When rootPid is free, a group of that number is the gateway's, leader gone.
 */
export function strayTargets(search: StraySearch): StrayTarget[] {
  const { processes, rootPid, rootStartTime, pgrp, uid } = search;
  if (uid === 0) throw new Error("refusing to target every process of uid 0: the stray rule needs the gateway's own uid");
  const excluded = new Set(search.excludePids ?? []);
  const targets = new Map<number, StrayTarget>();
  const add = (p: ProcessInfo, reason: StrayTarget["reason"]): void => {
    if (excluded.has(p.pid) || targets.has(p.pid) || p.state === "Z" || p.state === "X") return;
    targets.set(p.pid, { pid: p.pid, startTime: p.startTime, uid: p.uid, comm: p.comm, reason });
  };
  const root = processes.find((p) => p.pid === rootPid);
  const recycled = root !== undefined && root.startTime !== rootStartTime;
  if (root !== undefined && !recycled) {
    add(root, "tree");
    for (const p of descendantsOf(rootPid, processes)) add(p, "tree");
  }
  if (pgrp !== undefined && !recycled) {
    for (const p of processes) if (p.pgrp === pgrp) add(p, "group");
  }
  if (uid !== undefined) {
    for (const p of processes) if (p.uid === uid) add(p, "uid");
  }
  return [...targets.values()].sort((a, b) => a.pid - b.pid);
}
