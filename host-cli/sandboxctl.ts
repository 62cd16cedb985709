// Entry point of `sandboxctl`, the host command that asks a sandbox container's supervisor
// to act (SPEC 7). Usage errors exit 2 before anything else happens; every other path
// ends in one exit status from the command (docs/sandboxctl.md).
import { parseCommandLine } from "./command-line.js";
import { runCommand } from "./commands.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { fdOutput } from "./output.js";

const VERSION = typeof __SUPERVISOR_VERSION__ === "string" ? __SUPERVISOR_VERSION__ : "dev";

/** The signals that interrupt a command: Ctrl-C, kill, a closed terminal. */
const INTERRUPTS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

async function main(argv: readonly string[]): Promise<number> {
  const stdout = fdOutput(1);
  const stderr = fdOutput(2);
  const parsed = parseCommandLine(argv);
  switch (parsed.kind) {
    case "usage":
      stderr.write(`sandboxctl: ${parsed.message}\nTry '${parsed.help}'.\n`);
      return EXIT.usage;
    case "help":
      stdout.write(parsed.text);
      return EXIT.ok;
    case "version":
      stdout.write(`sandboxctl ${VERSION} (node ${process.version})\n`);
      return EXIT.ok;
    case "run":
      break;
  }
  // The first interrupt lets the command end in order (release its lock, say what became
  // of the request); a second one ends sandboxctl at once.
  const controller = new AbortController();
  for (const signal of INTERRUPTS) {
    process.on(signal, () => {
      if (controller.signal.aborted) process.exit(interruptedStatus(signal));
      controller.abort(signal);
    });
  }
  return runCommand({ stdout, stderr, abort: controller.signal, env: process.env }, parsed.command);
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    fdOutput(2).write(`sandboxctl: unexpected failure: ${(error as Error).message ?? String(error)}\n`);
    process.exit(EXIT.ownFailure);
  },
);
