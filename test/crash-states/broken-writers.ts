// Two broken writers, to prove the explorer can fail: the real supervisor, bundled from its
// own sources as build.mjs bundles it, with one fsync taken out of the atomic writer. Each
// is made by deleting one exact line of supervisor/shared/atomic-write.ts; if that line is
// gone (the writer changed), the build refuses instead of proving nothing.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import type { Program } from "./pid1-boot.js";
import { REPO } from "./scratch-root.js";

export interface BrokenWriter {
  name: string;
  what: string;
  /** Matches the one line removed (with the line before it, kept) in atomic-write.ts. */
  remove: RegExp;
  /** The durable write path whose promise it breaks first: the short run explores only that one. */
  breaks: string;
}

export const BROKEN_WRITERS: readonly BrokenWriter[] = [
  {
    name: "no-dir-fsync",
    what: "no directory fsync after the rename: the next file is written before the last rename is durable",
    remove: /(\n\s*renamed = true;)\n\s*fsyncSync\(dirFd\);/,
    breaks: "config",
  },
  {
    name: "no-file-fsync",
    what: "no file fsync before the rename: the new name may persist before the bytes it names",
    remove: /(\n\s*fchmodSync\(fd, options\.mode\);)\n\s*fsyncSync\(fd\);/,
    breaks: "token",
  },
];

export class BrokenWriterError extends Error {}

const WRITER = join(REPO, "supervisor/shared/atomic-write.ts");

/** The writer's source without the writer's line; throws if the line is not there exactly once. */
export function brokenSource(writer: BrokenWriter, source = readFileSync(WRITER, "utf8")): string {
  const global = new RegExp(writer.remove.source, "g");
  const matches = source.match(global)?.length ?? 0;
  if (matches !== 1) {
    throw new BrokenWriterError(`broken writer ${writer.name}: expected its line once in supervisor/shared/atomic-write.ts, found it ${matches} times (update test/crash-states/broken-writers.ts)`);
  }
  return source.replace(writer.remove, "$1");
}

/** The Node 22 that build.mjs fetched for the executables: the bundles target it. */
export function node22(): string {
  const cache = join(REPO, ".cache/node");
  const dir = existsSync(cache) ? readdirSync(cache).find((d) => /^node-v22\.[\d.]+-linux-/.test(d) && d.endsWith(arch()) && existsSync(join(cache, d, "bin/node"))) : undefined;
  if (dir === undefined) throw new BrokenWriterError(`no Node 22 runtime in ${cache}: run 'node build.mjs' first`);
  return join(cache, dir, "bin/node");
}

/** Bundles the supervisor with the broken writer into outFile; returns how to run it. */
export async function buildBrokenSupervisor(writer: BrokenWriter, outFile: string): Promise<Program> {
  const source = brokenSource(writer);
  const esbuild = await import("esbuild");
  const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;
  await esbuild.build({
    absWorkingDir: REPO,
    entryPoints: ["supervisor/cli.ts"],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    loader: { ".node": "binary" },
    define: { __SUPERVISOR_VERSION__: JSON.stringify(version), __SUPERVISOR_FAULTS__: "false", __SUPERVISOR_ARCH__: '"any"' },
    logLevel: "error",
    plugins: [
      {
        name: "broken-writer",
        setup(build) {
          build.onLoad({ filter: /supervisor\/shared\/atomic-write\.ts$/ }, () => ({ contents: source, loader: "ts", resolveDir: join(REPO, "supervisor/shared") }));
        },
      },
    ],
  });
  return { name: writer.name, argv: [node22(), outFile] };
}
