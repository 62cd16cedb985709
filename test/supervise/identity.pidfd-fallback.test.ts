// pidfdSignal without pidfd_open (kernels before 5.3, or a seccomp profile that refuses
// it): the addon falls back to kill(2) after the start-time check and says so (returns 1).
// A seccomp filter makes pidfd_open fail for a node process running the addon.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ADDON = resolve(import.meta.dirname, `../../build/native/reaper-linux-${process.arch}.node`);

// deny-pidfd ERRNO CMD ARGS...: runs CMD with pidfd_open (434 on x86_64 and aarch64) failing with ERRNO.
const HARNESS = `
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 434, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (atoi(argv[1]) & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return 2;
  }
  execv(argv[2], argv + 2);
  perror("execv");
  return 127;
}
`;

const SCRIPT = `
const { spawn } = require("node:child_process");
const { readFileSync } = require("node:fs");
const m = { exports: {} };
process.dlopen(m, process.argv[2]);
const child = spawn("sleep", ["30"], { stdio: "ignore" });
child.on("spawn", () => {
  setTimeout(() => {
    const stat = readFileSync("/proc/" + child.pid + "/stat", "latin1");
    const startTime = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const results = {
      probe: m.exports.pidfdSignal(child.pid, startTime, 0),
      mismatch: m.exports.pidfdSignal(child.pid, startTime - 1, 15),
      term: m.exports.pidfdSignal(child.pid, startTime, 15),
    };
    child.on("exit", (code, signal) => {
      results.exit = signal;
      results.gone = m.exports.pidfdSignal(child.pid, startTime, 15);
      console.log(JSON.stringify(results));
    });
  }, 50);
});
`;

let dir: string;
let harness: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pidfd-fallback-"));
  writeFileSync(join(dir, "deny-pidfd.c"), HARNESS);
  writeFileSync(join(dir, "script.cjs"), SCRIPT);
  harness = join(dir, "deny-pidfd");
  execFileSync("gcc", ["-O2", "-Wall", "-Werror", "-o", harness, join(dir, "deny-pidfd.c")]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pidfdSignal without pidfd_open", () => {
  it.each([
    ["ENOSYS (kernel < 5.3)", 38],
    ["EPERM (seccomp)", 1],
  ])("falls back to kill after the start-time check when pidfd_open fails with %s", (_what, errno) => {
    const r = spawnSync(harness, [String(errno), process.execPath, join(dir, "script.cjs"), ADDON], { encoding: "utf8", timeout: 20_000 });
    expect(r.stderr).toBe("");
    const { EXDEV, ESRCH } = constants.errno;
    expect(JSON.parse(r.stdout)).toEqual({ probe: 1, mismatch: -EXDEV, term: 1, exit: "SIGTERM", gone: -ESRCH });
  });
});
