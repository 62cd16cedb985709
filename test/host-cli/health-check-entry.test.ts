// `status --all` reads a sandbox's state from the engine's last health check when it is at
// most 5 minutes old and is the supervisor's own `health` line; anything else means asking by exec.
import { describe, expect, it } from "vitest";
import { entryFromCheck, MAX_CHECK_AGE_MS } from "../../host-cli/health-check-entry.js";

const NOW = Date.parse("2026-12-04T21:30:00Z");
const check = (output: string, exitCode: number, agoMs = 4000) => [{ endedAt: NOW - agoMs, exitCode, output }];

describe("an entry from the engine's health check", () => {
  it("reads healthy, not ready and not healthy lines, with the check's age", () => {
    expect(entryFromCheck("a", "id", check("healthy: gateway pid 9", 0), NOW)).toEqual({
      container: "a",
      id: "id",
      ok: true,
      report: { state: "healthy", gateway: { pid: 9 }, detail: "health check 4s ago", source: "health-check", checkedAt: "2026-12-04T21:29:56.000Z" },
    });
    expect(entryFromCheck("a", "id", check("healthy but not ready: gateway pid 9, readiness not ready (draining)", 1), NOW)!).toMatchObject({
      report: { state: "healthy", gateway: { pid: 9 }, detail: "not ready: not ready (draining); health check 4s ago" },
    });
    expect(entryFromCheck("a", "id", check("not healthy: quarantined: 5 crashes within 300s", 1), NOW)).toMatchObject({
      report: { state: "quarantined", gateway: null, detail: "5 crashes within 300s; health check 4s ago" },
    });
    expect(entryFromCheck("a", "id", check("not healthy: stopped", 1), NOW)).toMatchObject({ report: { state: "stopped", detail: "health check 4s ago" } });
    // A check delayed by a loaded host still stands, its age shown.
    expect(entryFromCheck("a", "id", check("healthy: gateway pid 9", 0, 95_000), NOW)).toMatchObject({ report: { state: "healthy", detail: "health check 95s ago" } });
  });

  it("leaves to an exec a check over 5 minutes old or from the future, no check, and any output that is not the supervisor's line", () => {
    expect(entryFromCheck("a", "id", check("healthy: gateway pid 9", 0, MAX_CHECK_AGE_MS + 1), NOW)).toBeUndefined();
    expect(entryFromCheck("a", "id", check("healthy: gateway pid 9", 0, -30_001), NOW)).toBeUndefined();
    expect(entryFromCheck("a", "id", [], NOW)).toBeUndefined();
    expect(entryFromCheck("a", "id", check("health failed (unavailable): no answer", 4), NOW)).toBeUndefined();
    expect(entryFromCheck("a", "id", check("healthy: gateway pid 9", 1), NOW)).toBeUndefined();
    expect(entryFromCheck("a", "id", check("OCI runtime exec failed", 126), NOW)).toBeUndefined();
  });

  it("passes over checks that gave no answer of the supervisor's for the newest that did, and says so", () => {
    const timedOut = { endedAt: NOW - 2000, exitCode: -1, output: "Health check exceeded timeout (5s)" };
    const failed = { endedAt: NOW - 12_000, exitCode: 4, output: "health failed (unavailable): no answer" };
    const answered = { endedAt: NOW - 40_000, exitCode: 0, output: "healthy: gateway pid 9" };
    expect(entryFromCheck("a", "id", [timedOut, failed, answered], NOW)).toMatchObject({
      report: { state: "healthy", gateway: { pid: 9 }, detail: "health check 40s ago; 2 later check(s) gave no answer", checkedAt: new Date(NOW - 40_000).toISOString() },
    });
    expect(entryFromCheck("a", "id", [timedOut, failed], NOW)).toBeUndefined();
  });
});
