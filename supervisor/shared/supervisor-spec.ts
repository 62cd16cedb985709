// The `supervisor` command line as a table for the shared command-line layer: every command,
// option and help text in one place, read by cli.ts (which command runs) and by the control
// commands (what their options mean). Data only.
import type { CommandSpec, OptionSpec, ProgramSpec } from "./command-line.js";

const VERSION = typeof __SUPERVISOR_VERSION__ === "string" ? __SUPERVISOR_VERSION__ : "dev";

export const DEFAULT_GRACE_SECONDS = 8;
export const MAX_GRACE_SECONDS = 3600;
export const DEFAULT_RESTART_SECONDS = 60;
export const MAX_RESTART_SECONDS = 3600;

const JSON_FLAG: OptionSpec = { name: "json", help: "print one JSON object on stdout and no progress" };
const WAIT: OptionSpec = {
  name: "wait",
  value: "DURATION",
  help: "drain budget for this request: 30s, 5m30s or milliseconds (up to 1h)\n(default: restartDrainSeconds)",
};
const FORCE: OptionSpec = { name: "force", help: "no drain: SIGKILL after the short stop grace (stopGraceSeconds)" };
const CONTROL_EXIT =
  "Exit status: 0 done; 1 failed (health: not healthy); 2 usage error; 3 busy;\n4 supervisor unavailable; 78 bad settings.";

const COMMANDS: readonly CommandSpec[] = [
  {
    name: "boot",
    summary: "the sandbox boot chain, then the gateway (or COMMAND as user sandbox)",
    synopsis: ["boot [[--] COMMAND [ARGS...]]"],
    description:
      "The sandbox boot chain (capabilities, config integrity, token, preload guards), then the\n" +
      "gateway as user gateway, supervised until TERM/INT/QUIT; or, given COMMAND, COMMAND as\n" +
      "user sandbox, exiting with its status. The image's ENTRYPOINT.",
    options: [],
    args: [{ name: "COMMAND", expected: "a command", optional: true, variadic: true, verbatim: true }],
    footer: "Exit status: COMMAND's; 2 usage error; 78 boot refused; 125 the supervisor failed;\n126 COMMAND cannot be executed; 127 COMMAND not found. Settings: SUPERVISOR_* variables.",
  },
  {
    name: "run",
    summary: "run COMMAND as PID 1's only child: forward signals, reap orphans",
    synopsis: ["run [--user NAME] [--grace SECONDS] [--] COMMAND [ARGS...]"],
    description:
      "Run COMMAND as PID 1's only child: forward signals to its process group, reap every\n" +
      "orphan, exit with COMMAND's status (128+N if killed by signal N). Prints nothing of its\n" +
      "own unless something is wrong.",
    options: [
      { name: "user", value: "NAME", help: "run COMMAND as NAME (uid, gid, groups) via setpriv" },
      { name: "grace", value: "SECONDS", help: `after TERM/INT/QUIT, wait this long before SIGKILL of\neverything left (0-${MAX_GRACE_SECONDS}, default ${DEFAULT_GRACE_SECONDS})` },
    ],
    args: [{ name: "COMMAND", expected: "the command to run", variadic: true, verbatim: true }],
    footer: "Exit status: COMMAND's; 2 usage error; 125 the supervisor failed; 126 COMMAND cannot be\nexecuted; 127 COMMAND not found.",
  },
  {
    name: "check",
    summary: "every check of a boot and a launch, writing nothing; exit 0 or 78 with every problem",
    synopsis: ["check [--json]"],
    description:
      "Run every check the boot chain and a gateway launch make (settings, users, capabilities,\n" +
      "legacy layout, config integrity, guard sources, gateway command) without writing\n" +
      "anything, and name every problem found. For CI, image builds and before a restart.",
    options: [{ name: "json", help: "one JSON object: ok, checks [{check, ok, detail}]" }],
    args: [],
    footer: "Exit status: 0 every check passed; 2 usage error; 78 a problem was found (each is named).",
  },
  {
    name: "restart",
    summary: "drain and stop the gateway, relaunch it, wait until started; prints the new pid",
    synopsis: ["restart [--timeout SECONDS] [--wait DURATION | --force] [--json] [--expect-pid PID --expect-start-time T]"],
    description:
      "Ask PID 1 to stop the gateway (SIGTERM, then its drain budget for work in flight before\n" +
      "SIGKILL), relaunch it and wait until it is healthy (listening and started); prints the\n" +
      "new pid. One restart at a time: others wait for it.",
    options: [
      { name: "timeout", value: "SECONDS", help: `give up if the new gateway is not healthy SECONDS after its\nlaunch (1-${MAX_RESTART_SECONDS}, default ${DEFAULT_RESTART_SECONDS})` },
      WAIT,
      FORCE,
      JSON_FLAG,
      { name: "expect-pid", value: "PID", help: "restart only if PID (with --expect-start-time) is still\nthe running gateway" },
      { name: "expect-start-time", value: "T", help: "field 22 of /proc/PID/stat of that gateway" },
    ],
    exclusive: [["wait", "force"]],
    args: [],
    footer: CONTROL_EXIT,
  },
  {
    name: "start",
    summary: "launch the gateway if it is stopped or quarantined; wait until healthy",
    synopsis: ["start [--timeout SECONDS] [--json]"],
    description:
      "Ask PID 1 to launch the gateway if none runs because of 'supervisor stop' or a\n" +
      "quarantine, and wait until it is healthy; prints its pid. In any other state a gateway\n" +
      "runs or is about to: nothing changes and that is success.",
    options: [{ name: "timeout", value: "SECONDS", help: `give up after SECONDS (1-${MAX_RESTART_SECONDS}, default ${DEFAULT_RESTART_SECONDS})` }, JSON_FLAG],
    args: [],
    footer: CONTROL_EXIT,
  },
  {
    name: "status",
    summary: "the gateway's state, pid, uptime, restarts, last exit, capabilities",
    description: "Print the gateway's state, pid, uptime, restarts, last exit, capabilities and mode.",
    options: [JSON_FLAG],
    args: [],
    footer: CONTROL_EXIT,
  },
  {
    name: "health",
    summary: "exit 0 iff the gateway is healthy (Docker HEALTHCHECK, probes)",
    synopsis: ["health [--ready] [--json]"],
    description:
      "Exit 0 if and only if a proven gateway process is healthy (live and started); with\n" +
      "--ready, only if it is also ready (its readiness probe names nothing failing).",
    options: [{ name: "ready", help: "exit 0 only when the gateway is also ready to take traffic" }, JSON_FLAG],
    args: [],
    footer: CONTROL_EXIT,
  },
  {
    name: "stop",
    summary: "drain and stop the gateway; it stays stopped until 'supervisor start' or 'restart'",
    synopsis: ["stop [--wait DURATION | --force] [--json]"],
    description:
      "Ask PID 1 to stop the gateway (SIGTERM, then its drain budget before SIGKILL); it stays\n" +
      "stopped (PID 1 keeps running) until 'supervisor start' or 'supervisor restart'.",
    options: [WAIT, FORCE, JSON_FLAG],
    exclusive: [["wait", "force"]],
    args: [],
    footer: CONTROL_EXIT,
  },
];

export const SUPERVISOR_PROGRAM: ProgramSpec = {
  name: "supervisor",
  version: VERSION,
  versionDetail: `node ${process.version}, linux-${process.arch}`,
  description: "PID 1 for AI-agent sandbox containers. Each command's page: docs/supervisor-COMMAND.md.",
  globalOptions: [
    { name: "verbose", short: "v", help: "log one level more (info, then debug)" },
    { name: "quiet", short: "q", help: "log one level less (warnings, then errors only)" },
  ],
  commands: COMMANDS,
};
