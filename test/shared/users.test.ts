import { describe, expect, it } from "vitest";
import { parsePasswd } from "../../supervisor/shared/users.js";
import { stepDownArgv } from "../../supervisor/init/step-down.js";

describe("passwd parsing", () => {
  it("reads name, ids, home and shell, skipping comments and malformed lines", () => {
    const text = [
      "root:x:0:0:root:/root:/bin/bash",
      "# a comment:x:1:1:c:/:/bin/sh",
      "broken:x:abc:1::/:/bin/sh",
      "short:x:1",
      "sandbox:x:1000:1000::/sandbox:/bin/bash",
      "",
    ].join("\n");
    expect(parsePasswd(text)).toEqual([
      { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/bash" },
      { name: "sandbox", uid: 1000, gid: 1000, home: "/sandbox", shell: "/bin/bash" },
    ]);
  });

  it("drops bounding capabilities when asked", () => {
    const user = { name: "gateway", uid: 998, gid: 998, home: "/", shell: "/bin/sh" };
    expect(stepDownArgv("/usr/bin/setpriv", { user, dropBounding: ["setuid", "kill"] }, ["node"])).toEqual([
      "/usr/bin/setpriv",
      "--reuid=998",
      "--regid=998",
      "--init-groups",
      "--bounding-set=-setuid,-kill",
      "--",
      "node",
    ]);
  });

  it("raises ambient capabilities when asked (the gateway's net_bind_service)", () => {
    const user = { name: "gateway", uid: 998, gid: 998, home: "/", shell: "/bin/sh" };
    expect(stepDownArgv("/usr/bin/setpriv", { user, dropBounding: ["kill"], ambient: ["net_bind_service"] }, ["node"])).toEqual([
      "/usr/bin/setpriv",
      "--reuid=998",
      "--regid=998",
      "--init-groups",
      "--bounding-set=-kill",
      "--inh-caps=+net_bind_service",
      "--ambient-caps=+net_bind_service",
      "--",
      "node",
    ]);
  });
});
