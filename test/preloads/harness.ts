// Runs real Node processes with the preload guards, staged the way the supervisor stages them
// (a copy named /tmp/nemoclaw-<name>.js, outside this "type": "module" package).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SOURCES = resolve(import.meta.dirname, "../../preloads");
export const FIXTURES = resolve(import.meta.dirname, "fixtures");
export const fixture = (name: string): string => join(FIXTURES, name);

/** The environment the supervisor gives the gateway, and only the gateway. */
export const GATEWAY_ENV = { NEMOCLAW_GATEWAY: "1" };

export interface Staged {
  safetyNet: string;
  ciao: string;
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Scratch {
  readonly root = mkdtempSync(join(tmpdir(), "preloads-"));
  private next = 0;

  /** A fresh copy of both guards; `moduleType` drops a package.json next to them. */
  stage(moduleType?: "module" | "commonjs"): Staged {
    const dir = join(this.root, String(this.next++));
    mkdirSync(dir);
    if (moduleType) writeFileSync(join(dir, "package.json"), JSON.stringify({ type: moduleType }));
    const staged = {
      safetyNet: join(dir, "nemoclaw-sandbox-safety-net.js"),
      ciao: join(dir, "nemoclaw-ciao-network-guard.js"),
    };
    copyFileSync(join(SOURCES, "sandbox-safety-net.js"), staged.safetyNet);
    copyFileSync(join(SOURCES, "ciao-network-guard.js"), staged.ciao);
    return staged;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export const requireAll = (...files: string[]): string[] => files.flatMap((file) => ["--require", file]);

/**
 * Runs `node ARGS` with only PATH plus `env`, so neither the runner's NODE_OPTIONS nor a stray
 * NEMOCLAW_GATEWAY reaches the process under test.
 */
export function runNode(args: string[], env: Record<string, string> = {}): Ran {
  const ran = spawnSync(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  if (ran.error) throw ran.error;
  return { status: ran.status, signal: ran.signal, stdout: ran.stdout, stderr: ran.stderr };
}

export const preloadLines = (stderr: string): string[] =>
  stderr.split("\n").filter((line) => line.startsWith("[preload] "));

/** Node's own stderr: the guards' lines dropped, pids in warnings ("(node:123)") masked. */
export const nodeStderr = (stderr: string): string =>
  stderr
    .split("\n")
    .filter((line) => !line.startsWith("[preload] "))
    .join("\n")
    .replace(/\(node:\d+\)/g, "(node:PID)");

export const jsonLines = (stdout: string): unknown[] =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
