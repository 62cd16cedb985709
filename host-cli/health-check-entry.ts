// A fleet at a glance: `status --all` reads each sandbox's state from the engine's last run
// of the image's HEALTHCHECK (`supervisor health`), which the one `inspect` of the listing
// already returned, instead of an exec per container. Execs are what a dense host cannot
// afford: measured with 200 sandboxes on 2 vCPUs, the engine's own health checks kept the
// load near 120 and an exec took seconds. So a check is used whatever its age within this
// start of the container (engine.ts drops an earlier start's), up to MAX_CHECK_AGE_MS, and
// the row says how old it is; only a container without such a check, or whose output is not
// the supervisor's own line, is asked by exec (`--full` asks every one). Pure.
import type { HealthCheck } from "./engine.js";
import type { StatusEntry } from "./status-table.js";

/** Older than this, the engine has stopped running checks: the container is asked instead. */
export const MAX_CHECK_AGE_MS = 300_000;
/** A check this far in the future is a clock gone wrong, not a check. */
const CLOCK_SKEW_MS = 30_000;

/** The entry the last health check gives, or undefined when the container must be asked. */
export function entryFromCheck(container: string, id: string, check: HealthCheck | null, now: number): StatusEntry | undefined {
  if (check === null || now - check.endedAt > MAX_CHECK_AGE_MS || check.endedAt - now > CLOCK_SKEW_MS) return undefined;
  const seen = { source: "health-check", checkedAt: new Date(check.endedAt).toISOString() };
  const ago = `health check ${Math.max(0, Math.round((now - check.endedAt) / 1000))}s ago`;
  const healthy = /^(?:healthy|ready): gateway pid (\d+)$/.exec(check.output);
  if (check.exitCode === 0 && healthy) {
    return { container, id, ok: true, report: { state: "healthy", gateway: { pid: Number(healthy[1]) }, detail: ago, ...seen } };
  }
  const notReady = /^healthy but not ready: gateway pid (\d+), readiness (.+)$/.exec(check.output);
  if (check.exitCode === 1 && notReady) {
    return { container, id, ok: true, report: { state: "healthy", gateway: { pid: Number(notReady[1]) }, detail: `not ready: ${notReady[2]}; ${ago}`, ...seen } };
  }
  const not = /^not healthy: ([a-z-]+)(?:: (.*))?$/.exec(check.output);
  if (check.exitCode === 1 && not) {
    return { container, id, ok: true, report: { state: not[1], gateway: null, detail: not[2] ? `${not[2]}; ${ago}` : ago, ...seen } };
  }
  return undefined;
}
