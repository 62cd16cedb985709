// build.mjs's step 3 for one arch: @yao-pkg/pkg's SEA builder, called as a module so it gets
// a sea-config, run by that arch's own base Node (build.mjs starts it, through qemu for the
// other arch).
//
//   <base node of arch> build-pkg-sea.cjs '<job JSON>'
//   job: { arch, nodeVersion, programs: [{ entry, output, execArgv }] }
//
// Why not the `pkg --sea` command: for a plain .cjs input ("simple SEA") it passes no
// sea-config, so no code cache and no execArgv. Its module lib-es5/sea.js takes one
// (`sea(entry, { targets, signature, seaConfig })`, spread into sea-config.json); the package
// has no "exports" map, so the deep require is allowed, and the version is pinned (6.23.0).
//
// Why that arch's own Node runs this: pkg generates the blob, code cache included, with the
// target's Node when the target's arch is the host's, else with process.execPath; V8 rejects a
// code cache made by the other arch's Node ("Code cache data rejected", measured on arm64).
// Run by the arm64 Node, pkg's host is arm64 and the arm64 Node generates the arm64 blob.
'use strict';
const childProcess = require('node:child_process');

const job = JSON.parse(process.argv[2]);

// V8 rejects a code cache made under other V8 flags (--jitless changes the flag hash), and
// makes a different one at every run unless the seed is fixed. pkg runs the generator as
// execFile(node, ['--experimental-sea-config', file]) with no way to add options, and
// NODE_OPTIONS refuses --no-expose-wasm and --random-seed. So the generator's argv gains the
// program's own options and --random-seed=1 (a generator flag only: V8 leaves it out of the
// flags a cache must match) here, before pkg's module takes its reference to execFile.
let generatorOptions;
let generatorRuns = 0;
const execFile = childProcess.execFile;
childProcess.execFile = (file, args, ...rest) => {
  if (args?.[0] !== '--experimental-sea-config') return execFile(file, args, ...rest);
  generatorRuns += 1;
  return execFile(file, ['--random-seed=1', ...generatorOptions, ...args], ...rest);
};

const sea = require('@yao-pkg/pkg/lib-es5/sea.js').default;

async function main() {
  for (const { entry, output, execArgv } of job.programs) {
    generatorOptions = execArgv;
    const before = generatorRuns;
    await sea(entry, {
      targets: [{ platform: 'linux', arch: job.arch, nodeRange: `node${job.nodeVersion}`, output }],
      signature: false,
      seaConfig: { useCodeCache: true, execArgv },
    });
    if (generatorRuns !== before + 1) throw new Error(`pkg ran the SEA blob generator ${generatorRuns - before} times for ${entry}, expected once (has lib-es5/sea.js changed?)`);
  }
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(1);
});
