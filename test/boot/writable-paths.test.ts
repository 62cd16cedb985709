import { describe, expect, it } from "vitest";
import { unwritable, writablePaths, type Access } from "../../supervisor/boot/writable-paths.js";
import { DEFAULTS } from "../../supervisor/shared/settings.js";

/** A file system where `readOnly` paths (and everything below them) refuse writes. */
function fakeAccess(existing: string[], readOnly: string[]): Access {
  return (path) => {
    if (!existing.includes(path)) return "missing";
    return readOnly.some((ro) => path === ro || path.startsWith(`${ro === "/" ? "" : ro}/`)) ? "read-only" : "ok";
  };
}

describe("writable paths at boot", () => {
  it("lists the config and state only in root mode", () => {
    expect(writablePaths(DEFAULTS, true).map((p) => p.path)).toEqual(["/tmp", "/run/supervisor", "/run/supervisor-gateway", "/var/lib/sandbox-supervisor", "/sandbox/.openclaw"]);
    const nonRoot = { ...DEFAULTS, runDir: "/tmp/supervisor-1000", gatewayConfigDir: "/tmp/supervisor-1000/gateway" };
    expect(writablePaths(nonRoot, false).map((p) => p.path)).toEqual(["/tmp", "/tmp/supervisor-1000", "/tmp/supervisor-1000/gateway"]);
  });

  it("names the first read-only one with the mount that fixes it, judging a missing path by its parent", () => {
    const existing = ["/", "/tmp", "/run", "/var", "/var/lib", "/sandbox", "/sandbox/.openclaw"];
    const readOnlyRoot = fakeAccess(existing, ["/"]);
    expect(unwritable(writablePaths(DEFAULTS, true), readOnlyRoot)).toBe(
      "read-only file system: /tmp (staged guards and the token file) must be writable; mount a tmpfs or volume there (docker run --tmpfs /tmp)",
    );
    const withTmpAndRun: Access = (path) => (path === "/tmp" || path === "/run" ? "ok" : readOnlyRoot(path));
    expect(unwritable(writablePaths(DEFAULTS, true), withTmpAndRun)).toMatch(/^read-only file system: \/var\/lib\/sandbox-supervisor .*--tmpfs \/var\/lib\/sandbox-supervisor\)$/);
    const allButConfig: Access = (path) => (path.startsWith("/sandbox") ? "read-only" : "ok");
    expect(unwritable(writablePaths(DEFAULTS, true), allButConfig)).toMatch(/\/sandbox\/\.openclaw \(the gateway token in the config\).*a volume on \/sandbox\)$/);
    expect(unwritable(writablePaths(DEFAULTS, true), () => "ok")).toBeUndefined();
  });
});
