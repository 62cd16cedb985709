// Build script: native addon → JS bundles → single executables (Node SEA) → SHA256SUMS.
//
//   node build.mjs                 everything, both arches
//   node build.mjs --bundle-only   native addon + bundles only (fast; what tests need)
//   node build.mjs --arch x64      executables for one arch only
//
// Works offline: the only network access is `npm pack` of the official Node binaries from
// the npm registry, once; they are cached, pinned by integrity, in .cache/node/.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

// Base Node for the executables. Bumping it means updating both integrities
// (`npm pack node-linux-<arch>@<version> --json --dry-run` prints them).
const NODE_VERSION = '22.23.3';
const NODE_INTEGRITY = {
  x64: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
  arm64: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
};
const ARCHES = ['x64', 'arm64'];
const GNU_TRIPLE = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

const root = import.meta.dirname;
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const at = (...p) => path.join(root, ...p);
const rel = (p) => path.relative(root, p);
const step = (msg) => console.log(`[build] ${msg}`);

class BuildError extends Error {}
const fail = (msg) => { throw new BuildError(msg); };

// Runs a tool quietly; its output is shown only when it fails, so a good build stays short.
function run(what, cmd, args, { hint, ...opts } = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error?.code === 'ENOENT') fail(`${cmd} not found${hint ? `: ${hint}` : ''}`);
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    fail(`${what} failed (${path.basename(cmd)} exited with ${r.status ?? r.signal})`);
  }
  return r.stdout;
}

// Host tools are unprefixed; the other arch needs the Debian cross toolchain.
function tool(arch, name) {
  if (arch === process.arch) return [name, `apt-get install ${name === 'gcc' ? 'gcc' : 'binutils'}`];
  const triple = GNU_TRIPLE[arch];
  const debPkg = `${name === 'gcc' ? 'gcc' : 'binutils'}-${triple.replace(/_/g, '-')}`;
  return [`${triple}-${name}`, `apt-get install ${debPkg}`];
}

const readOrEmpty = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const megabytes = (file) => `${(fs.statSync(file).size / 1e6).toFixed(1)} MB`;

// --- 1. native addon -------------------------------------------------------------------

// Each addon also goes to dist/: images install it (root-owned, read-only) where the
// supervisor maps it without writing anything (supervisor/shared/addon-loader.ts).
function buildNative() {
  const src = 'supervisor/shared/native/reaper.c';
  if (!fs.existsSync(at(src))) return step(`native: ${src} not found, skipped`), [];
  fs.mkdirSync(at('build/native'), { recursive: true });
  fs.mkdirSync(at('dist'), { recursive: true });
  const copies = [];
  for (const arch of ARCHES) {
    const out = `build/native/reaper-linux-${arch}.node`;
    const [cc, hint] = tool(arch, 'gcc');
    // napi_* stay undefined here and bind to the running node executable at dlopen time.
    // prefix-map, no build-id and -s make the bytes independent of checkout path and time.
    run(`compiling ${src} for ${arch}`, cc, [
      '-shared', '-fPIC', '-O2', '-std=c11', '-Wall', '-Wextra', '-Werror',
      '-DNAPI_VERSION=8', '-I', require('node-api-headers').include_dir,
      `-ffile-prefix-map=${root}=.`, '-Wl,--build-id=none', '-s',
      '-o', out, src,
    ], { hint });
    const copy = at(`dist/reaper-linux-${arch}.node`);
    fs.rmSync(copy, { force: true });
    fs.copyFileSync(at(out), copy);
    fs.chmodSync(copy, 0o444);
    copies.push(copy);
    step(`native: ${out}, ${rel(copy)}`);
  }
  return copies;
}

// --- 2. bundles ------------------------------------------------------------------------

async function bundle() {
  const esbuild = await import('esbuild').catch(() => fail('esbuild is not installed: run npm ci'));
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: false,
    legalComments: 'none',
    sourcemap: false,
    // The addons travel inside the bundle as bytes (Uint8Array) and are written out at run time.
    loader: { '.node': 'binary' },
    define: { __SUPERVISOR_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  };
  const entries = [
    { src: 'supervisor/cli.ts', out: 'dist/supervisor.cjs', mode: 0o644 },
    { src: 'host-cli/sandboxctl.ts', out: 'dist/sandboxctl.cjs', mode: 0o755, banner: { js: '#!/usr/bin/env node' } },
  ];
  const built = [];
  for (const { src, out, mode, banner } of entries) {
    if (!fs.existsSync(at(src))) { step(`bundle: ${src} not found, skipped`); continue; }
    await esbuild.build({ ...common, entryPoints: [src], outfile: out, banner })
      .catch((e) => fail(`esbuild ${src}: ${e.errors?.[0]?.text ?? e.message}`));
    fs.chmodSync(at(out), mode);
    built.push(at(out));
    step(`bundle: ${out}  ${(fs.statSync(at(out)).size / 1e3).toFixed(0)} kB`);
  }
  return built;
}

// --- 3. single executables -------------------------------------------------------------

// Node's own single-executable flow (nodejs.org/api/single-executable-applications.html):
// sea-config.json → `node --experimental-sea-config` writes a blob → postject injects it into a
// copy of the same Node binary. This is what `pkg --sea` runs for a plain .cjs input, minus two
// things pkg's simple mode cannot do: it does not forward a sea-config (no code cache, no
// execArgv), and it generates one blob with the host's Node for every target, whose code cache
// V8 rejects on the other arch ("Code cache data rejected", measured on arm64). Here each
// arch's blob comes from that arch's own Node (arm64 through qemu-user, under a second).
const nodeCache = at('.cache/node');

function baseNode(arch) {
  const name = `node-v${NODE_VERSION}-linux-${arch}`;
  const bin = path.join(nodeCache, name, 'bin', 'node');
  const stamp = `${bin}.ok`;
  if (fs.existsSync(bin) && readOrEmpty(stamp) === NODE_INTEGRITY[arch]) return bin;

  // The registry's node-linux-<arch> packages are the official release binaries; they declare
  // `cpu`, which `npm pack` (unlike `npm install`) ignores, so any host can fetch both.
  fs.mkdirSync(nodeCache, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(nodeCache, 'tmp-'));
  try {
    const spec = `node-linux-${arch}@${NODE_VERSION}`;
    step(`node: npm pack ${spec}`);
    const [{ filename }] = JSON.parse(run(`npm pack ${spec}`, 'npm', ['pack', spec, '--json', '--loglevel=error'], { cwd: tmp }));
    const tgz = path.join(tmp, filename);
    const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tgz)).digest('base64')}`;
    if (integrity !== NODE_INTEGRITY[arch]) fail(`${spec}: integrity ${integrity} does not match the pinned one`);
    run(`extracting ${filename}`, 'tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node']);
    // Symbols are ~18 MB of dead weight: the executables still run and load addons (.dynsym stays).
    const [strip, hint] = tool(arch, 'strip');
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    run(`stripping ${spec}`, strip, ['-o', bin, path.join(tmp, 'package/bin/node')], { hint });
    fs.writeFileSync(stamp, NODE_INTEGRITY[arch]);
    step(`node: ${rel(bin)}  ${megabytes(bin)} (stripped)`);
    return bin;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Runs an executable built for `arch`, through qemu when it is not the host's.
function execFor(arch, file, args) {
  if (arch === process.arch) return [file, args];
  const qemu = `qemu-${arch === 'arm64' ? 'aarch64' : 'x86_64'}-static`;
  return [qemu, ['-L', `/usr/${GNU_TRIPLE[arch]}`, file, ...args]];
}

// Node options baked into the supervisor (sea-config execArgv; NODE_OPTIONS still adds to them).
// docs/startup-and-memory.md measures each one.
//   --disable-sigusr1  no inspector on SIGUSR1, so no "SignalInspector" thread, which blocks
//                      every signal: PID 1 can then drop capabilities on each of its threads
//                      (boot/capability-drop.ts), and a signal cannot open a debugger in PID 1.
//   --jitless          PID 1 waits for events; the interpreter is fast enough, and without the
//                      optimizing compilers' code and zones (malloc'ed on worker threads) its
//                      memory stays flat over restarts (+1.4 MB over 500, was +10.7 MB).
//   --no-expose-wasm   what --jitless implies anyway; said here, V8 warns on every start.
//   --max-semi-space-size=1, --v8-pool-size=1   a young generation of at most 1 MB per
//                      semi-space, one V8 worker thread instead of four (one malloc arena).
const SUPERVISOR_EXEC_ARGV = ['--disable-sigusr1', '--jitless', '--no-expose-wasm', '--max-semi-space-size=1', '--v8-pool-size=1'];

// The programs compiled into single executables: the supervisor (PID 1) and sandboxctl (host).
const PROGRAMS = { supervisor: SUPERVISOR_EXEC_ARGV, sandboxctl: [] };
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function buildExecutables(arches, bundled) {
  if (process.platform !== 'linux' || !ARCHES.includes(process.arch)) fail('executables can only be built on linux x64 or arm64');
  const programs = Object.keys(PROGRAMS).filter((name) => bundled.includes(at(`dist/${name}.cjs`)));
  if (programs.length === 0) return step('sea: no bundle, skipped'), [];
  const postject = path.join(path.dirname(require.resolve('postject/package.json')), require('postject/package.json').bin.postject);
  const work = at('build/sea');
  fs.mkdirSync(work, { recursive: true });

  const outputs = [];
  for (const name of programs) {
    for (const arch of arches) {
      const node = baseNode(arch);
      const out = at(`dist/${name}-linux-${arch}`);
      const blob = path.join(work, `${name}-linux-${arch}.blob`);
      const config = path.join(work, `${name}-linux-${arch}.json`);
      // The code cache is V8 bytecode of the bundle's top level, compiled at build time, so a
      // start skips parsing it. `main` stays relative (the blob records it) and --random-seed
      // makes the cache byte-identical from build to build; it is a generator flag only, not
      // one the executable runs with (V8 excludes it from the flags a cache must match).
      fs.writeFileSync(config, JSON.stringify({
        main: `dist/${name}.cjs`,
        output: rel(blob),
        disableExperimentalSEAWarning: true,
        useCodeCache: true,
        execArgv: PROGRAMS[name],
      }));
      // The generator runs with the program's own options too: V8 rejects a code cache made
      // under other flags (--jitless changes the flag hash).
      const [gen, genArgs] = execFor(arch, node, ['--random-seed=1', ...PROGRAMS[name], '--experimental-sea-config', rel(config)]);
      run(`SEA blob of ${name} for ${arch}`, gen, genArgs, { hint: 'apt-get install qemu-user-static' });
      fs.rmSync(out, { force: true });
      fs.copyFileSync(node, out);
      run(`postject ${rel(out)}`, process.execPath, [postject, rel(out), 'NODE_SEA_BLOB', rel(blob), '--sentinel-fuse', SEA_FUSE]);
      fs.chmodSync(out, 0o755);

      const [cmd, args] = execFor(arch, out, ['--version']);
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
      if (r.error?.code === 'ENOENT') step(`sea: ${cmd} not found, ${rel(out)} not smoke-tested (apt-get install qemu-user-static)`);
      else if (r.status !== 0 || !r.stdout.includes(pkg.version) || r.stderr !== '') {
        fail(`${rel(out)} --version: expected ${pkg.version} and no warning, got status ${r.status ?? r.signal}: ${(r.stdout + r.stderr).trim().split('\n')[0]}`);
      }
      step(`sea: ${rel(out)}  ${megabytes(out)}`);
      outputs.push(out);
    }
  }
  return outputs;
}

// --- main ------------------------------------------------------------------------------

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { 'bundle-only': { type: 'boolean' }, arch: { type: 'string' } } }));
  } catch (e) {
    fail(`${e.message}; usage: node build.mjs [--bundle-only] [--arch x64|arm64]`);
  }
  if (values.arch && !ARCHES.includes(values.arch)) fail(`--arch must be one of ${ARCHES.join(', ')}`);
  const started = Date.now();

  const addons = buildNative();
  const outputs = [...addons, ...(await bundle())];
  if (!values['bundle-only']) outputs.push(...buildExecutables(values.arch ? [values.arch] : ARCHES, outputs));

  // sha256sum format, relative to dist/, so `cd dist && sha256sum -c SHA256SUMS` works.
  fs.mkdirSync(at('dist'), { recursive: true });
  const sums = outputs.map((f) => `${sha256(f)}  ${path.basename(f)}\n`).join('');
  fs.writeFileSync(at('dist/SHA256SUMS'), sums);
  step(`dist/SHA256SUMS  ${outputs.length} outputs, done in ${((Date.now() - started) / 1e3).toFixed(1)}s`);
}

main().catch((e) => {
  console.error(`[build] error: ${e instanceof BuildError ? e.message : e.stack}`);
  process.exit(1);
});
