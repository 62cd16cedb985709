import { describe, expect, it } from "vitest";
import { preflight, ROOT_MODE_NEEDS } from "../../supervisor/boot/capability-preflight.js";

describe("root mode capability preflight", () => {
  it("passes Docker's default set and the documented minimum", () => {
    const dockerDefault = ["chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap"];
    expect(preflight(new Set(dockerDefault))).toEqual({ ok: true });
    expect(preflight(new Set(["setuid", "setgid", "chown", "fowner", "kill", "setpcap"]))).toEqual({ ok: true });
  });

  it("names every need and what is missing, with the fix, in one line", () => {
    const outcome = preflight(new Set(["setuid", "setgid", "chown"]));
    expect(outcome).toEqual({
      ok: false,
      message: "capabilities: root mode needs SETUID SETGID CHOWN FOWNER KILL; missing FOWNER KILL (docker run --cap-add FOWNER --cap-add KILL, or run as a non-root user)",
    });
    const none = preflight(new Set());
    expect(none.ok).toBe(false);
    if (!none.ok) for (const cap of Object.keys(ROOT_MODE_NEEDS)) expect(none.message).toContain(`--cap-add ${cap.toUpperCase()}`);
  });
});
