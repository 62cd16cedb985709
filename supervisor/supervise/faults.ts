// Fault injection for tests: throws inside one of the supervisor's handlers, to prove that
// no failure there can end PID 1 (each handler is contained: one log line, a true state).
// Reachable only in tests: only the test bundle (dist/supervisor-faults.cjs) is built with
// __SUPERVISOR_FAULTS__ true; in the release executables, and wherever it is not defined,
// SUPERVISOR_FAULTS does nothing.
//
//   SUPERVISOR_FAULTS=probe,reaped:2     comma-separated points; ":N" fires only N times

export type FaultPoint = "probe" | "reaped" | "request" | "signal" | "status" | "timer" | "stop";

const ENABLED = typeof __SUPERVISOR_FAULTS__ === "boolean" && __SUPERVISOR_FAULTS__;

let armed: Map<string, number> | undefined;

function faults(): Map<string, number> {
  if (armed !== undefined) return armed;
  armed = new Map();
  if (!ENABLED) return armed;
  for (const entry of (process.env.SUPERVISOR_FAULTS ?? "").split(",")) {
    const [point, times] = entry.trim().split(":");
    if (point) armed.set(point, times === undefined ? Infinity : Number(times));
  }
  return armed;
}

/** Throws "injected fault in <point>" when the test asked for it. */
export function injectFault(point: FaultPoint): void {
  const left = faults().get(point);
  if (left === undefined || left <= 0) return;
  faults().set(point, left - 1);
  throw new Error(`injected fault in ${point}`);
}
