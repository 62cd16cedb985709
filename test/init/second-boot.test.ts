// A second `supervisor boot` in a container whose PID 1 already is one refuses before it
// touches anything; any other PID 1 (pause, tini, `supervisor run`) leaves the boot to run
// as a subreaper. On a fake /proc: PID 1's cmdline and exe link, and this process's own.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { secondBootProblem } from "../../supervisor/init/second-boot.js";

function fakeProc(cmdline: string[], initExe: string | undefined, ownExe: string): string {
  const root = mkdtempSync(join(tmpdir(), "fake-proc-"));
  mkdirSync(join(root, "1"));
  mkdirSync(join(root, "self"));
  writeFileSync(join(root, "1/cmdline"), `${cmdline.join("\0")}\0`);
  if (initExe !== undefined) symlinkSync(initExe, join(root, "1/exe"));
  symlinkSync(ownExe, join(root, "self/exe"));
  return root;
}

describe("a second boot", () => {
  const program = process.execPath;
  const other = "/bin/sh";

  it("refuses when PID 1 is this executable running boot, read by its exe link or by its argv[0]", () => {
    expect(secondBootProblem(fakeProc([program, "boot"], program, program), 42)).toMatch(/^PID 1 of this container is already 'supervisor boot'/);
    expect(secondBootProblem(fakeProc([program, "boot", "-v"], undefined, program), 42)).toMatch(/already 'supervisor boot'/);
    expect(secondBootProblem(fakeProc([program, "/opt/supervisor.cjs", "boot"], program, program), 42)).toMatch(/already/);
  });

  it("runs when PID 1 is another program, the same one not booting, or when it is PID 1 itself", () => {
    expect(secondBootProblem(fakeProc(["/pause"], other, program), 42)).toBeUndefined();
    expect(secondBootProblem(fakeProc([other, "boot"], other, program), 42)).toBeUndefined();
    expect(secondBootProblem(fakeProc([program, "run", "--", "supervisor", "boot"], program, program), 42)).toBeUndefined();
    expect(secondBootProblem(fakeProc([program, "boot"], program, program), 1)).toBeUndefined();
  });
});
