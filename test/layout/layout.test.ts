// The folder list is the architecture (docs/architecture.md): every module lives in its
// stage, imports only go down the stages, one composition root wires them for PID 1, the host
// command reaches only the shared base and the control client, and no unit is longer than
// its job. Measured on the code itself, so a change that breaks a rule fails here.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SUPERVISOR = join(ROOT, "supervisor");
const HOST_CLI = join(ROOT, "host-cli");
const NATIVE = join(SUPERVISOR, "shared/native");

/** What each stage may import besides itself: only stages below it. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  shared: [],
  init: ["shared"],
  supervise: ["init", "shared"],
  control: ["supervise", "init", "shared"],
  boot: ["supervise", "init", "shared"],
};
/** Entry points above every stage: the command line and the composition root. */
const TOP_FILES = ["cli.ts", "pid1.ts"];
/** What the host command may import of the supervisor's tree. */
const HOST_CLI_MAY_IMPORT = [/^supervisor\/shared\//, /^supervisor\/control\/(client|protocol)\.ts$/];
const MAX_FUNCTION_LINES = 80;
const MAX_C_FILE_LINES = 400;

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name), ext) : entry.name.endsWith(ext) ? [join(dir, entry.name)] : [],
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

/** Each import of `file` as the repository path of the .ts module it names. */
function importedModules(file: string): string[] {
  return importsOf(readFileSync(file, "utf8")).map((spec) => relative(ROOT, resolve(file, "..", spec)).replace(/\.js$/, ".ts"));
}

/** A function whose whole body is one array or object literal is a data table, not a unit of logic. */
function isDataTable(node: ts.FunctionLikeDeclaration): boolean {
  let body: ts.Node | undefined = node.body;
  while (body !== undefined && ts.isParenthesizedExpression(body)) body = body.expression;
  return body !== undefined && (ts.isArrayLiteralExpression(body) || ts.isObjectLiteralExpression(body));
}

/** Every function, method and arrow of `file` with its length in lines, data tables aside. */
function functionLengths(file: string): Array<{ where: string; lines: number }> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: Array<{ where: string; lines: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined && !isDataTable(node as ts.FunctionLikeDeclaration)) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      found.push({ where: `${relative(ROOT, file)}:${first + 1}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** C function definitions (a line opening at column 0 with `name(...) {`) and their lengths. */
function cFunctionLengths(file: string): Array<{ where: string; lines: number }> {
  const lines = readFileSync(file, "utf8").split("\n");
  const found: Array<{ where: string; lines: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^[a-z].*\)\s*\{\s*$/.test(lines[i]!) || /^(struct|enum|typedef|static const|const)\b/.test(lines[i]!)) continue;
    const end = lines.findIndex((line, j) => j > i && line === "}");
    if (end !== -1) found.push({ where: `${relative(ROOT, file)}:${i + 1}`, lines: end - i + 1 });
  }
  return found;
}

describe("supervisor/ layout", () => {
  it("has only the entry point and the composition root beside the stage folders", () => {
    const top = readdirSync(SUPERVISOR, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(top.sort()).toEqual([...TOP_FILES].sort());
    const folders = readdirSync(SUPERVISOR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });

  it("imports only go down the stages", () => {
    const climbs: string[] = [];
    for (const file of files(SUPERVISOR, ".ts")) {
      const from = stageOf(file);
      if (TOP_FILES.includes(from)) continue;
      for (const target of importedModules(file)) {
        if (!target.startsWith("supervisor/")) continue;
        const to = stageOf(join(ROOT, target));
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) climbs.push(`${relative(ROOT, file)} imports ${target}`);
      }
    }
    expect(climbs).toEqual([]);
  });

  it("wires the stages for PID 1 in one composition root: boot never reaches control", () => {
    const wiring = files(SUPERVISOR, ".ts").filter((file) => {
      const stages = new Set(importedModules(file).filter((t) => t.startsWith("supervisor/")).map((t) => stageOf(join(ROOT, t))));
      return stages.has("boot") && stages.has("supervise") && stages.has("control") && stages.has("init");
    });
    expect(wiring.map((file) => relative(ROOT, file))).toEqual(["supervisor/pid1.ts"]);
  });

  it("host-cli imports only the shared base and the control client and protocol", () => {
    const reaches = files(HOST_CLI, ".ts").flatMap((file) =>
      importedModules(file)
        .filter((target) => !target.startsWith("host-cli/") && !HOST_CLI_MAY_IMPORT.some((allowed) => allowed.test(target)))
        .map((target) => `${relative(ROOT, file)} imports ${target}`),
    );
    expect(reaches).toEqual([]);
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines in supervisor/ or host-cli/`, () => {
    const long = [...files(SUPERVISOR, ".ts"), ...files(HOST_CLI, ".ts")]
      .flatMap(functionLengths)
      .filter((f) => f.lines > MAX_FUNCTION_LINES)
      .map((f) => `${f.where} (${f.lines} lines)`);
    expect(long).toEqual([]);
  });

  it(`splits the native addon by job: no C file over ${MAX_C_FILE_LINES} lines, no C function over ${MAX_FUNCTION_LINES}`, () => {
    const cFiles = files(NATIVE, ".c");
    expect(cFiles.length).toBeGreaterThan(1);
    const big = cFiles.map((f) => ({ f, n: readFileSync(f, "utf8").split("\n").length })).filter(({ n }) => n > MAX_C_FILE_LINES);
    expect(big.map(({ f, n }) => `${relative(ROOT, f)} (${n} lines)`)).toEqual([]);
    const long = cFiles.flatMap(cFunctionLengths).filter((f) => f.lines > MAX_FUNCTION_LINES);
    expect(long.map((f) => `${f.where} (${f.lines} lines)`)).toEqual([]);
  });

  it("cites no document the repository does not have in its comments", () => {
    const cites = [...files(SUPERVISOR, ".ts"), ...files(SUPERVISOR, ".c"), ...files(HOST_CLI, ".ts")].flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ line, where: `${relative(ROOT, file)}:${i + 1}` }))
        .filter(({ line }) => /\/\/|\/\*|^\s*\*/.test(line) && /\bSPEC\b|\b[Ii]ssue \d+/.test(line))
        .map(({ where }) => where),
    );
    expect(cites).toEqual([]);
  });
});

describe("the layout checks themselves", () => {
  it("read import, export-from and dynamic import specifiers", () => {
    const source = 'import { x } from "../control/server.js";\nexport { y } from "./z.js";\nimport "./side.js";\nawait import("../boot/chain.js");';
    expect(importsOf(source)).toEqual(["../control/server.js", "./z.js", "./side.js", "../boot/chain.js"]);
  });

  it("measure a long function and pass a data table", () => {
    const dir = join(ROOT, "test/layout");
    const lengths = functionLengths(join(dir, "layout.test.ts"));
    expect(lengths.some((f) => f.lines > 5)).toBe(true);
    const table = ts.createSourceFile("t.ts", "const T = () => [\n1,\n2,\n];", ts.ScriptTarget.Latest, true);
    const arrow = (table.statements[0] as ts.VariableStatement).declarationList.declarations[0]!.initializer as ts.ArrowFunction;
    expect(isDataTable(arrow)).toBe(true);
  });
});
