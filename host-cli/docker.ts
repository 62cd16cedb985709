// sandboxctl's only way into a container: the docker CLI. Two environments are decided
// here, both pure:
//  - the docker CLI's own: only what it needs to find and reach the engine, so nothing of
//    the user's shell (NODE_OPTIONS, LD_PRELOAD, ...) travels with it or into a container;
//  - the environment of what runs inside (docker exec): the container's own variables
//    would otherwise apply, and they may carry a NODE_OPTIONS or LD_PRELOAD meant for the
//    gateway or pointing at files the sandbox user can write. The supervisor is a Node
//    single executable that honours NODE_OPTIONS, running as root.
import { spawn, type ChildProcess } from "node:child_process";

/** The supervisor executable in the image (image/Dockerfile); called by path, never via PATH. */
export const SUPERVISOR_PATH = "/usr/local/bin/supervisor";

/** Variables of the host's environment the docker CLI may keep, when set. */
export const DOCKER_CLI_VARIABLES = [
  "PATH",
  "HOME",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "DOCKER_CERT_PATH",
  "DOCKER_TLS_VERIFY",
  "DOCKER_API_VERSION",
  "SSH_AUTH_SOCK",
] as const;

/** Where the docker CLI is looked up when the host's PATH is unset. */
const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";
/** The PATH of a root shell: no directory the sandbox user can write. */
export const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Set (to the value shown) for every command run inside a container. Empty means "none":
 * Node and the dynamic linker treat an empty value like an unset one.
 */
export const CONTAINER_ENV: ReadonlyArray<readonly [string, string]> = [
  // Node single executable: --require/--import would run code as root before the command,
  // and a broken value (a missing file) makes the command fail.
  ["NODE_OPTIONS", ""],
  // Extra module directories for such a require.
  ["NODE_PATH", ""],
  // Shared objects the dynamic linker would load into the supervisor (and cat).
  ["LD_PRELOAD", ""],
  ["LD_LIBRARY_PATH", ""],
  ["LD_AUDIT", ""],
  // Files a non-interactive bash or sh sources before running anything.
  ["BASH_ENV", ""],
  ["ENV", ""],
  ["PATH", CONTAINER_PATH],
  // Who asks, for the supervisor's log of restart requests (its audit trail).
  ["SUPERVISOR_REQUEST_FROM", "sandboxctl"],
];

/** Pure: the docker CLI's environment, from the host's. */
export function dockerCliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of DOCKER_CLI_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== "") kept[name] = value;
  }
  kept.PATH ??= FALLBACK_PATH;
  return kept;
}

/**
 * Pure: `docker exec` of `command` in the container, as root (the control socket is
 * root-only), from / (not a directory the sandbox user can write), with CONTAINER_ENV.
 * No -i, no -t: nothing is read, and stdout and stderr stay apart.
 */
export function execArgs(containerId: string, command: readonly string[]): string[] {
  const env = CONTAINER_ENV.flatMap(([name, value]) => ["--env", `${name}=${value}`]);
  return ["exec", "--user", "root", "--workdir", "/", ...env, containerId, ...command];
}

export interface DockerResult {
  /** The docker CLI's exit status; null if it was killed or could not start. */
  status: number | null;
  stdout: string;
  /** docker could not be started at all (ENOENT: not installed or not in PATH). */
  spawnError?: NodeJS.ErrnoException;
  /** Killed by us when the deadline passed. */
  timedOut: boolean;
}

export interface DockerRunOptions {
  /** Kill the docker CLI at this time (ms since the epoch). */
  deadline?: number;
  /** Each complete line of stderr, as it arrives (without its newline). */
  onStderrLine?: (line: string) => void;
  /** Stop collecting stdout beyond this many characters. */
  maxStdoutChars?: number;
  /**
   * Let docker write straight to sandboxctl's stdout and stderr, in sandboxctl's process
   * group (docker logs: a Ctrl-C at the terminal ends both). Nothing is collected.
   */
  inherit?: boolean;
}

export interface RunningDocker {
  child: ChildProcess;
  done: Promise<DockerResult>;
}

function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    },
    end() {
      if (pending !== "") onLine(pending);
      pending = "";
    },
  };
}

/**
 * Starts the docker CLI with `args`. Unless `inherit`, it runs in a process group of its
 * own, so a Ctrl-C at the terminal reaches sandboxctl only, and sandboxctl decides what
 * happens to a request under way.
 */
export function startDocker(args: readonly string[], options: DockerRunOptions = {}): RunningDocker {
  const inherit = options.inherit === true;
  const child = spawn("docker", [...args], {
    env: dockerCliEnv(process.env),
    stdio: inherit ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
    detached: !inherit,
  });
  const done = new Promise<DockerResult>((resolve) => {
    let stdout = "";
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const max = options.maxStdoutChars ?? 1024 * 1024;
    const err = lineSplitter((line) => options.onStderrLine?.(line));
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < max) stdout += chunk.slice(0, max - stdout.length);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => err.push(chunk));
    const timer =
      options.deadline === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, Math.max(0, options.deadline - Date.now()));
    let settled = false;
    const settle = (status: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      err.end();
      resolve({ status: spawnError ? null : status, stdout, spawnError, timedOut });
    };
    // A docker that cannot be started reports "error" and may never report "close".
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      spawnError = error;
      settle(null);
    });
    child.once("close", (status) => settle(status));
  });
  return { child, done };
}

export type ContainerState =
  | { kind: "running"; id: string }
  | { kind: "stopped"; id: string; status: string }
  | { kind: "missing" }
  | { kind: "error"; message: string };

/** Pure: the answer of `docker inspect -f '{{.Id}} {{.State.Status}}'`. */
export function parseInspect(result: DockerResult, stderr: readonly string[]): ContainerState {
  if (result.spawnError) return { kind: "error", message: dockerSpawnMessage(result.spawnError) };
  if (result.timedOut) return { kind: "error", message: "docker inspect did not answer in time: is the Docker engine responsive?" };
  if (result.status === 0) {
    const match = /^([0-9a-f]{64}) (\S+)\s*$/.exec(result.stdout);
    if (match) {
      const [, id, status] = match as unknown as [string, string, string];
      return status === "running" ? { kind: "running", id } : { kind: "stopped", id, status };
    }
    return { kind: "error", message: "docker inspect gave an unexpected answer" };
  }
  const first = stderr.find((line) => line.trim() !== "") ?? `docker inspect exited with ${String(result.status)}`;
  if (/no such (object|container)/i.test(first)) return { kind: "missing" };
  return { kind: "error", message: first.trim() };
}

export function dockerSpawnMessage(error: NodeJS.ErrnoException): string {
  return error.code === "ENOENT"
    ? "the docker command was not found in PATH: install the Docker CLI"
    : `cannot run docker (${error.code ?? error.message})`;
}

/** Where the container stands now; its full id lets every later step name exactly it. */
export async function inspectContainer(container: string, deadline: number): Promise<ContainerState> {
  const stderr: string[] = [];
  const { done } = startDocker(["inspect", "--type", "container", "--format", "{{.Id}} {{.State.Status}}", container], {
    deadline,
    onStderrLine: (line) => stderr.push(line),
  });
  return parseInspect(await done, stderr);
}
