// The package list of test/container/prepare-host.sh is complete: on a fresh bookworm
// (a debootstrapped minbase chroot, see fresh-host.sh) it prepares the machine and
// `node build.mjs --bundle-only` then compiles the native addon for both architectures.
// A package this machine happens to have cannot hide a gap here.
// SANDBOX_SUPERVISOR_FRESH_HOST_TESTS=0 skips it (about 1 min with caches, 2-3 min without).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "fresh-host.sh");
const TIMEOUT_MS = 30 * 60_000;
// ELF e_machine (little-endian u16 at offset 18) of each addon's target.
const E_MACHINE = { x64: 0x3e, arm64: 0xb7 } as const;

describe.skipIf(process.env.SANDBOX_SUPERVISOR_FRESH_HOST_TESTS === "0")("a fresh bookworm machine", () => {
  let rootfs = "";
  afterAll(() => {
    // fresh-host.sh mounts only in its own mount namespace: nothing is mounted here any more.
    if (rootfs !== "") fs.rmSync(path.dirname(rootfs), { recursive: true, force: true });
  });

  it("is prepared by prepare-host.sh and builds the addon for x64 and arm64", () => {
    const res = spawnSync(SCRIPT, ["--keep"], { encoding: "utf8", timeout: TIMEOUT_MS });
    rootfs = res.status === 0 ? (res.stdout.trim().split("\n").pop() ?? "") : "";
    expect(res.status, `fresh-host.sh failed:\n${res.stderr}`).toBe(0);
    for (const arch of ["x64", "arm64"] as const) {
      const addon = fs.readFileSync(path.join(rootfs, "src/build/native", `reaper-linux-${arch}.node`));
      expect(addon.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect(addon.readUInt16LE(18), `e_machine of the ${arch} addon`).toBe(E_MACHINE[arch]);
    }
  }, TIMEOUT_MS);
});
