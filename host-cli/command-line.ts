// The command line of sandboxctl: which command, which container, which options. Pure, so
// every usage error is decided (and tested) without Docker.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { parseSignal, RELAYED_SIGNALS, type RelayedSignal } from "./signals.js";

export type CommandName = "restart" | "status" | "health" | "logs" | "token" | "signal";

export const COMMANDS: readonly CommandName[] = ["restart", "status", "health", "logs", "token", "signal"];

/** text: human lines and progress; json: one JSON line on stdout; quiet: nothing but a failure line. */
export type OutputMode = "text" | "json" | "quiet";

export type Command =
  | { command: "restart"; container: string; timeoutSeconds: number; output: OutputMode }
  | { command: "status"; container: string; timeoutSeconds: number; output: "text" | "json" }
  | { command: "health"; container: string; timeoutSeconds: number; output: "text" | "quiet" }
  | { command: "token"; container: string; timeoutSeconds: number }
  | { command: "logs"; container: string; tail: string | undefined; follow: boolean }
  | { command: "signal"; container: string; signal: RelayedSignal; timeoutSeconds: number; output: "text" | "quiet" };

export type Parsed =
  | { kind: "run"; command: Command }
  | { kind: "help"; text: string }
  | { kind: "version" }
  | { kind: "usage"; message: string; help: string };

export const MAX_TIMEOUT_SECONDS = 3600;
/** restart: the whole request, lock wait included; signal: the lock wait. */
export const DEFAULT_MUTATION_TIMEOUT_SECONDS = 60;
/** status, health, token: the whole exchange with the container. */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 20;

const SIGNAL_NAMES = RELAYED_SIGNALS.map((s) => s.slice(3)).join(", ");

const COMMAND_HELP: Record<CommandName, string> = {
  restart: `Usage: sandboxctl restart CONTAINER [--timeout SECONDS] [--json | --quiet]

Restart the gateway in CONTAINER through its supervisor and wait until the new one is
healthy; prints the new pid. One restart or signal per container at a time: others wait.

  --timeout SECONDS  give up after SECONDS, lock wait included (1-${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_MUTATION_TIMEOUT_SECONDS})
  --json             one JSON line on stdout, no progress
  --quiet            no output but a one-line reason on failure
`,
  status: `Usage: sandboxctl status CONTAINER [--timeout SECONDS] [--json]

Print the state of the gateway in CONTAINER: state, pid, uptime, restarts, last exit,
capabilities, mode.

  --timeout SECONDS  give up after SECONDS (1-${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_QUERY_TIMEOUT_SECONDS})
  --json             the report as one JSON line
`,
  health: `Usage: sandboxctl health CONTAINER [--timeout SECONDS] [--quiet]

Exit 0 if and only if the gateway in CONTAINER is healthy.

  --timeout SECONDS  give up after SECONDS (1-${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_QUERY_TIMEOUT_SECONDS})
  --quiet            print nothing but a one-line reason when no answer came
`,
  logs: `Usage: sandboxctl logs CONTAINER [--tail N] [--follow]

Print the log of CONTAINER (the supervisor's and the gateway's output): docker logs.

  --tail N           only the last N lines (N: a whole number, or all)
  -f, --follow       keep printing new lines until interrupted
`,
  token: `Usage: sandboxctl token CONTAINER [--timeout SECONDS]

Print the gateway token of CONTAINER's current boot (64 hex characters) and nothing else.

  --timeout SECONDS  give up after SECONDS (1-${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_QUERY_TIMEOUT_SECONDS})
`,
  signal: `Usage: sandboxctl signal CONTAINER SIGNAL [--timeout SECONDS] [--quiet]

Send SIGNAL to CONTAINER's PID 1, the supervisor (docker kill --signal). HUP restarts the
gateway; TERM, INT and QUIT stop the container gracefully; the others go to the gateway.
SIGNAL: ${SIGNAL_NAMES} (with or without SIG).
KILL, STOP and USR1 are refused.

  --timeout SECONDS  wait at most SECONDS for a restart or signal under way (1-${MAX_TIMEOUT_SECONDS}, default ${DEFAULT_MUTATION_TIMEOUT_SECONDS})
  --quiet            no output but a one-line reason on failure
`,
};

export const USAGE = `Usage:
  sandboxctl restart CONTAINER [--timeout SECONDS] [--json | --quiet]
  sandboxctl status  CONTAINER [--timeout SECONDS] [--json]
  sandboxctl health  CONTAINER [--timeout SECONDS] [--quiet]
  sandboxctl logs    CONTAINER [--tail N] [--follow]
  sandboxctl token   CONTAINER [--timeout SECONDS]
  sandboxctl signal  CONTAINER SIGNAL [--timeout SECONDS] [--quiet]
  sandboxctl COMMAND --help
  sandboxctl --version

Ask the supervisor (PID 1) of a sandbox container to act, through the docker CLI
(docker exec --user root, with a sanitized environment).

Commands:
  restart   restart the gateway and wait until it is healthy; prints the new pid
  status    print the gateway's state, pid, uptime, restarts, last exit, capabilities
  health    exit 0 iff the gateway is healthy
  logs      print the container's log (docker logs)
  token     print the gateway token of the current boot
  signal    send a signal to the supervisor (HUP: restart the gateway)

Exit status: 0 done (health: healthy); 1 failed (health: not healthy); 2 usage error;
3 container not found or not running; 4 supervisor unavailable; 5 busy; 128+N interrupted
by signal N. Details: docs/sandboxctl.md.
`;

const TIMEOUT = { timeout: { type: "string" } } as const;
const HELP = { help: { type: "boolean", short: "h" } } as const;

const OPTIONS: Record<CommandName, ParseArgsOptionsConfig> = {
  restart: { ...TIMEOUT, json: { type: "boolean" }, quiet: { type: "boolean" }, ...HELP },
  status: { ...TIMEOUT, json: { type: "boolean" }, ...HELP },
  health: { ...TIMEOUT, quiet: { type: "boolean" }, ...HELP },
  logs: { tail: { type: "string" }, follow: { type: "boolean", short: "f" }, ...HELP },
  token: { ...TIMEOUT, ...HELP },
  signal: { ...TIMEOUT, quiet: { type: "boolean" }, ...HELP },
};

/** A name or id as Docker accepts them; anything else (an option, a path) never reaches docker. */
const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

function isCommand(word: string | undefined): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word ?? "");
}

function timeoutOf(value: unknown, fallback: number): number | string {
  if (typeof value !== "string") return fallback;
  const n = /^[1-9]\d{0,3}$/.test(value) ? Number(value) : NaN;
  return n <= MAX_TIMEOUT_SECONDS ? n : `--timeout '${value}': expected a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`;
}

/** Pure: what `sandboxctl ARGS...` asks for, or why it is a usage error. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  const usage = (message: string, help = "sandboxctl --help"): Parsed => ({ kind: "usage", message, help });
  if (first === "--help" || first === "-h") return { kind: "help", text: USAGE };
  if (first === "--version") return { kind: "version" };
  if (first === undefined) return usage("missing command");
  if (!isCommand(first)) {
    return usage(first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`);
  }
  const command = first;
  const help = `sandboxctl ${command} --help`;
  let values: Record<string, string | boolean | Array<string | boolean> | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: OPTIONS[command], allowPositionals: true, strict: true }));
  } catch (error) {
    // Node appends advice about '--' to unknown options; the first sentence is the error.
    const message = (error as Error).message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/, "");
    return usage(`${command}: ${message}`, help);
  }
  if (values.help === true) return { kind: "help", text: COMMAND_HELP[command] };

  const wanted = command === "signal" ? 2 : 1;
  if (positionals.length < wanted) return usage(`${command}: missing ${positionals.length === 0 ? "CONTAINER" : "SIGNAL"}`, help);
  if (positionals.length > wanted) return usage(`${command}: unexpected argument '${positionals[wanted]!}'`, help);
  const container = positionals[0]!;
  if (!CONTAINER.test(container)) {
    return usage(`${command}: '${container}' is not a container name or id (letters, digits, '_', '.', '-')`, help);
  }
  if (values.json === true && values.quiet === true) return usage(`${command}: --json and --quiet exclude each other`, help);

  const defaultTimeout = command === "restart" || command === "signal" ? DEFAULT_MUTATION_TIMEOUT_SECONDS : DEFAULT_QUERY_TIMEOUT_SECONDS;
  const timeoutSeconds = timeoutOf(values.timeout, defaultTimeout);
  if (typeof timeoutSeconds === "string") return usage(`${command}: ${timeoutSeconds}`, help);
  const run = (parsed: Command): Parsed => ({ kind: "run", command: parsed });
  switch (command) {
    case "restart":
      return run({ command, container, timeoutSeconds, output: values.json === true ? "json" : values.quiet === true ? "quiet" : "text" });
    case "status":
      return run({ command, container, timeoutSeconds, output: values.json === true ? "json" : "text" });
    case "health":
      return run({ command, container, timeoutSeconds, output: values.quiet === true ? "quiet" : "text" });
    case "token":
      return run({ command, container, timeoutSeconds });
    case "logs": {
      const tail = values.tail;
      if (typeof tail === "string" && !/^(\d{1,9}|all)$/.test(tail)) {
        return usage(`logs: --tail '${tail}': expected a whole number of lines or 'all'`, help);
      }
      return run({ command, container, tail: typeof tail === "string" ? tail : undefined, follow: values.follow === true });
    }
    case "signal": {
      const signal = parseSignal(positionals[1]!);
      if (!signal.ok) return usage(`signal: ${signal.message}`, help);
      return run({ command, container, signal: signal.signal, timeoutSeconds, output: values.quiet === true ? "quiet" : "text" });
    }
  }
}
