// Entry point of the `supervisor` executable: parses the command line and hands over to
// the one command asked for. Usage errors exit 2 before anything else happens.
import { parseArgs } from "node:util";
import { writeSync } from "node:fs";
import { STATUS } from "./init/exit.js";
import { boot } from "./boot/chain.js";
import { runInit } from "./init/run.js";
import { runControlCommand } from "./control/commands.js";

const VERSION = typeof __SUPERVISOR_VERSION__ === "string" ? __SUPERVISOR_VERSION__ : "dev";

const USAGE = `Usage:
  supervisor boot [[--] COMMAND [ARGS...]]
  supervisor run [--user NAME] [--grace SECONDS] -- COMMAND [ARGS...]
  supervisor restart [--timeout SECONDS] [--json] [--expect-pid PID --expect-start-time T]
  supervisor status [--json]
  supervisor health
  supervisor stop [--json]
  supervisor --version
  supervisor --help

Commands:
  boot      The sandbox boot chain (capabilities, config integrity, token, preload
            guards), then the gateway as user gateway; or, given COMMAND, COMMAND as
            user sandbox, exiting with its status. Settings: docs/configuration.md.
  run       Run COMMAND as PID 1's only child: forward signals, reap every orphan,
            exit with COMMAND's status (128+N if killed by signal N).
  restart   Ask PID 1 to stop the gateway, relaunch it and wait until it is healthy;
            prints the new pid. One restart at a time; others wait for it.
  status    Print the gateway's state, pid, uptime, restarts, last exit, capabilities.
  health    Exit 0 iff the gateway is healthy (Docker HEALTHCHECK, Kubernetes probes).
  stop      Ask PID 1 to stop the gateway; it stays stopped until 'supervisor restart'.

Options of run:
  --user NAME        run COMMAND as NAME (uid, gid and supplementary groups) via setpriv
  --grace SECONDS    after TERM/INT/QUIT, wait this long before SIGKILL of everything
                     left (default 8, below Docker's 10 s stop timeout)

Options of restart, status, stop:
  --timeout SECONDS  restart: give up after SECONDS, from 1 to 3600 (default 60)
  --json             print one JSON line on stdout and no progress
  --expect-pid PID --expect-start-time T
                     restart only if that is still the running gateway

Exit status of boot and run: COMMAND's status; 2 usage error; 78 boot refused;
125 the supervisor itself failed; 126 COMMAND cannot be executed; 127 COMMAND not found.
Exit status of restart, status, health, stop: 0 done (health: healthy); 1 failed
(health: not healthy); 2 usage error; 3 busy; 4 supervisor unavailable; 78 bad settings.
Each command: docs/supervisor-<command>.md.
`;

function print(text: string, fd = 1): void {
  writeSync(fd, text);
}

function usageError(message: string): never {
  print(`supervisor: ${message}\nTry 'supervisor --help'.\n`, 2);
  process.exit(STATUS.usage);
}

const DEFAULT_GRACE_SECONDS = 8;
const MAX_GRACE_SECONDS = 3600;

export function parseGrace(value: string | undefined): number {
  if (value === undefined) return DEFAULT_GRACE_SECONDS;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_GRACE_SECONDS)) {
    usageError(`--grace '${value}': expected a number of seconds from 0 to ${MAX_GRACE_SECONDS}`);
  }
  return seconds;
}

function runCommand(args: string[]): void {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { user: { type: "string" }, grace: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    usageError((error as Error).message.split("\n")[0]!);
  }
  if (parsed.values.help) {
    print(USAGE);
    process.exit(0);
  }
  const terminator = parsed.tokens.findIndex((t) => t.kind === "option-terminator");
  const beforeTerminator = terminator === -1 ? parsed.tokens : parsed.tokens.slice(0, terminator);
  const stray = beforeTerminator.find((t) => t.kind === "positional");
  if (stray && stray.kind === "positional") usageError(`unexpected '${stray.value}': put the command after --`);
  if (terminator === -1 || parsed.positionals.length === 0) usageError("run needs a command after --");
  if (parsed.values.user === "") usageError("--user needs a user name");
  runInit({ command: parsed.positionals, user: parsed.values.user, graceSeconds: parseGrace(parsed.values.grace) });
}

// Docker appends CMD to ENTRYPOINT ["supervisor", "boot"], so the command may come with or
// without "--"; an option-like first word is a usage error, not a command.
function bootCommand(args: string[]): void {
  const [first] = args;
  if (first === "--help" || first === "-h") {
    print(USAGE);
    process.exit(0);
  }
  if (first !== undefined && first !== "--" && first.startsWith("-")) usageError(`unknown option '${first}' for boot`);
  const command = first === "--" ? args.slice(1) : args;
  if (command.length > 0 && command[0] === "") usageError("boot: empty command");
  boot({ command: command.length > 0 ? command : undefined });
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  switch (command) {
    case "--version":
      print(`supervisor ${VERSION} (node ${process.version}, linux-${process.arch})\n`);
      process.exit(0);
    case "--help":
    case "-h":
      print(USAGE);
      process.exit(0);
    case "run":
      return runCommand(rest);
    case "boot":
      return bootCommand(rest);
    case "restart":
    case "status":
    case "health":
    case "stop":
      return runControlCommand(command, rest, USAGE);
    case undefined:
      return usageError("missing command");
    default:
      return usageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2));
