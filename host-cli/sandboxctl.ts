// Entry point of `sandboxctl`, the host command that asks a sandbox container's supervisor
// to act (docs/sandboxctl.md). The command line (command-line.ts) decides help, version and usage
// errors (exit 2) before anything else happens; every other path ends in one exit status
// from the command (docs/sandboxctl.md).
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { render } from "../supervisor/shared/command-line.js";
import { parseCommandLine, sandboxctlProgram } from "./command-line.js";
import { runCommand } from "./commands.js";
import { chooseEngine, ENGINE_VARIABLE, engineCliEnv, ENGINES, type EngineName } from "./engine.js";
import { EXIT, interruptedStatus } from "./exit.js";
import { fdOutput } from "../supervisor/shared/output.js";
import { errorMessage } from "../supervisor/shared/errors.js";

const VERSION = typeof __SUPERVISOR_VERSION__ === "string" ? __SUPERVISOR_VERSION__ : "dev";

/** The signals that interrupt a command: Ctrl-C, kill, a closed terminal. */
const INTERRUPTS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The documentation pages, when they ship beside the bundle (the npm package, a checkout). */
function docsDirectory(): string | undefined {
  const dir = resolve(__dirname, "..", "docs");
  return existsSync(join(dir, "sandboxctl.md")) ? dir : undefined;
}

/** Is `command` an executable in the PATH the engine CLI would run with? */
function onPath(command: EngineName): boolean {
  const path = engineCliEnv(command, process.env).PATH ?? "";
  return path.split(delimiter).some((dir) => {
    if (!dir.startsWith("/")) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether the command line asked for JSON: then even an unexpected failure is one JSON object. */
let json = false;

async function main(argv: readonly string[]): Promise<number> {
  const stdout = fdOutput(1);
  const stderr = fdOutput(2);
  const program = sandboxctlProgram(VERSION, `node ${process.version}`, docsDirectory());
  const parsed = parseCommandLine(argv, program);
  json = parsed.json;
  if (parsed.kind !== "run") {
    const out = render(program, parsed);
    stdout.write(out.stdout);
    stderr.write(out.stderr);
    return out.exit;
  }
  const engine = chooseEngine(parsed.engine, process.env, onPath);
  if (!engine.ok) {
    const out = render(program, { kind: "usage", command: parsed.command.command, message: engine.message, json: parsed.json });
    stdout.write(out.stdout);
    stderr.write(out.stderr);
    return out.exit;
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
  // Chosen by default: a container the engine does not know may be the other one's.
  const byDefault = parsed.engine === undefined && (process.env[ENGINE_VARIABLE] ?? "") === "";
  const alternative = byDefault ? ENGINES.find((other) => other !== engine.engine && onPath(other)) : undefined;
  return runCommand({ engine: engine.engine, stdout, stderr, abort: controller.signal, env: process.env, alternative }, parsed.command);
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    const message = `unexpected failure: ${errorMessage(error).replace(/[\r\n]+/g, " ")}`;
    if (json) fdOutput(1).write(`${JSON.stringify({ ok: false, layer: "sandboxctl", message })}\n`);
    else fdOutput(2).write(`sandboxctl: ${message}\n`);
    process.exit(EXIT.ownFailure);
  },
);
