// The npm package as a user gets it: `npm pack` of this checkout, installed offline into a
// temporary prefix and into a temporary project, then `sandboxctl --help` and `--version`
// from both, and `npx sandboxctl` in the project. The bundle must be self-contained (no
// runtime dependency), and the manual pages its help names must be in the package.
// Needs dist/sandboxctl.cjs: node build.mjs --bundle-only.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown> & { version: string; name: string };
const scratch = mkdtempSync(join(tmpdir(), "sandboxctl-pack-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** npm, offline, with its own cache, so nothing of the user's npm setup or the network counts. */
function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync("npm", [...args, "--offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, npm_config_cache: join(scratch, "npm-cache"), npm_config_update_notifier: "false" },
  });
  if (result.status !== 0) throw new Error(`npm ${args.join(" ")} failed (${String(result.status)}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

function run(command: string, args: string[], cwd = scratch): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: "utf8", timeout: 60_000, env: { ...process.env, npm_config_cache: join(scratch, "npm-cache") } });
}

let tarball = "";
let files: string[] = [];

describe("the npm package", () => {
  beforeAll(() => {
    if (!existsSync(join(ROOT, "dist", "sandboxctl.cjs"))) throw new Error("dist/sandboxctl.cjs not found: run node build.mjs --bundle-only");
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], ROOT).stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(scratch, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
  });

  it("is publishable: not private, a sandboxctl bin, no runtime dependencies", () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.bin).toEqual({ sandboxctl: "dist/sandboxctl.cjs" });
    expect(pkg.dependencies ?? {}).toEqual({});
    // The bundle carries what it uses (proper-lockfile included): nothing left to require.
    const bundle = readFileSync(join(ROOT, "dist", "sandboxctl.cjs"), "utf8");
    const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(required.filter((name) => !isBuiltin(name))).toEqual([]);
  });

  it("ships the bundle and the manual pages, and nothing of the sources", () => {
    expect(files).toContain("dist/sandboxctl.cjs");
    for (const generated of ["dist/completion/sandboxctl.bash", "dist/completion/_sandboxctl", "dist/man/sandboxctl.1"]) expect(files).toContain(generated);
    for (const page of ["sandboxctl.md", "sandboxctl-restart.md", "sandboxctl-start.md", "sandboxctl-stop.md", "sandboxctl-status.md", "sandboxctl-health.md", "sandboxctl-check.md", "sandboxctl-logs.md", "sandboxctl-token.md", "sandboxctl-signal.md"]) {
      expect(files).toContain(`docs/${page}`);
    }
    expect(files.filter((f) => /\.ts$|^supervisor\/|^host-cli\/|^test\//.test(f))).toEqual([]);
  });

  it("installed globally into a prefix, answers --help and --version; the help names pages that exist", () => {
    const prefix = join(scratch, "prefix");
    npm(["install", "--global", "--prefix", prefix, tarball], scratch);
    const bin = join(prefix, "bin", "sandboxctl");
    const version = run(bin, ["--version"]);
    expect([version.status, version.stderr]).toEqual([0, ""]);
    expect(version.stdout).toBe(`sandboxctl ${pkg.version} (node ${process.version})\n`);
    const help = run(bin, ["--help"]);
    expect([help.status, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toMatch(/^Usage:\n {2}sandboxctl restart CONTAINER/);
    const manual = /^Manual: (.+)$/m.exec(help.stdout)?.[1];
    expect(manual).toBe(join(prefix, "lib", "node_modules", pkg.name, "docs", "sandboxctl.md"));
    expect(existsSync(manual!)).toBe(true);
    const start = run(bin, ["start", "--help"]);
    expect(existsSync(/^Manual: (.+)$/m.exec(start.stdout)![1]!)).toBe(true);
    expect(readFileSync(join(prefix, "lib", "node_modules", pkg.name, "package.json"), "utf8")).not.toContain('"dependencies"');
  });

  it("installed into a project, runs as npx sandboxctl", () => {
    const project = join(scratch, "project");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), '{ "name": "project", "private": true }\n');
    const installed = npm(["install", tarball], project);
    expect(installed.stdout).toMatch(/added 1 package/);
    const help = run("npx", ["--offline", "sandboxctl", "--help"], project);
    expect([help.status, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toContain("  sandboxctl status --all [--filter FILTER]...");
    const version = run("npx", ["--offline", "sandboxctl", "--version"], project);
    expect([version.status, version.stdout]).toEqual([0, `sandboxctl ${pkg.version} (node ${process.version})\n`]);
    const typo = run("npx", ["--offline", "sandboxctl", "stauts"], project);
    expect([typo.status, typo.stderr]).toEqual([2, "sandboxctl: unknown command 'stauts', did you mean 'status'?\nTry 'sandboxctl --help'.\n"]);
  });
});
