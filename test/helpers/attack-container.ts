// Shared by the attack tests of test/attacks (docs/threat-model.md): the supervisor's own status of a
// container, and a static helper program compiled on the host and mounted into one.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { exec } from "./docker.js";
import { waitForHealthy } from "./sandbox-container.js";

export interface Status {
  state: string;
  gateway: { pid: number } | null;
}

export async function status(name: string): Promise<Status> {
  const result = await exec(name, ["supervisor", "status", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Status;
}

export const waitHealthy = (name: string, timeoutMs = 30_000) => waitForHealthy(name, status, undefined, timeoutMs);

/** Compiles test/attacks/<source> with gcc -static on the host; returns the executable's path. */
export function compileStatic(source: string): string {
  const out = join(mkdtempSync(join(tmpdir(), "attack-")), source.replace(/\.c$/, ""));
  const file = resolve(import.meta.dirname, "../attacks", source);
  execFileSync("gcc", ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, file], { stdio: "inherit" });
  return out;
}

/** Owner, group and octal mode of files inside a running container, one "path user:group mode" line each. */
export async function ownership(name: string, files: string[]): Promise<string> {
  return (await exec(name, ["stat", "-c", "%n %U:%G %a", ...files])).stdout.trim();
}
