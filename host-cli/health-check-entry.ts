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

/**
 * The entry the newest usable health check gives, or undefined when the container must be
 * asked. A check that gave no answer of the supervisor's (the engine's timeout on a loaded
 * host, typically) is passed over for the one before it, and the row says so.
 */
export function entryFromCheck(container: string, id: string, checks: readonly HealthCheck[], now: number): StatusEntry | undefined {
  for (const [skipped, check] of checks.entries()) {
    if (now - check.endedAt > MAX_CHECK_AGE_MS || check.endedAt - now > CLOCK_SKEW_MS) continue;
    const later = skipped > 0 ? `; ${skipped} later check(s) gave no answer` : "";
    const report = reportOf(check, `health check ${Math.max(0, Math.round((now - check.endedAt) / 1000))}s ago${later}`);
    if (report !== undefined) return { container, id, ok: true, report: { ...report, source: "health-check", checkedAt: new Date(check.endedAt).toISOString() } };
  }
  return undefined;
}

/** Pure: what one check's output says, or undefined when it is not the supervisor's line. */
function reportOf(check: HealthCheck, ago: string): { state: string; gateway: { pid: number } | null; detail: string } | undefined {
  const healthy = /^(?:healthy|ready): gateway pid (\d+)$/.exec(check.output);
  if (check.exitCode === 0 && healthy) return { state: "healthy", gateway: { pid: Number(healthy[1]) }, detail: ago };
  const notReady = /^healthy but not ready: gateway pid (\d+), readiness (.+)$/.exec(check.output);
  if (check.exitCode === 1 && notReady) return { state: "healthy", gateway: { pid: Number(notReady[1]) }, detail: `not ready: ${notReady[2]}; ${ago}` };
  const not = /^not healthy: ([a-z-]+)(?:: (.*))?$/.exec(check.output);
  if (check.exitCode === 1 && not) return { state: not[1]!, gateway: null, detail: not[2] ? `${not[2]}; ${ago}` : ago };
  return undefined;
}
