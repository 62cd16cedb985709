import { describe, expect, it } from "vitest";
import { decodeCapabilityMask, parseStatusCapabilities, presentIn } from "../../supervisor/shared/capabilities.js";
import { keptByThread, reexecArgv } from "../../supervisor/boot/capability-drop.js";

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

  it("finds a capability a thread keeps in any of its sets, ambient included", () => {
    const status = (inh: string, prm: string, eff: string, bnd: string, amb?: string) =>
      `Name:\tnode\nCapInh:\t${inh}\nCapPrm:\t${prm}\nCapEff:\t${eff}\nCapBnd:\t${bnd}\n${amb === undefined ? "" : `CapAmb:\t${amb}\n`}`;
    const none = "0000000000000000";
    const sysAdmin = "0000000000200000";
    const netRaw = "0000000000002000";
    expect(keptByThread(status(none, none, none, none, none), ["sys_admin", "net_raw"])).toEqual([]);
    expect(keptByThread(status(none, sysAdmin, none, none), ["sys_admin", "net_raw"])).toEqual(["sys_admin"]);
    expect(keptByThread(status(none, none, none, none, netRaw), ["sys_admin", "net_raw"])).toEqual(["net_raw"]);
    expect(keptByThread(status(netRaw, none, none, sysAdmin), ["sys_admin", "net_raw"])).toEqual(["sys_admin", "net_raw"]);
  });

  it("re-executes itself through setpriv with the drops, keeping its arguments", () => {
    expect(reexecArgv("/usr/bin/setpriv", ["sys_admin", "net_raw"], "/usr/local/bin/supervisor", ["boot", "--", "id"])).toEqual([
      "/usr/bin/setpriv", "--bounding-set=-sys_admin,-net_raw", "--", "/usr/local/bin/supervisor", "boot", "--", "id",
    ]);
  });
});
