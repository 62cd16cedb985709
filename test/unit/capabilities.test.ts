import { describe, expect, it } from "vitest";
import { decodeCapabilityMask, parseStatusCapabilities, presentIn } from "../../supervisor/shared/capabilities.js";
import { reexecArgv } from "../../supervisor/boot/capability-drop.js";

describe("capability masks", () => {
  it("decodes Docker's default bounding set", () => {
    // chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service net_raw
    // sys_chroot mknod audit_write setfcap
    const caps = decodeCapabilityMask("00000000a80425fb");
    expect([...caps].sort()).toEqual(
      ["audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod", "net_bind_service", "net_raw",
        "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"].sort(),
    );
  });

  it("reads the effective, permitted and bounding sets of a status text", () => {
    const status = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000001\nCapEff:\t0000000000000000\nCapBnd:\t0000000000200000\n";
    const sets = parseStatusCapabilities(status);
    expect([...sets.permitted]).toEqual(["chown"]);
    expect([...sets.effective]).toEqual([]);
    expect([...sets.bounding]).toEqual(["sys_admin"]);
  });

  it("lists which wanted capabilities are present, in the wanted order", () => {
    expect(presentIn(new Set(["kill", "sys_admin", "chown"]), ["sys_admin", "net_raw", "chown"])).toEqual(["sys_admin", "chown"]);
  });

  it("re-executes itself through setpriv with the drops, keeping its arguments", () => {
    expect(reexecArgv("/usr/bin/setpriv", ["sys_admin", "net_raw"], "/usr/local/bin/supervisor", ["boot", "--", "id"])).toEqual([
      "/usr/bin/setpriv", "--bounding-set=-sys_admin,-net_raw", "--", "/usr/local/bin/supervisor", "boot", "--", "id",
    ]);
  });
});
