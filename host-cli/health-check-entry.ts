// A fleet at a glance: `status --all` reads each sandbox's state from the engine's last run
// of the image's HEALTHCHECK (`supervisor health`), which the one `inspect` of the listing
// already returned, instead of an exec per container (about 0.1 s of engine work each, so
// 200 sandboxes took longer than the default timeout). Only a check that is recent and
// whose output is the supervisor's own line is used; any other container is asked by exec.
// Pure.
import type { HealthCheck } from "./engine.js";
import type { StatusEntry } from "./status-table.js";

/** Three of the image's 10 s intervals: older, and the container is asked instead. */
export const FRESH_CHECK_MS = 30_000;

/** The entry a recent health check gives, or undefined when the container must be asked. */
export function entryFromCheck(container: string, id: string, check: HealthCheck | null, now: number): StatusEntry | undefined {
  if (check === null || now - check.endedAt > FRESH_CHECK_MS || check.endedAt - now > FRESH_CHECK_MS) return undefined;
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
