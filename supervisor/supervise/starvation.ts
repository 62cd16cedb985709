// Did a probe get to run? A probe that timed out while PID 1 or the gateway waited for a CPU
// says nothing about the gateway (docs/gateway-states.md "A probe that cannot run"): 600 busy
// loops of the sandbox user in a 1-CPU container are not the gateway going deaf. Each
// thread's time spent waiting on a run queue is in /proc/<pid>/schedstat (the second field,
// in nanoseconds; readable for any process); what the main threads of PID 1 and of the
// gateway waited during the probe decides.
import { readProcText } from "../shared/proc-read.js";

/** The main thread's run-queue wait so far, in ms, or undefined when the kernel does not say. */
export function runQueueWaitMs(pid: number | "self", procDir = "/proc"): number | undefined {
  try {
    const fields = readProcText(`${procDir}/${pid}/schedstat`).trim().split(/\s+/);
    const ns = Number(fields[1]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Pure: why a probe of `timeoutMs` was starved, given how long each side waited for a CPU meanwhile. */
export function starvedBecause(waitedMs: { pid1?: number; gateway?: number }, timeoutMs: number): string | undefined {
  const limit = timeoutMs / 2;
  const parts: string[] = [];
  if (waitedMs.pid1 !== undefined && waitedMs.pid1 >= limit) parts.push(`PID 1 waited ${Math.round(waitedMs.pid1)} ms`);
  if (waitedMs.gateway !== undefined && waitedMs.gateway >= limit) parts.push(`the gateway waited ${Math.round(waitedMs.gateway)} ms`);
  return parts.length === 0 ? undefined : `${parts.join(" and ")} for a CPU during a probe of ${timeoutMs} ms`;
}

/** Run-queue waits at the start of a probe, to compare with at its end. */
export class StarvationWitness {
  private readonly start: { pid1?: number; gateway?: number };

  constructor(private readonly gatewayPid: number) {
    this.start = { pid1: runQueueWaitMs("self"), gateway: runQueueWaitMs(gatewayPid) };
  }

  /** Why the probe just made could not be fair, or undefined. */
  verdict(timeoutMs: number): string | undefined {
    const since = (then: number | undefined, now: number | undefined): number | undefined => (then === undefined || now === undefined ? undefined : now - then);
    return starvedBecause(
      { pid1: since(this.start.pid1, runQueueWaitMs("self")), gateway: since(this.start.gateway, runQueueWaitMs(this.gatewayPid)) },
      timeoutMs,
    );
  }
}
