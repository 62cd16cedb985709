// The command line of sandboxctl: its table of commands for the shared command-line layer
// (supervisor/shared/command-line.ts), and what a parsed line means as a typed command.
// Pure, so every usage error is decided (and tested) without an engine.
import {
  parseCommandLine as parseWith,
  usageError,
  type CommandLine,
  type CommandSpec,
  type OptionSpec,
  type OptionValues,
  type ProgramSpec,
} from "../supervisor/shared/command-line.js";
import { ENGINE_VARIABLE, ENGINES, type EngineName } from "./engine.js";
import { parseSignal, RELAYED_SIGNALS, type RelayedSignal } from "./signals.js";

export type CommandName = "restart" | "start" | "stop" | "status" | "health" | "check" | "logs" | "token" | "signal";

/** text: human lines and progress; json: one JSON line on stdout; quiet: nothing but a failure line. */
export type OutputMode = "text" | "json" | "quiet";

/** Which containers `status` asks: the ones named, or every running sandbox (--all). */
export type StatusTargets = { kind: "named"; containers: string[] } | { kind: "all"; filters: string[] };

/** restart, start, stop: the same shape, one member each so a command can be picked by name. */
type Request<Name extends string> = { command: Name; container: string; timeoutSeconds: number; output: OutputMode };

export type Command =
  | Request<"restart">
  | Request<"start">
  | Request<"stop">
  | { command: "status"; targets: StatusTargets; timeoutSeconds: number; output: "text" | "json"; full: boolean; parallel: number }
  | Request<"health">
  | Request<"check">
  | { command: "token"; container: string; timeoutSeconds: number }
  | { command: "logs"; targets: StatusTargets; since: string | undefined; tail: string | undefined; timestamps: boolean; follow: boolean }
  | { command: "signal"; container: string; signal: RelayedSignal; timeoutSeconds: number; output: OutputMode }
  | { command: "fleet"; verb: "restart" | "start" | "stop" | "check"; targets: StatusTargets; timeoutSeconds: number; output: OutputMode; parallel: number };

export type Parsed = { kind: "run"; command: Command; engine: EngineName | undefined; json: boolean } | Exclude<CommandLine, { kind: "run" }>;

export const MAX_TIMEOUT_SECONDS = 3600;
/** restart, start, stop: the whole request, lock wait included; signal: the lock wait. */
export const DEFAULT_MUTATION_TIMEOUT_SECONDS = 60;
/** status, health, token: the whole exchange with the container(s). */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 20;

const SIGNAL_NAMES = RELAYED_SIGNALS.map((s) => s.slice(3)).join(", ");

const timeout = (what: string, seconds: number): OptionSpec => ({
  name: "timeout",
  value: "SECONDS",
  help: `${what} (1-${MAX_TIMEOUT_SECONDS}, default ${seconds})`,
});
const JSON_FLAG: OptionSpec = { name: "json", help: "one JSON object on stdout, no progress" };
const QUIET: OptionSpec = { name: "quiet", short: "q", help: "no output but a one-line reason on failure" };
const CONTAINER = { name: "CONTAINER", expected: "a container name or id" } as const;
/** restart, start, stop, check: one container, several, or every sandbox (--all). */
const MANY = { ...CONTAINER, optional: true, variadic: true } as const;
const FLEET_OPTIONS: OptionSpec[] = [
  { name: "all", help: "every running container whose PID 1 is the supervisor" },
  { name: "filter", value: "FILTER", repeatable: true, help: "with --all: only containers that pass FILTER (engine ps --filter,\ne.g. label=KEY=VALUE); repeatable (every filter must pass)" },
  { name: "parallel", value: "N", help: "ask at most N containers at once (1 to 64, default 4)" },
];
const FLEET_NOTE = "\nOf several containers (or --all): each line starts with 'CONTAINER: '; --json prints an array.";
const STATUSES_ASKED = "Exit status: 0 done; 1 failed (the layer is printed); 2 usage error; 3 container not running;\n4 supervisor unavailable; 5 busy; 128+N interrupted by signal N.";

/** The documentation page of a command, as shipped beside the bundle; none in a bare executable. */
function pageOf(docsDir: string | undefined, page: string): string {
  return docsDir !== undefined ? `\nManual: ${docsDir}/${page}` : "";
}

const COMMANDS = (docsDir: string | undefined): CommandSpec[] => [
  {
    name: "restart",
    summary: "restart the gateway and wait until it is healthy; prints the new pid",
    synopsis: ["restart CONTAINER... [--timeout SECONDS] [--parallel N] [--json | --quiet]", "restart --all [--filter FILTER]... [--timeout SECONDS] [--parallel N] [--json | --quiet]"],
    description:
      "Restart the gateway in CONTAINER through its supervisor (supervisor restart) and wait\nuntil the new one is healthy; prints the new pid. One restart, start, stop or signal per\ncontainer at a time: others wait.",
    options: [timeout("give up after SECONDS, lock wait included", DEFAULT_MUTATION_TIMEOUT_SECONDS), JSON_FLAG, QUIET, ...FLEET_OPTIONS],
    args: [MANY],
    exclusive: [["json", "quiet"]],
    footer: STATUSES_ASKED + FLEET_NOTE + pageOf(docsDir, "sandboxctl-restart.md"),
  },
  {
    name: "start",
    summary: "start the gateway again after a stop; nothing if one runs",
    synopsis: ["start CONTAINER... [--timeout SECONDS] [--parallel N] [--json | --quiet]", "start --all [--filter FILTER]... [--timeout SECONDS] [--parallel N] [--json | --quiet]"],
    description:
      "Start the gateway in CONTAINER again after 'sandboxctl stop' (or a quarantine) and wait\nuntil it is healthy; prints its pid. A gateway that is not stopped is left as it is\n(exit 0). Inside, this is supervisor start, which decides and launches in one step.",
    options: [timeout("give up after SECONDS, lock wait included", DEFAULT_MUTATION_TIMEOUT_SECONDS), JSON_FLAG, QUIET, ...FLEET_OPTIONS],
    args: [MANY],
    exclusive: [["json", "quiet"]],
    footer: STATUSES_ASKED + FLEET_NOTE + pageOf(docsDir, "sandboxctl-start.md"),
  },
  {
    name: "stop",
    summary: "stop the gateway; it stays stopped until start or restart",
    synopsis: ["stop CONTAINER... [--timeout SECONDS] [--parallel N] [--json | --quiet]", "stop --all [--filter FILTER]... [--timeout SECONDS] [--parallel N] [--json | --quiet]"],
    description:
      "Stop the gateway in CONTAINER (supervisor stop); the container and its supervisor keep\nrunning, and no gateway is launched until 'sandboxctl start' or 'sandboxctl restart'.",
    options: [timeout("wait at most SECONDS for another request on CONTAINER", DEFAULT_MUTATION_TIMEOUT_SECONDS), JSON_FLAG, QUIET, ...FLEET_OPTIONS],
    args: [MANY],
    exclusive: [["json", "quiet"]],
    footer: STATUSES_ASKED + FLEET_NOTE + pageOf(docsDir, "sandboxctl-stop.md"),
  },
  {
    name: "status",
    summary: "print the gateway's state; of several sandboxes, or all, as a table",
    synopsis: ["status CONTAINER... [--parallel N] [--timeout SECONDS] [--json]", "status --all [--filter FILTER]... [--full] [--parallel N] [--timeout SECONDS] [--json]"],
    description:
      "Print the state of the gateway in CONTAINER: state, pid, uptime, restarts, last exit,\ncapabilities, mode. Of several containers, or with --all of every running container whose\nPID 1 is the supervisor, one table row each (--json: an array of objects). --all takes\nstate and pid from the engine's last health check of the container's current start (at\nmost 5 minutes old), and asks the others.",
    options: [
      timeout("give up after SECONDS", DEFAULT_QUERY_TIMEOUT_SECONDS),
      { name: "json", help: "one JSON line on stdout: an object, or for several containers\nor --all an array of objects" },
      { name: "all", help: "every running container whose PID 1 is the supervisor" },
      { name: "filter", value: "FILTER", repeatable: true, help: "with --all: only containers that pass FILTER (engine ps --filter,\ne.g. label=KEY=VALUE); repeatable (every filter must pass)" },
      { name: "full", help: "with --all: ask every supervisor for its full report, never the health check" },
      { name: "parallel", value: "N", help: `ask at most N containers at once (1 to 64, default ${DEFAULT_PARALLEL})` },
    ],
    args: [{ ...CONTAINER, optional: true, variadic: true }],
    footer: `${STATUSES_ASKED}\nOf several containers: 0 if every one answered, else the status of the first that did not.${pageOf(docsDir, "sandboxctl-status.md")}`,
  },
  {
    name: "health",
    summary: "exit 0 iff the gateway is healthy",
    synopsis: ["health CONTAINER [--timeout SECONDS] [--json | --quiet]"],
    description: "Exit 0 if and only if the gateway in CONTAINER is healthy.",
    options: [
      timeout("give up after SECONDS", DEFAULT_QUERY_TIMEOUT_SECONDS),
      { name: "json", help: "one JSON object: ok, healthy, state, pid, detail" },
      { name: "quiet", short: "q", help: "print nothing but a one-line reason when no answer came" },
    ],
    args: [CONTAINER],
    exclusive: [["json", "quiet"]],
    footer: `Exit status: 0 healthy; 1 not healthy; 2 usage error; 3 container not running;\n4 supervisor unavailable; 5 busy; 128+N interrupted by signal N.${pageOf(docsDir, "sandboxctl-health.md")}`,
  },
  {
    name: "check",
    summary: "every check of a boot and a launch, writing nothing; exit 0 or 78 with every problem",
    synopsis: ["check CONTAINER... [--timeout SECONDS] [--parallel N] [--json]", "check --all [--filter FILTER]... [--timeout SECONDS] [--parallel N] [--json]"],
    description:
      "Run `supervisor check` in CONTAINER: every check the boot chain and a gateway launch make\n" +
      "(settings, users, capabilities, legacy layout, config integrity, guard sources, gateway\n" +
      "command), writing nothing, one line per check.",
    options: [timeout("give up after SECONDS", DEFAULT_QUERY_TIMEOUT_SECONDS), { name: "json", help: "one JSON object: ok, checks" }, ...FLEET_OPTIONS],
    args: [MANY],
    footer: `Exit status: 0 every check passed; 78 a problem was found; 2 usage error; 3 container not\nrunning; 4 supervisor unavailable; 128+N interrupted by signal N.${FLEET_NOTE}${pageOf(docsDir, "sandboxctl-check.md")}`,
  },
  {
    name: "logs",
    summary: "print the container's log; of several, each line named",
    synopsis: ["logs CONTAINER... [--since TIME] [-n N] [-t] [-f]", "logs --all [--filter FILTER]... [--since TIME] [-n N] [-t] [-f]"],
    description:
      "Print the log of CONTAINER (the supervisor's and the gateway's output): engine logs.\n" +
      "Of several containers, or --all, each line starts with 'CONTAINER: ': one container after\n" +
      "the other, or with --follow all at once as the lines come.",
    options: [
      FLEET_OPTIONS[0]!,
      FLEET_OPTIONS[1]!,
      { name: "since", value: "TIME", help: "only lines since TIME: a timestamp (2025-01-02T15:04:05) or\nrelative (10m, 1h30m)" },
      { name: "tail", short: "n", value: "N", help: "only the last N lines (N: a whole number, or all)" },
      { name: "timestamps", short: "t", help: "prefix each line with the time it was written" },
      { name: "follow", short: "f", help: "keep printing new lines until interrupted" },
    ],
    args: [MANY],
    footer: `Exit status: 0; 1 the engine's logs failed; 2 usage error; 3 no such container;\n4 no engine command; 128+N interrupted by signal N. Of several: 0 if every log was\nprinted, else the status of the first that was not.${pageOf(docsDir, "sandboxctl-logs.md")}`,
  },
  {
    name: "token",
    summary: "print the gateway token of the current boot",
    synopsis: ["token CONTAINER [--timeout SECONDS]"],
    description: "Print the gateway token of CONTAINER's current boot (64 hex characters) and nothing else.",
    options: [timeout("give up after SECONDS", DEFAULT_QUERY_TIMEOUT_SECONDS)],
    args: [CONTAINER],
    footer: `Exit status: 0; 1 no token, or not the expected content; 2; 3; 4; 128+N.${pageOf(docsDir, "sandboxctl-token.md")}`,
  },
  {
    name: "signal",
    summary: "send a signal to the supervisor (HUP: restart the gateway)",
    synopsis: ["signal CONTAINER SIGNAL [--timeout SECONDS] [--json | --quiet]"],
    description: `Send SIGNAL to CONTAINER's PID 1 (engine kill --signal) once the engine shows that PID 1
is the supervisor. HUP restarts the gateway; TERM, INT and QUIT stop the container
gracefully; the others go to the gateway.
SIGNAL: ${SIGNAL_NAMES} (with or without SIG). KILL, STOP and USR1 are refused.`,
    options: [timeout("wait at most SECONDS for another request on CONTAINER", DEFAULT_MUTATION_TIMEOUT_SECONDS), JSON_FLAG, QUIET],
    args: [CONTAINER, { name: "SIGNAL", expected: `a signal name, one of ${SIGNAL_NAMES}` }],
    exclusive: [["json", "quiet"]],
    footer: `Exit status: 0 sent; 2 usage error or refused signal; 3 container not running;\n4 PID 1 is not the supervisor, or the engine's kill failed; 5 busy; 128+N.${pageOf(docsDir, "sandboxctl-signal.md")}`,
  },
];

export const ENGINE_OPTION: OptionSpec = {
  name: "engine",
  value: "ENGINE",
  help: `docker or podman (default: $${ENGINE_VARIABLE}, else the first\nof docker, podman in PATH)`,
};

/**
 * The sandboxctl table. `docsDir` is where the documentation pages are, when they ship
 * beside the program (the npm package); the help then names each command's page.
 */
export function sandboxctlProgram(version: string, versionDetail: string, docsDir?: string): ProgramSpec {
  return {
    name: "sandboxctl",
    version,
    versionDetail,
    description:
      "Ask the supervisor (PID 1) of a sandbox container to act, through the docker or podman CLI\n(exec --user root, with a sanitized environment).",
    globalOptions: [ENGINE_OPTION],
    commands: COMMANDS(docsDir),
    footer: `Exit status: 0 done (health: healthy); 1 failed (health: not healthy); 2 usage error;
3 container not found or not running; 4 supervisor unavailable; 5 busy; 128+N interrupted
by signal N.
'sandboxctl COMMAND --help' (or 'sandboxctl help COMMAND') describes each command.${pageOf(docsDir, "sandboxctl.md")}`,
  };
}

/** A name or id as the engines accept them; anything else (an option, a path) never reaches them. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
/** ps filters, KEY=VALUE: label=a=b, name=x, ancestor=img; the engine checks the rest. */
const FILTER = /^[a-z]+=[^\s]{1,500}$/;
/**
 * What docker and podman logs --since both accept: a Go duration (10m, 1h30m, 90s), a Unix
 * time (1733300000), or an RFC 3339 date or time (2025-01-02, 2025-01-02T15:04:05Z). Anything
 * else (5min, yesterday) is a usage error here, not the engine's raw error.
 */
const SINCE = new RegExp(
  [
    "^(\\d+(\\.\\d+)?(ns|us|ms|s|m|h))+$",
    "^\\d{9,10}(\\.\\d{1,9})?$",
    "^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})?)?$",
  ].join("|"),
);

function timeoutOf(value: unknown, fallback: number): number | string {
  if (typeof value !== "string") return fallback;
  const n = /^[1-9]\d{0,3}$/.test(value) ? Number(value) : NaN;
  return n <= MAX_TIMEOUT_SECONDS ? n : `--timeout '${value}': expected a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`;
}

function outputOf(options: OptionValues): OutputMode {
  return options.json === true ? "json" : options.quiet === true ? "quiet" : "text";
}

/** Pure: what `sandboxctl ARGS...` asks for, or why it is a usage error. */
export function parseCommandLine(argv: readonly string[], program: ProgramSpec = sandboxctlProgram("dev", "")): Parsed {
  const line = parseWith(program, argv);
  if (line.kind !== "run") return line;
  const { options, args, json } = line;
  const command = line.command as CommandName;
  const common = commonOptions(command, options, args);
  if (typeof common === "string") return usageError(command, common, json);
  const parsed = commandOf(command, options, args, json, common.timeoutSeconds);
  if (typeof parsed === "string") return usageError(command, parsed, json);
  return { kind: "run", command: parsed, engine: common.engine, json };
}

/** What every command takes alike: the engine, container names, the timeout; or the usage error. */
function commonOptions(command: CommandName, options: OptionValues, args: readonly string[]): { engine: EngineName | undefined; timeoutSeconds: number } | string {
  const engine = options.engine;
  if (typeof engine === "string" && !(ENGINES as readonly string[]).includes(engine)) {
    return `--engine '${engine}': expected ${ENGINES.join(" or ")}`;
  }
  for (const container of command === "signal" ? args.slice(0, 1) : args) {
    if (!CONTAINER_NAME.test(container)) return `'${container}' is not a container name or id, expected letters, digits, '_', '.', '-'`;
  }
  const defaultTimeout = ["restart", "start", "stop", "signal"].includes(command) ? DEFAULT_MUTATION_TIMEOUT_SECONDS : DEFAULT_QUERY_TIMEOUT_SECONDS;
  const timeoutSeconds = timeoutOf(options.timeout, defaultTimeout);
  if (typeof timeoutSeconds === "string") return timeoutSeconds;
  return { engine: engine as EngineName | undefined, timeoutSeconds };
}

/** The command's own options and arguments; a string is the usage error. */
function commandOf(command: CommandName, options: OptionValues, args: readonly string[], json: boolean, timeoutSeconds: number): Command | string {
  const container = args[0]!;
  switch (command) {
    case "restart":
    case "start":
    case "stop":
    case "check":
      return manyCommand(command, options, args, timeoutSeconds);
    case "health":
      return { command, container, timeoutSeconds, output: outputOf(options) };
    case "token":
      return { command, container, timeoutSeconds };
    case "status":
      return statusCommand(options, args, json, timeoutSeconds);
    case "logs":
      return logsCommand(options, args);
    case "signal": {
      const signal = parseSignal(args[1]!);
      if (!signal.ok) return signal.message;
      return { command, container, signal: signal.signal, timeoutSeconds, output: outputOf(options) };
    }
  }
}

/** restart, start, stop, check: of one container as ever, or of several (or --all) as a fleet. */
function manyCommand(command: "restart" | "start" | "stop" | "check", options: OptionValues, args: readonly string[], timeoutSeconds: number): Command | string {
  const parallel = parseParallel(options.parallel);
  if (typeof parallel === "string") return parallel;
  const output = outputOf(options);
  const targets = targetsOf(command, options, args);
  if (typeof targets === "string") return targets;
  if (targets.kind === "named" && targets.containers.length === 1) return { command, container: targets.containers[0]!, timeoutSeconds, output };
  return { command: "fleet", verb: command, targets, timeoutSeconds, output, parallel };
}

function statusCommand(options: OptionValues, args: readonly string[], json: boolean, timeoutSeconds: number): Command | string {
  const output = json ? "json" : "text";
  const parallel = parseParallel(options.parallel);
  if (typeof parallel === "string") return parallel;
  const full = options.full === true;
  const targets = targetsOf("status", options, args);
  if (typeof targets === "string") return targets;
  if (full && targets.kind === "named") return "--full goes with --all (a named container is always asked), expected status --all --full";
  return { command: "status", targets, timeoutSeconds, output, full, parallel };
}

/** Named containers, or --all with its filters; a string is the usage error. */
function targetsOf(command: string, options: OptionValues, args: readonly string[]): StatusTargets | string {
  const filters = Array.isArray(options.filter) ? options.filter : [];
  if (options.all === true) {
    if (args.length > 0) return `--all and a container name ('${args[0]!}') exclude each other, expected one of them`;
    const bad = filters.find((f) => !FILTER.test(f));
    if (bad !== undefined) return `--filter '${bad}': expected KEY=VALUE, e.g. label=sandbox`;
    return { kind: "all", filters };
  }
  if (filters.length > 0) return `--filter goes with --all, expected ${command} --all --filter FILTER`;
  if (args.length === 0) return "missing CONTAINER, expected a container name or id, or --all";
  return { kind: "named", containers: [...args] };
}

/** How many containers are asked at once by default: quick, and light on a small host. */
export const DEFAULT_PARALLEL = 4;

function parseParallel(value: unknown): number | string {
  if (value === undefined) return DEFAULT_PARALLEL;
  const n = Number(value);
  return typeof value === "string" && /^[0-9]+$/.test(value) && n >= 1 && n <= 64 ? n : `--parallel '${String(value)}': expected a whole number from 1 to 64`;
}

function logsCommand(options: OptionValues, args: readonly string[]): Command | string {
  const { tail, since } = options;
  const targets = targetsOf("logs", options, args);
  if (typeof targets === "string") return targets;
  if (typeof tail === "string" && !/^(\d{1,9}|all)$/.test(tail)) return `--tail '${tail}': expected a whole number of lines or 'all'`;
  if (typeof since === "string" && !SINCE.test(since)) {
    return `--since '${since}': expected a duration (10m, 1h30m, 90s), a Unix time, or a date or time (2025-01-02T15:04:05Z)`;
  }
  return {
    command: "logs",
    targets,
    since: typeof since === "string" ? since : undefined,
    tail: typeof tail === "string" ? tail : undefined,
    timestamps: options.timestamps === true,
    follow: options.follow === true,
  };
}
