// sandboxctl's only way into a container: the CLI of a container engine, docker or podman.
// Both take the same commands and flags for what sandboxctl does (inspect, exec, kill,
// logs, ps); where they differ, the difference is decided here, pure. Two environments are
// decided here too:
//  - the engine CLI's own: only what it needs to find and reach the engine, so nothing of
//    the user's shell (NODE_OPTIONS, LD_PRELOAD, ...) travels with it or into a container;
//  - the environment of what runs inside (exec): the container's own variables would
//    otherwise apply, and they may carry a NODE_OPTIONS or LD_PRELOAD meant for the
//    gateway or pointing at files the sandbox user can write. The supervisor is a Node
//    single executable that honours NODE_OPTIONS, running as root.
import { spawn, type ChildProcess } from "node:child_process";

export type EngineName = "docker" | "podman";

/** In the order sandboxctl looks for them when none is chosen. */
export const ENGINES: readonly EngineName[] = ["docker", "podman"];

/** The variable that chooses the engine when --engine is not given. */
export const ENGINE_VARIABLE = "SANDBOXCTL_ENGINE";

/** The supervisor executable in the image (image/Dockerfile); called by path, never via PATH. */
export const SUPERVISOR_PATH = "/usr/local/bin/supervisor";

/** Variables of the host's environment each engine's CLI may keep, when set. */
export const ENGINE_CLI_VARIABLES: Record<EngineName, readonly string[]> = {
  docker: [
    "PATH",
    "HOME",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_API_VERSION",
    "SSH_AUTH_SOCK",
  ],
  // Rootless podman finds its storage and its pause process through the XDG directories.
  podman: [
    "PATH",
    "HOME",
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINER_SSHKEY",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "DBUS_SESSION_BUS_ADDRESS",
    "SSH_AUTH_SOCK",
  ],
};

/** Where the engine CLI is looked up when the host's PATH is unset. */
export const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";
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

/**
 * Pure: which engine to use: --engine, else $SANDBOXCTL_ENGINE, else the first of docker
 * and podman whose CLI is in PATH (docker when neither is: its "not found" line says so).
 */
export function chooseEngine(
  flag: EngineName | undefined,
  env: NodeJS.ProcessEnv,
  onPath: (command: EngineName) => boolean,
): { ok: true; engine: EngineName } | { ok: false; message: string } {
  if (flag !== undefined) return { ok: true, engine: flag };
  const chosen = env[ENGINE_VARIABLE];
  if (chosen !== undefined && chosen !== "") {
    if ((ENGINES as readonly string[]).includes(chosen)) return { ok: true, engine: chosen as EngineName };
    return { ok: false, message: `${ENGINE_VARIABLE}='${chosen}': expected ${ENGINES.join(" or ")}` };
  }
  return { ok: true, engine: ENGINES.find(onPath) ?? "docker" };
}

/**
 * Pure: a hint written for Docker (`docker exec --user root ...`, by the supervisor, which
 * cannot know the engine) in the words of the engine in use.
 */
export function inEngineTerms(engine: EngineName, text: string): string {
  return engine === "docker" ? text : text.replace(/\bdocker (exec|run|logs|restart|start|stop|kill)\b/g, `${engine} $1`);
}

/** Pure: the engine CLI's environment, from the host's. */
export function engineCliEnv(engine: EngineName, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of ENGINE_CLI_VARIABLES[engine]) {
    const value = env[name];
    if (value !== undefined && value !== "") kept[name] = value;
  }
  kept.PATH ??= FALLBACK_PATH;
  return kept;
}

/**
 * Pure: `exec` of `command` in the container, as `user` (execUser), from / (not a directory
 * the sandbox user can write), with CONTAINER_ENV. No -i, no -t: nothing is read, and stdout
 * and stderr stay apart. The same for both engines.
 */
export function execArgs(containerId: string, command: readonly string[], user = "root"): string[] {
  const env = CONTAINER_ENV.flatMap(([name, value]) => ["--env", `${name}=${value}`]);
  return ["exec", "--user", user, "--workdir", "/", ...env, containerId, ...command];
}

/**
 * Pure: who asks the supervisor. Root, when the container runs as root: the control socket is
 * root-only. The container's own user when it runs as one (non-root mode, `--user 1000:1000`):
 * its supervisor's socket is in that uid's 0700 directory, which root cannot enter without
 * CAP_DAC_OVERRIDE (`--cap-drop ALL`).
 */
export function execUser(container: Pick<Inspected, "user">): string {
  const name = container.user.split(":")[0] ?? "";
  return name === "" || name === "root" || name === "0" ? "root" : container.user;
}

export interface LogsOptions {
  since?: string;
  tail?: string;
  timestamps: boolean;
  follow: boolean;
}

/** Pure: `logs` of the container. podman's --tail takes only a number; all lines is its default. */
export function logsArgs(engine: EngineName, containerId: string, options: LogsOptions): string[] {
  const tail = options.tail === "all" && engine === "podman" ? undefined : options.tail;
  return [
    "logs",
    ...(options.since !== undefined ? ["--since", options.since] : []),
    ...(tail !== undefined ? ["--tail", tail] : []),
    ...(options.timestamps ? ["--timestamps"] : []),
    ...(options.follow ? ["--follow"] : []),
    containerId,
  ];
}

/** Pure: the full ids of the running containers that pass every filter. */
export function psArgs(filters: readonly string[]): string[] {
  return ["ps", "--quiet", "--no-trunc", ...filters.flatMap((filter) => ["--filter", filter])];
}

/**
 * What `inspect` prints per container, one line of JSON values apart by tabs (JSON never has a
 * raw tab, and a format must start with an action for podman to apply it to each container):
 * id, state, name, the user it runs as, PID 1's executable as the engine started it, and the
 * engine's health record (the image's HEALTHCHECK runs `supervisor health`). The engine
 * recorded the executable and the user when it created the container; nothing inside the
 * container can change them.
 */
const INSPECT_FIELDS = ["id", "status", "name", "user", "path", "health", "args", "startedAt"] as const;
// The id and the state are plain words; podman 4.3 cannot apply `json` to .Id.
const INSPECT_FORMAT = ["{{.Id}}", "{{json .State.Status}}", "{{json .Name}}", "{{json .Config.User}}", "{{json .Path}}", "{{json .State.Health}}", "{{json .Args}}", "{{json .State.StartedAt}}"].join("\t");

export function inspectArgs(containers: readonly string[]): string[] {
  return ["inspect", "--type", "container", "--format", INSPECT_FORMAT, ...containers];
}

export interface EngineResult {
  /** The engine CLI's exit status; null if it was killed or could not start. */
  status: number | null;
  stdout: string;
  /** The CLI could not be started at all (ENOENT: not installed or not in PATH). */
  spawnError?: NodeJS.ErrnoException;
  /** Killed by us when the deadline passed. */
  timedOut: boolean;
}

export interface EngineRunOptions {
  /** Kill the engine CLI at this time (ms since the epoch). */
  deadline?: number;
  /** Each complete line of stderr, as it arrives (without its newline). */
  onStderrLine?: (line: string) => void;
  /** Stop collecting stdout beyond this many characters. */
  maxStdoutChars?: number;
  /** Each line of stdout as it comes, instead of collecting it. */
  onStdoutLine?: (line: string) => void;
  /**
   * Let the CLI write straight to sandboxctl's stdout and stderr, in sandboxctl's process
   * group (logs: a Ctrl-C at the terminal ends both). Nothing is collected.
   */
  inherit?: boolean;
}

export interface RunningEngine {
  child: ChildProcess;
  done: Promise<EngineResult>;
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
 * Starts the engine CLI with `args`. Unless `inherit`, it runs in a process group of its
 * own, so a Ctrl-C at the terminal reaches sandboxctl only, and sandboxctl decides what
 * happens to a request under way.
 */
export function startEngine(engine: EngineName, args: readonly string[], options: EngineRunOptions = {}): RunningEngine {
  const inherit = options.inherit === true;
  const child = spawn(engine, [...args], {
    env: engineCliEnv(engine, process.env),
    stdio: inherit ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
    detached: !inherit,
  });
  const done = new Promise<EngineResult>((resolve) => {
    let stdout = "";
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const max = options.maxStdoutChars ?? 1024 * 1024;
    const err = lineSplitter((line) => options.onStderrLine?.(line));
    const out = options.onStdoutLine === undefined ? undefined : lineSplitter(options.onStdoutLine);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      if (out !== undefined) out.push(chunk);
      else if (stdout.length < max) stdout += chunk.slice(0, max - stdout.length);
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
      out?.end();
      err.end();
      resolve({ status: spawnError ? null : status, stdout, spawnError, timedOut });
    };
    // A CLI that cannot be started reports "error" and may never report "close".
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      spawnError = error;
      settle(null);
    });
    child.once("close", (status) => settle(status));
  });
  return { child, done };
}

export function engineSpawnMessage(engine: EngineName, error: NodeJS.ErrnoException): string {
  if (error.code !== "ENOENT") return `cannot run ${engine} (${error.code ?? error.message})`;
  const other = ENGINES.find((e) => e !== engine)!;
  return `the ${engine} command was not found in PATH: install ${engine === "docker" ? "the Docker CLI" : "Podman"}, or use --engine ${other}`;
}

/** One container as `inspect` describes it. */
export interface Inspected {
  id: string;
  /** running, exited, created, paused, restarting, ... */
  status: string;
  /** Without the leading "/" docker adds. */
  name: string;
  /** The executable the engine started as PID 1. */
  path: string;
  /** Its arguments. */
  args: string[];
  /** The user the container runs as (`--user`), "" for the image's default. */
  user: string;
  /** The engine's health checks since the container's current start, newest first. */
  checks: HealthCheck[];
}

/** One run of the container's HEALTHCHECK, as the engine logged it. */
export interface HealthCheck {
  /** When it ended (ms since the epoch). */
  endedAt: number;
  exitCode: number;
  /** Its output, first line. */
  output: string;
}

/** Pure: one line of INSPECT_FORMAT, or undefined if it is not one. */
export function parseInspectLine(line: string): Inspected | undefined {
  const parts = line.replace(/\r?\n$/, "").split("\t");
  if (parts.length !== INSPECT_FIELDS.length) return undefined;
  let values: unknown[];
  try {
    values = parts.map((part, i) => (i === 0 ? part : (JSON.parse(part) as unknown)));
  } catch {
    return undefined;
  }
  const [id, status, name, user, path, health, args, startedAt] = values;
  if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id) || typeof status !== "string" || typeof name !== "string" || typeof path !== "string") return undefined;
  const argList = Array.isArray(args) ? args.filter((a): a is string => typeof a === "string") : [];
  // A check that ended before this start of the container is an earlier boot's.
  const started = typeof startedAt === "string" ? Date.parse(startedAt) : NaN;
  const checks = checksOf(health).filter((check) => !(Number.isFinite(started) && check.endedAt < started));
  return { id, status, name: name.replace(/^\//, ""), path, args: argList, user: typeof user === "string" ? user : "", checks };
}

/** Pure: the entries of the engine's health log (docker keeps the last five), newest first. */
function checksOf(health: unknown): HealthCheck[] {
  const log = (health as { Log?: unknown } | null)?.Log;
  if (!Array.isArray(log)) return [];
  const checks: HealthCheck[] = [];
  for (const entry of log as Array<{ End?: unknown; ExitCode?: unknown; Output?: unknown } | null>) {
    const endedAt = typeof entry?.End === "string" ? Date.parse(entry.End) : NaN;
    if (!Number.isFinite(endedAt) || typeof entry?.ExitCode !== "number") continue;
    const output = typeof entry.Output === "string" ? (entry.Output.split("\n")[0] ?? "").trim() : "";
    checks.push({ endedAt, exitCode: entry.ExitCode, output });
  }
  return checks.sort((a, b) => b.endedAt - a.endedAt);
}

/** Pure: does the engine say PID 1 of this container is the supervisor? */
export function runsSupervisor(container: Inspected): boolean {
  return container.path === SUPERVISOR_PATH;
}

/**
 * Pure: may PID 1 become the supervisor? Either it is, or it names it in its arguments: a
 * wrapper (`sh -c '...; exec /usr/local/bin/supervisor boot'`) becomes it by exec. A PID 1
 * that does neither never writes a token.
 */
export function mayBecomeSupervisor(container: Inspected): boolean {
  return runsSupervisor(container) || container.args.some((arg) => arg.includes(SUPERVISOR_PATH));
}

export type ContainerState =
  | { kind: "running"; container: Inspected }
  | { kind: "stopped"; container: Inspected }
  | { kind: "missing" }
  | { kind: "error"; message: string };

/** Pure: the answer of `inspect` for one container. */
export function parseInspect(engine: EngineName, result: EngineResult, stderr: readonly string[]): ContainerState {
  if (result.spawnError) return { kind: "error", message: engineSpawnMessage(engine, result.spawnError) };
  if (result.timedOut) return { kind: "error", message: `${engine} inspect did not answer in time: is the engine responsive?` };
  if (result.status === 0) {
    const container = parseInspectLine(result.stdout);
    if (container === undefined) return { kind: "error", message: `${engine} inspect gave an unexpected answer` };
    return container.status === "running" ? { kind: "running", container } : { kind: "stopped", container };
  }
  const first = stderr.find((line) => line.trim() !== "") ?? `${engine} inspect exited with ${String(result.status)}`;
  // docker: "Error: No such container: x" (older: "No such object"); podman: "Error: no such container x".
  if (/no such (object|container)/i.test(first)) return { kind: "missing" };
  return { kind: "error", message: first.trim() };
}

/** Where the container stands now; its full id lets every later step name exactly it. */
export async function inspectContainer(engine: EngineName, container: string, deadline: number): Promise<ContainerState> {
  const stderr: string[] = [];
  const { done } = startEngine(engine, inspectArgs([container]), { deadline, onStderrLine: (line) => stderr.push(line) });
  return parseInspect(engine, await done, stderr);
}

/**
 * The running containers whose PID 1 is the supervisor, among those that pass `filters`
 * (ps), sorted by name. A container that ends between ps and inspect is left out.
 */
export async function listSupervised(
  engine: EngineName,
  filters: readonly string[],
  deadline: number,
): Promise<{ ok: true; containers: Inspected[] } | { ok: false; message: string }> {
  const failure = (what: string, result: EngineResult, stderr: readonly string[]): { ok: false; message: string } => {
    if (result.spawnError) return { ok: false, message: engineSpawnMessage(engine, result.spawnError) };
    if (result.timedOut) return { ok: false, message: `${engine} ${what} did not answer in time: is the engine responsive?` };
    const first = stderr.find((line) => line.trim() !== "")?.trim();
    return { ok: false, message: `${engine} ${what} failed: ${first ?? `status ${String(result.status)}`}` };
  };
  const psErr: string[] = [];
  const ps = await startEngine(engine, psArgs(filters), { deadline, onStderrLine: (line) => psErr.push(line) }).done;
  if (ps.status !== 0) return failure("ps", ps, psErr);
  const ids = ps.stdout.split("\n").map((line) => line.trim()).filter((line) => /^[0-9a-f]{64}$/.test(line));
  if (ids.length === 0) return { ok: true, containers: [] };
  const inspectErr: string[] = [];
  const inspected = await startEngine(engine, inspectArgs(ids), { deadline, onStderrLine: (line) => inspectErr.push(line) }).done;
  // Exit 1 with the others printed when one of them is gone by now.
  if (inspected.spawnError || inspected.timedOut) return failure("inspect", inspected, inspectErr);
  const described = inspected.stdout.split("\n").map(parseInspectLine).filter((c): c is Inspected => c !== undefined);
  if (described.length === 0 && inspected.status !== 0) return failure("inspect", inspected, inspectErr);
  const containers = described.filter((c) => c.status === "running" && runsSupervisor(c)).sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
  return { ok: true, containers };
}
