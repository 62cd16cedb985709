// Build script: native addon → JS bundles → single executables (pkg, Node SEA) → SHA256SUMS.
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
  const src = 'supervisor/shared/native';
  const sources = [
    'addon.c', 'napi-helpers.c', 'reap.c', 'spawn.c', 'proc-stat.c', 'pidfd-signal.c',
    'fs-at.c', 'capability-drop.c', 'memory.c', 'digest.c', 'sha256.c', 'tcp-listeners.c',
  ].map((name) => `${src}/${name}`);
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
      '-o', out, ...sources,
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
    define: { __SUPERVISOR_VERSION__: JSON.stringify(pkg.version), __SUPERVISOR_FAULTS__: 'false', __SUPERVISOR_ARCH__: '"any"' },
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
  // What each executable runs as its main script: the supervisor for one architecture, with
  // only that architecture's addon, and without the whitespace. PID 1 keeps its main script's
  // source for as long as it lives (functions compile from it on first call): 0.33 MB instead
  // of 0.51 MB (docs/startup-and-memory.md). Intermediate files, not outputs.
  for (const arch of ARCHES) {
    await esbuild.build({ ...common, entryPoints: ['supervisor/cli.ts'], outfile: executableBundle('supervisor', arch), minifyWhitespace: true, define: { ...common.define, __SUPERVISOR_ARCH__: JSON.stringify(arch) } })
      .catch((e) => fail(`esbuild supervisor for ${arch}: ${e.errors?.[0]?.text ?? e.message}`));
  }
  step(`bundle: ${rel(executableBundle('supervisor', 'x64'))}  ${(fs.statSync(executableBundle('supervisor', 'x64')).size / 1e3).toFixed(0)} kB (and arm64)`);
  // Tests only: the same supervisor with fault injection honoured (supervise/faults.ts). Run
  // as `node dist/supervisor-faults.cjs`; never compiled into an executable or listed in SHA256SUMS.
  await esbuild.build({ ...common, entryPoints: ['supervisor/cli.ts'], outfile: 'dist/supervisor-faults.cjs', define: { ...common.define, __SUPERVISOR_FAULTS__: 'true' } })
    .catch((e) => fail(`esbuild supervisor-faults: ${e.errors?.[0]?.text ?? e.message}`));
  step('bundle: dist/supervisor-faults.cjs (tests only)');
  await writeCommandDocs(esbuild, common);
  return built;
}

/** Shell completion and manual pages, from the programs' own command tables. */
async function writeCommandDocs(esbuild, common) {
  const generator = at('.cache/command-doc-files.cjs');
  await esbuild.build({ ...common, entryPoints: ['host-cli/command-doc-files.ts'], outfile: generator })
    .catch((e) => fail(`esbuild command-doc-files: ${e.errors?.[0]?.text ?? e.message}`));
  const { commandDocFiles } = require(generator);
  const date = new Date().toISOString().slice(0, 10);
  for (const file of commandDocFiles(pkg.version, date)) {
    const out = at('dist', file.path);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, file.content, { mode: 0o644 });
  }
  step('bundle: dist/completion/ (bash, zsh) and dist/man/ (sandboxctl.1, supervisor.1)');
}

// --- 3. single executables -------------------------------------------------------------

// .cache/node is laid out exactly like pkg's own download cache ($HOME/.pkg-cache/sea), whose
// "already downloaded" test is only: <name>.tar.gz + .ok exist, and <name>/bin/node + .ok exist.
// The tarball can therefore be an empty stub; pkg never reads it once bin/node.ok is there.
const nodeCache = at('.cache/node');

function baseNode(arch) {
  const name = `node-v${NODE_VERSION}-linux-${arch}`;
  const bin = path.join(nodeCache, name, 'bin', 'node');
  const stub = path.join(nodeCache, `${name}.tar.gz`);
  const stamp = `${bin}.ok`;
  const cached = [bin, stub, `${stub}.ok`].every((f) => fs.existsSync(f));
  if (cached && readOrEmpty(stamp) === NODE_INTEGRITY[arch]) return bin;

  // The registry's node-linux-<arch> packages are the official release binaries; they declare
  // `cpu`, which `npm pack` (unlike `npm install`) ignores, so any host can fetch both.
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
    fs.writeFileSync(stub, '');
    fs.writeFileSync(`${stub}.ok`, '');
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

/** The main script of a program's executable for arch: its own bundle if it has one. */
function executableBundle(name, arch) {
  return name === 'supervisor' ? at(`build/bundle/${name}-linux-${arch}.cjs`) : at(`dist/${name}.cjs`);
}

function buildExecutables(arches, bundled) {
  if (process.platform !== 'linux' || !ARCHES.includes(process.arch)) fail('executables can only be built on linux x64 or arm64');
  const programs = Object.keys(PROGRAMS).filter((name) => bundled.includes(at(`dist/${name}.cjs`)));
  if (programs.length === 0) return step('sea: no bundle, skipped'), [];
  fs.mkdirSync(nodeCache, { recursive: true });

  // pkg hard-codes $HOME/.pkg-cache/sea (PKG_CACHE_PATH only covers its non-SEA mode), so it gets
  // a private HOME whose cache is .cache/node: it then finds everything and downloads nothing.
  const home = at('.cache/pkg-home');
  fs.mkdirSync(path.join(home, '.pkg-cache'), { recursive: true });
  try {
    fs.symlinkSync('../../node', path.join(home, '.pkg-cache', 'sea'));
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }

  const outputs = [];
  for (const arch of arches) {
    const files = programs.map((name) => at(`dist/${name}-linux-${arch}`));
    for (const out of files) fs.rmSync(out, { force: true });
    // pkg (build-pkg-sea.cjs) runs on this arch's own base Node, so that Node generates the blob
    // and its V8 code cache: the other arch's would be rejected. The other arch's Node runs under
    // qemu, and so does the generator it starts (through binfmt_misc, hence QEMU_LD_PREFIX); the
    // postject step in it makes this about 25 s per program instead of 2.
    // A plain .cjs input: the bundle is the SEA main script as is, with no virtual filesystem or
    // snapshot. The blob records the bundle's absolute path (pkg resolves it), so outputs are
    // byte-identical across builds from the same checkout path, not across different paths.
    step(`sea: pkg ${programs.join(', ')} for ${arch}${arch === process.arch ? '' : ' (under qemu)'}`);
    const job = { arch, nodeVersion: NODE_VERSION, programs: programs.map((name, i) => ({ entry: rel(executableBundle(name, arch)), output: files[i], execArgv: PROGRAMS[name] })) };
    const [cmd, args] = execFor(arch, baseNode(arch), [at('build-pkg-sea.cjs'), JSON.stringify(job)]);
    run('pkg (build-pkg-sea.cjs)', cmd, args, {
      hint: 'apt-get install qemu-user-static qemu-user-binfmt',
      env: { ...process.env, HOME: home, QEMU_LD_PREFIX: `/usr/${GNU_TRIPLE[arch]}` },
    });

    for (const out of files) {
      if (!fs.existsSync(out)) fail(`pkg did not produce ${rel(out)}`);
      // A code cache that V8 rejects (other flags, other arch) prints a warning at every start.
      const [cmd, args] = execFor(arch, out, ['--version']);
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
      if (r.error?.code === 'ENOENT') step(`sea: ${cmd} not found, ${rel(out)} not smoke-tested (apt-get install qemu-user-static)`);
      else if (r.status !== 0 || !r.stdout.includes(pkg.version) || r.stderr !== '') {
        fail(`${rel(out)} --version: expected ${pkg.version} and no warning, got status ${r.status ?? r.signal}: ${(r.stdout + r.stderr).trim().split('\n')[0]}`);
      }
      step(`sea: ${rel(out)}  ${megabytes(out)}`);
    }
    outputs.push(...files);
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
