// `npm run bench`, the boot's remaining cost taken apart (docs/startup-and-memory.md
// "What a boot costs beyond run"), in the test image's root file system:
//
//   compiled   the functions V8 compiles lazily in `boot -- true` and in `run -- true`, by
//              source module (--log-function-events on the unminified bundle, whose module
//              comments say where each function comes from)
//   floor      boot and run with no compiling left at all: the executable's bundle loaded
//              through a small loader with a V8 code cache of everything that mode ran
//              (made by one run of it), then the same boot with every fsync a no-op (an
//              LD_PRELOAD shim). What is left is the boot's own work and its setpriv exec.
//
// Measurement only: the product ships neither the loader nor the shim.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The Node options the executable bakes in (build.mjs SUPERVISOR_EXEC_ARGV): a code cache is valid only under them. */
export function supervisorExecArgv(buildScript) {
  const found = /const SUPERVISOR_EXEC_ARGV = (\[[^\]]*\]);/.exec(readFileSync(buildScript, "utf8"));
  if (!found) throw new Error(`${buildScript}: no SUPERVISOR_EXEC_ARGV = [...] line to read the executable's Node options from`);
  return JSON.parse(found[1].replaceAll("'", '"'));
}

const LOADER = `'use strict';
// Runs /exp/bundle.cjs as a CommonJS main with the V8 code cache in $EXP_CACHE; with
// EXP_TRAIN=1 it writes that cache at exit instead, holding every function the run compiled.
const fs = require('node:fs');
const vm = require('node:vm');
const file = '/exp/bundle.cjs';
const train = process.env.EXP_TRAIN === '1';
const cachedData = train ? undefined : fs.readFileSync(process.env.EXP_CACHE);
const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(file, 'utf8') + '\\n})', { filename: file, cachedData });
if (script.cachedDataRejected) throw new Error('code cache rejected');
if (train) process.on('exit', () => fs.writeFileSync(process.env.EXP_CACHE, script.createCachedData()));
const main = { exports: {} };
script.runInThisContext().call(main.exports, main.exports, require, main, file, '/exp');
`;

const NO_FSYNC = "int fsync(int fd) { (void)fd; return 0; }\nint fdatasync(int fd) { (void)fd; return 0; }\n";

/**
 * Lays out /exp in the root file system: the build's Node, the executable's bundle, the
 * unminified bundle, the loader and the fsync shim. Returns what each measurement runs.
 */
export function prepareFloor({ rootDir, node, bundle, fullBundle, execArgv, work }) {
  const exp = join(rootDir, "exp");
  mkdirSync(exp, { recursive: true });
  copyFileSync(node, join(exp, "node"));
  copyFileSync(bundle, join(exp, "bundle.cjs"));
  copyFileSync(fullBundle, join(exp, "full.cjs"));
  writeFileSync(join(exp, "loader.cjs"), LOADER);
  writeFileSync(join(work, "nofsync.c"), NO_FSYNC);
  execFileSync("gcc", ["-O2", "-shared", "-fPIC", "-o", join(exp, "nofsync.so"), join(work, "nofsync.c")]);
  // env(1) sets the variables inside the chroot (the probe itself must not load the shim);
  // every row goes through it, so its exec costs all of them alike.
  const loaded = (mode, vars) => ["/usr/bin/env", ...vars, "/exp/node", ...execArgv, "/exp/loader.cjs", mode, "--", "/bin/true"];
  return {
    train: (mode) => loaded(mode, ["EXP_TRAIN=1", `EXP_CACHE=/exp/${mode}.cache`]),
    cached: (mode) => loaded(mode, [`EXP_CACHE=/exp/${mode}.cache`]),
    cachedNoFsync: (mode) => loaded(mode, [`EXP_CACHE=/exp/${mode}.cache`, "LD_PRELOAD=/exp/nofsync.so"]),
    logged: (mode) => ["/exp/node", ...execArgv, "--log-function-events", `--logfile=/exp/${mode}.functions`, "--no-logfile-per-isolate", "/exp/full.cjs", mode, "--", "/bin/true"],
    functionLog: (mode) => join(exp, `${mode}.functions`),
    fullBundle: join(exp, "full.cjs"),
  };
}

/** Lazily compiled functions of the bundle by source module, from a --log-function-events log. */
export function compiledByModule(logFile, bundleFile) {
  const source = readFileSync(bundleFile, "utf8");
  const starts = [...source.matchAll(/^\/\/ (\S+\.(?:ts|js|cjs|mjs))$/gm)].map((m) => ({ at: m.index, module: m[1] }));
  const moduleAt = (offset) => {
    let found = "(bundle prelude)";
    for (const s of starts) {
      if (s.at > offset) break;
      found = s.module;
    }
    return found;
  };
  const lines = readFileSync(logFile, "utf8").split("\n");
  const script = lines.find((l) => l.startsWith("script-details,") && l.split(",")[2] === "/exp/full.cjs")?.split(",")[1];
  if (script === undefined) throw new Error(`${logFile}: the bundle's script is not in the log`);
  const counts = new Map();
  for (const line of lines) {
    // function,interpreter,<script>,<start>,<end>,...: a function compiled to bytecode.
    const [kind, event, id, start] = line.split(",");
    if (kind !== "function" || event !== "interpreter" || id !== script || start === "0") continue;
    const module = moduleAt(Number(start));
    counts.set(module, (counts.get(module) ?? 0) + 1);
  }
  return counts;
}

/** Totals, then the modules whose functions only a boot compiles, most first. */
export function printCompiled(boot, run, top = 8) {
  const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`functions compiled lazily: boot ${total(boot)}, run ${total(run)}; most of the boot's, by module:`);
  const rows = [...boot].map(([module, n]) => ({ module, boot: n, run: run.get(module) ?? 0 })).sort((a, b) => b.boot - b.run - (a.boot - a.run));
  for (const r of rows.slice(0, top)) console.log(`  ${r.module.padEnd(44)} boot ${String(r.boot).padStart(4)}   run ${String(r.run).padStart(4)}`);
}
