// The folder list is the architecture: every module lives in its stage, and imports only
// go down the stages (boot > control > supervise > init > shared), never up.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SUPERVISOR = resolve(import.meta.dirname, "../../supervisor");
const STAGES = ["shared", "init", "supervise", "control", "boot"] as const;

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modules(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

function stageOf(file: string): string {
  return relative(SUPERVISOR, file).split("/")[0]!;
}

/** Relative module specifiers of every import/export ... from, and import() with a literal. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)) found.push(match[1]!);
  return found;
}

describe("supervisor/ layout", () => {
  it("has no module directly under supervisor/ except the entry point", () => {
    const top = readdirSync(SUPERVISOR, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(top).toEqual(["cli.ts"]);
    const folders = readdirSync(SUPERVISOR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual([...STAGES].sort());
  });

  it("imports only go down the stages", () => {
    const climbs: string[] = [];
    for (const file of modules(SUPERVISOR)) {
      const from = stageOf(file);
      if (from === "cli.ts") continue;
      for (const spec of importsOf(readFileSync(file, "utf8"))) {
        const target = resolve(file, "..", spec);
        if (!target.startsWith(`${SUPERVISOR}/`)) continue;
        const to = stageOf(target);
        const rank = (stage: string) => STAGES.indexOf(stage as (typeof STAGES)[number]);
        if (rank(to) > rank(from)) climbs.push(`${relative(SUPERVISOR, file)} imports ${spec}`);
      }
    }
    expect(climbs).toEqual([]);
  });

  it("reads import, export-from and dynamic import specifiers", () => {
    const source = 'import { x } from "../control/server.js";\nexport { y } from "./z.js";\nimport "./side.js";\nawait import("../boot/chain.js");';
    expect(importsOf(source)).toEqual(["../control/server.js", "./z.js", "./side.js", "../boot/chain.js"]);
  });
});
