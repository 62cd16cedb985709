// Entry point of the `supervisor` executable: reads the command line through the shared
// command-line layer (supervisor/shared/supervisor-spec.ts is its table) and hands over to the
// one command asked for. Help, version and usage errors (exit 2) end here, before anything
// else happens.
//
// Start-up time is PID 1's time: `run` loads only the init stage. `boot` and the control
// commands are imported dynamically, which esbuild's CJS bundle turns into modules that are
// evaluated only when asked for (with their node:net, node:http, node:crypto, proper-lockfile).
// First of all, before any other module is evaluated: catch the signals an init must not lose.
import "./init/catch-early-signals.js";
import { writeSync } from "node:fs";
import type { ControlCommandName } from "./control/commands.js";
import { runInit } from "./init/run.js";
import { parseCommandLine, render, usageError, type CommandLine, type OptionValues } from "./shared/command-line.js";
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS, SUPERVISOR_PROGRAM } from "./shared/supervisor-spec.js";

function finish(outcome: Exclude<CommandLine, { kind: "run" }>): never {
  const { stdout, stderr, exit } = render(SUPERVISOR_PROGRAM, outcome);
  if (stdout) writeSync(1, stdout);
  if (stderr) writeSync(2, stderr);
  process.exit(exit);
}

/** -v and -q: one log level more or less than the command's default. */
function verbosity(options: OptionValues): number {
  return (options.verbose === true ? 1 : 0) - (options.quiet === true ? 1 : 0);
}

export function parseGrace(value: string | true | string[] | undefined): number | string {
  if (value === undefined) return DEFAULT_GRACE_SECONDS;
  const text = String(value);
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_GRACE_SECONDS)) return `--grace '${text}': expected a number of seconds from 0 to ${MAX_GRACE_SECONDS}`;
  return seconds;
}

function main(argv: string[]): void {
  const line = parseCommandLine(SUPERVISOR_PROGRAM, argv);
  if (line.kind !== "run") finish(line);
  const { command, options, args } = line;
  switch (command) {
    case "run": {
      const grace = parseGrace(options.grace);
      if (typeof grace === "string") finish(usageError("run", grace, false));
      if (options.user === "") finish(usageError("run", "--user needs a user name", false));
      if (args[0] === "") finish(usageError("run", "empty command, expected the command to run", false));
      return runInit({ command: args, user: options.user as string | undefined, graceSeconds: grace, verbosity: verbosity(options) });
    }
    case "boot":
      if (args[0] === "") finish(usageError("boot", "empty command, expected a command", false));
      return void import("./pid1.js").then(({ bootSandbox }) => bootSandbox({ command: args.length > 0 ? args : undefined, verbosity: verbosity(options) }));
    case "check":
      return void import("./boot/check.js").then(({ check }) => process.exit(check(line.json)));
    default:
      return void import("./control/commands.js").then(({ runControlCommand }) => runControlCommand(line.command as ControlCommandName, line));
  }
}

main(process.argv.slice(2));
