// Helpers for the real-Docker container tests (vitest, Node 20, ESM).
//
// The engine on the test hosts has no bridge network and no registry: every container runs
// with `--network none`, and images are built offline by test/container/build-image.sh on
// top of a locally debootstrapped base image. Container tests should guard themselves with
//   describe.skipIf(!dockerAvailable())(...)
// and set SANDBOX_SUPERVISOR_DOCKER_TESTS=0 to skip them on purpose.

import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Arch = "amd64" | "arm64";

export interface RunResult {
  /** Exit status of the docker CLI (for `docker run`: the container's status); null if killed. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when timeoutMs elapsed and the process (and its container) were killed. */
  timedOut: boolean;
}

export interface CommandOptions {
  /** Kill the docker CLI after this long (default 120 s; arm64 under qemu is slow). */
  timeoutMs?: number;
  /** Written to the process's stdin, then stdin is closed. */
  input?: string;
}

export interface RunContainerOptions extends CommandOptions {
  /** Container name; default a unique `ssv-test-...` name (used to clean up on timeout). */
  name?: string;
  /** Add `--rm` (default true). */
  rm?: boolean;
  /** Network mode (default "none": the test hosts have no other network). */
  network?: string;
}

export interface ExecOptions extends CommandOptions {
  user?: string;
  env?: Record<string, string>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CONTAINER_SCRIPTS = path.join(REPO_ROOT, "test", "container");
const DEFAULT_TIMEOUT_MS = 120_000;

let nameCounter = 0;
/** A container name unique to this process, so parallel test workers never collide. */
export function uniqueName(prefix = "ssv-test"): string {
  nameCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${nameCounter}`;
}

/** Run the docker CLI with `args`; never throws for a non-zero exit. */
export function docker(args: readonly string[], opts: CommandOptions = {}): Promise<RunResult> {
  return runCli("docker", args, opts);
}

/** Run `program` (an engine's CLI) with `args`, collecting its output; never throws for a non-zero exit. */
export function runCli(program: string, args: readonly string[], opts: CommandOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => undefined); // EPIPE if the program exits before reading
    child.stdin.end(opts.input ?? "");
  });
}

let available: boolean | undefined;
/**
 * True when a Docker engine answers. Starts (or installs) one through ensure-docker.sh when
 * none does, as CI machines start fresh. Cached for the process. Only
 * SANDBOX_SUPERVISOR_DOCKER_TESTS=0 skips the container tests: an engine that cannot be
 * started is an error, so a broken test bed never passes as "skipped".
 */
export function dockerAvailable(): boolean {
  if (available !== undefined) return available;
  if (process.env.SANDBOX_SUPERVISOR_DOCKER_TESTS === "0") return (available = false);
  const info = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000 });
  if (info.status === 0) return (available = true);
  const ensure = spawnSync(path.join(CONTAINER_SCRIPTS, "ensure-docker.sh"), [], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 600_000,
  });
  if (ensure.status !== 0) {
    throw new Error("no Docker engine could be started (see above); SANDBOX_SUPERVISOR_DOCKER_TESTS=0 skips these tests");
  }
  return (available = true);
}

/** arm64 containers run under qemu (slow); SANDBOX_SUPERVISOR_ARM64_TESTS=0 skips them. */
export function arm64TestsEnabled(): boolean {
  return process.env.SANDBOX_SUPERVISOR_ARM64_TESTS !== "0" && dockerAvailable();
}

/**
 * The tag build-image.sh gives the test image: $IMAGE_PREFIX-test:<arch>, the prefix
 * defaulting to sandbox-supervisor. Checkouts that run container tests at the same time on
 * one machine set their own IMAGE_PREFIX; the scripts inherit it from this process.
 */
export function testImageTag(arch: Arch): string {
  return process.env.IMAGE_TAG ?? `${process.env.IMAGE_PREFIX ?? "sandbox-supervisor"}-test:${arch}`;
}

const images = new Map<Arch, string>();
/**
 * Build the test image testImageTag(arch) (once per process) and return its tag. The first call
 * may take minutes (base image via debootstrap); later ones are cached. Throws with the
 * script's output when the build fails (e.g. `node build.mjs` was not run).
 */
export function ensureTestImage(arch: Arch = hostArch()): string {
  const cached = images.get(arch);
  if (cached) return cached;
  const res = spawnSync(path.join(CONTAINER_SCRIPTS, "build-image.sh"), [arch], {
    encoding: "utf8",
    timeout: 1_800_000,
  });
  const tag = res.stdout?.trim().split("\n").pop()?.trim() ?? "";
  if (res.status !== 0 || tag === "") {
    throw new Error(
      `build-image.sh ${arch} failed (status ${String(res.status)}${res.error ? `, ${res.error.message}` : ""}):\n${res.stderr ?? ""}`,
    );
  }
  images.set(arch, tag);
  return tag;
}

export function hostArch(): Arch {
  return process.arch === "arm64" ? "arm64" : "amd64";
}

/**
 * `docker run [--rm] --network none --name N <args>` in the foreground; `args` are run
 * options, the image and the command. On timeout the container is force-removed too, since
 * killing the CLI does not stop it.
 */
export async function runContainer(
  args: readonly string[],
  opts: RunContainerOptions = {},
): Promise<RunResult> {
  const name = opts.name ?? uniqueName();
  const runArgs = ["run", "--name", name, "--network", opts.network ?? "none"];
  if (opts.rm ?? true) runArgs.push("--rm");
  if (opts.input !== undefined) runArgs.push("-i");
  const res = await docker([...runArgs, ...args], opts);
  if (res.timedOut) await removeContainer(name);
  return res;
}

/**
 * `docker run -d --name <name> --network none <args>`; returns the container id. No --rm,
 * so exit status and logs stay inspectable; call removeContainer(name) when done.
 */
export async function startContainer(
  name: string,
  args: readonly string[],
  opts: CommandOptions = {},
): Promise<string> {
  const res = await docker(["run", "-d", "--name", name, "--network", "none", ...args], opts);
  if (res.code !== 0) {
    throw new Error(`docker run -d ${name} failed (${String(res.code)}): ${res.stderr.trim()}`);
  }
  return res.stdout.trim();
}

/** `docker exec [--user U] [-e K=V...] <name> <cmd...>`. */
export function exec(
  name: string,
  cmd: readonly string[],
  opts: ExecOptions = {},
): Promise<RunResult> {
  const args = ["exec"];
  if (opts.input !== undefined) args.push("-i");
  if (opts.user !== undefined) args.push("--user", opts.user);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push("--env", `${k}=${v}`);
  return docker([...args, name, ...cmd], opts);
}

/** Force-remove a container; a missing container is not an error. */
export async function removeContainer(name: string): Promise<void> {
  await docker(["rm", "--force", "--volumes", name], { timeoutMs: 60_000 });
}

/**
 * Poll `predicate` every `intervalMs` until it returns true; reject after `timeoutMs`.
 * Errors thrown by the predicate count as "not yet" (the last one is reported).
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`waitFor: condition not met within ${timeoutMs} ms${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
