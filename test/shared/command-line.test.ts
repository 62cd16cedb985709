// The shared command-line layer (supervisor/shared/command-line.ts), on a small program of
// both kinds: a host command with a global option and a PID 1 with a verbatim command.
import { describe, expect, it } from "vitest";
import {
  editDistance,
  helpText,
  parseCommandLine,
  render,
  suggest,
  type CommandLine,
  type ProgramSpec,
} from "../../supervisor/shared/command-line.js";

const PROGRAM: ProgramSpec = {
  name: "ctl",
  version: "1.2.3",
  versionDetail: "node v22.0.0",
  description: "Ask things of containers.",
  globalOptions: [{ name: "engine", value: "ENGINE", help: "docker or podman" }],
  commands: [
    {
      name: "restart",
      summary: "restart the gateway",
      synopsis: ["restart CONTAINER [--timeout SECONDS] [--json | --quiet]"],
      description: "Restart it.",
      options: [
        { name: "timeout", value: "SECONDS", help: "give up after SECONDS" },
        { name: "json", help: "one JSON line" },
        { name: "quiet", short: "q", help: "no output" },
      ],
      args: [{ name: "CONTAINER", expected: "a container name or id" }],
      exclusive: [["json", "quiet"]],
      footer: "Exit status: 0 done.",
    },
    {
      name: "status",
      summary: "print the state",
      description: "Print it.",
      options: [
        { name: "json", help: "one JSON line" },
        { name: "all", short: "a", help: "every sandbox" },
        { name: "filter", value: "FILTER", repeatable: true, help: "narrow --all" },
      ],
      args: [{ name: "CONTAINER", expected: "a container name or id", optional: true, variadic: true }],
    },
    {
      name: "logs",
      summary: "print the log",
      description: "Print the log.",
      options: [
        { name: "tail", short: "n", value: "N", help: "last N lines" },
        { name: "timestamps", short: "t", help: "with times" },
        { name: "follow", short: "f", help: "keep printing" },
      ],
      args: [{ name: "CONTAINER", expected: "a container name or id" }],
    },
    {
      name: "run",
      summary: "run a command as PID 1's child",
      description: "Run COMMAND.",
      options: [{ name: "user", value: "NAME", help: "as NAME" }],
      args: [{ name: "COMMAND", expected: "a command to run", verbatim: true, variadic: true }],
    },
  ],
  footer: "Details: ctl help COMMAND.",
};

const parse = (...argv: string[]): CommandLine => parseCommandLine(PROGRAM, argv);

function usage(outcome: CommandLine): string {
  expect(outcome.kind).toBe("usage");
  return outcome.kind === "usage" ? `${outcome.command !== undefined ? `${outcome.command}: ` : ""}${outcome.message}` : "";
}

describe("edit distance and suggestions", () => {
  it.each([
    ["status", "status", 0],
    ["stauts", "status", 1],
    ["--jsn", "--json", 1],
    ["restat", "restart", 1],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
  ])("%s → %s is %i", (a, b, d) => expect(editDistance(a, b)).toBe(d));

  it("suggests the nearest candidate, a unique prefix, or nothing", () => {
    const commands = ["restart", "status", "start", "stop", "logs"];
    expect(suggest("stauts", commands)).toBe("status");
    expect(suggest("restrat", commands)).toBe("restart");
    expect(suggest("lgos", commands)).toBe("logs");
    // A prefix of several, and two edits from each: no guess.
    expect(suggest("sta", commands)).toBeUndefined();
    expect(suggest("reboot", commands)).toBeUndefined();
    expect(suggest("x", commands)).toBeUndefined();
    expect(suggest("--time", ["--timeout", "--json"])).toBe("--timeout");
    expect(suggest("--jsn", ["--timeout", "--json"])).toBe("--json");
    expect(suggest("--", ["--json"])).toBeUndefined();
  });
});

describe("parsing", () => {
  it("reads options in every spelling and order, with the global ones anywhere", () => {
    expect(parse("restart", "c1", "--timeout", "5", "--json")).toEqual({
      kind: "run",
      command: "restart",
      options: { timeout: "5", json: true },
      args: ["c1"],
      json: true,
    });
    expect(parse("restart", "--timeout=5", "c1", "-q")).toMatchObject({ options: { timeout: "5", quiet: true }, args: ["c1"], json: false });
    expect(parse("--engine", "podman", "logs", "-tfn10", "c1")).toMatchObject({
      options: { engine: "podman", timestamps: true, follow: true, tail: "10" },
      args: ["c1"],
    });
    expect(parse("logs", "c1", "-n", "3", "--engine=docker")).toMatchObject({ options: { tail: "3", engine: "docker" } });
    expect(parse("status", "a", "b", "c")).toMatchObject({ args: ["a", "b", "c"] });
    expect(parse("status", "--all", "--filter", "label=a", "--filter", "label=b")).toMatchObject({
      options: { all: true, filter: ["label=a", "label=b"] },
      args: [],
    });
    expect(parse("status", "--", "-x")).toMatchObject({ kind: "run", args: ["-x"] });
  });

  it("passes a verbatim command on as it is, options included", () => {
    expect(parse("run", "--user", "sandbox", "ls", "-l", "--json", "--help")).toEqual({
      kind: "run",
      command: "run",
      options: { user: "sandbox" },
      args: ["ls", "-l", "--json", "--help"],
      json: false,
    });
    expect(parse("run", "--", "--weird-name", "x")).toMatchObject({ args: ["--weird-name", "x"] });
    expect(usage(parse("run", "--user", "sandbox"))).toBe("run: missing COMMAND, expected a command to run");
  });

  it("takes the next word as a value unless it is an option the command knows", () => {
    expect(parse("restart", "c", "--timeout", "-1")).toMatchObject({ options: { timeout: "-1" } });
    expect(usage(parse("restart", "c", "--timeout", "--json"))).toBe("restart: missing value for --timeout, expected --timeout SECONDS");
    expect(usage(parse("restart", "c", "--timeout"))).toBe("restart: missing value for --timeout, expected --timeout SECONDS");
    expect(usage(parse("logs", "c", "-n"))).toBe("logs: missing value for -n, expected -n N");
    expect(usage(parse("restart", "c", "--json=yes"))).toBe("restart: --json takes no value, expected --json alone");
  });

  it("answers help, version and the built-in commands", () => {
    expect(parse("--help")).toEqual({ kind: "help", command: undefined, json: false });
    expect(parse("-h")).toMatchObject({ kind: "help", command: undefined });
    expect(parse("help")).toMatchObject({ kind: "help", command: undefined });
    expect(parse("help", "logs")).toEqual({ kind: "help", command: "logs", json: false });
    expect(parse("logs", "--help")).toMatchObject({ kind: "help", command: "logs" });
    expect(parse("--help", "logs")).toMatchObject({ kind: "help", command: "logs" });
    // Help wins over anything wrong on the same line.
    expect(parse("restart", "--bogus", "-h")).toMatchObject({ kind: "help", command: "restart" });
    expect(parse("--version")).toEqual({ kind: "version", json: false });
    expect(parse("-V")).toEqual({ kind: "version", json: false });
    expect(parse("version")).toEqual({ kind: "version", json: false });
    expect(parse("version", "--json")).toEqual({ kind: "version", json: true });
    expect(parse("--version", "--json")).toEqual({ kind: "version", json: true });
    expect(parse("help", "status", "--json")).toEqual({ kind: "help", command: "status", json: true });
  });

  it("words every usage error as one line: what was wrong, what was expected", () => {
    expect(usage(parse())).toBe("missing command, expected one of restart, status, logs, run, help, version");
    expect(usage(parse("stauts", "c"))).toBe("unknown command 'stauts', did you mean 'status'?");
    expect(usage(parse("reboot"))).toBe("unknown command 'reboot', expected one of restart, status, logs, run, help, version");
    expect(usage(parse("help", "stauts"))).toBe("help: unknown command 'stauts', did you mean 'status'?");
    expect(usage(parse("status", "c", "--jsn"))).toBe("status: unknown option '--jsn', did you mean '--json'?");
    expect(usage(parse("status", "c", "-json"))).toBe("status: unknown option '-j' in '-json', did you mean '--json'?");
    expect(usage(parse("restart", "c", "--bogus"))).toBe(
      "restart: unknown option '--bogus', expected one of --timeout, --json, --quiet, --engine",
    );
    expect(usage(parse("--frobnicate"))).toBe("unknown option '--frobnicate', expected one of --engine, --version, --json");
    expect(usage(parse("restart"))).toBe("restart: missing CONTAINER, expected a container name or id");
    expect(usage(parse("restart", "a", "b"))).toBe("restart: unexpected argument 'b', expected only CONTAINER");
    expect(usage(parse("version", "x"))).toBe("version: unexpected argument 'x', expected no arguments");
    expect(usage(parse("restart", "c", "--json", "-q"))).toBe("restart: --json and --quiet exclude each other, expected at most one");
    expect(usage(parse("--json", "logs", "c"))).toBe("logs: unknown option '--json', this command prints no JSON");
  });

  it("notices --json anywhere among the options, even on a line that is wrong", () => {
    expect(parse("restart", "--json")).toMatchObject({ kind: "usage", json: true });
    expect(parse("stauts", "c", "--json")).toMatchObject({ kind: "usage", json: true });
    expect(parse("restart", "c", "--timeout", "--json")).toMatchObject({ kind: "usage", json: true });
    expect(parse("--json")).toMatchObject({ kind: "usage", json: true });
    expect(parse("logs", "c", "--json")).toMatchObject({ kind: "usage", json: true });
    // After "--", or inside a verbatim command, --json is an argument, not a wish.
    expect(parse("status", "--", "--json")).toMatchObject({ kind: "run", json: false });
    expect(parse("run", "sh", "--json")).toMatchObject({ kind: "run", json: false });
  });
});

describe("rendering", () => {
  it("prints a usage error as two lines on stderr with exit 2, or one JSON object on stdout", () => {
    expect(render(PROGRAM, { kind: "usage", command: "status", message: "unknown option '--jsn', did you mean '--json'?", json: false })).toEqual({
      stdout: "",
      stderr: "ctl: status: unknown option '--jsn', did you mean '--json'?\nTry 'ctl status --help'.\n",
      exit: 2,
    });
    expect(render(PROGRAM, { kind: "usage", command: undefined, message: "missing command", json: false }).stderr).toBe(
      "ctl: missing command\nTry 'ctl --help'.\n",
    );
    const json = render(PROGRAM, { kind: "usage", command: "restart", message: "missing CONTAINER", json: true });
    expect([json.stderr, json.exit]).toEqual(["", 2]);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, layer: "usage", message: "restart: missing CONTAINER" });
  });

  it("prints help and version as text, or as JSON with ok", () => {
    expect(render(PROGRAM, { kind: "version", json: false })).toEqual({ stdout: "ctl 1.2.3 (node v22.0.0)\n", stderr: "", exit: 0 });
    expect(JSON.parse(render(PROGRAM, { kind: "version", json: true }).stdout)).toEqual({
      ok: true,
      program: "ctl",
      version: "1.2.3",
      detail: "node v22.0.0",
    });
    const help = render(PROGRAM, { kind: "help", command: "logs", json: true });
    expect(JSON.parse(help.stdout)).toEqual({ ok: true, help: helpText(PROGRAM, "logs") });
  });

  it("writes one help per command: usage, description, its options, the global ones, its footer", () => {
    expect(helpText(PROGRAM, "restart")).toBe(`Usage: ctl restart CONTAINER [--timeout SECONDS] [--json | --quiet]

Restart it.

Options:
      --timeout SECONDS  give up after SECONDS
      --json             one JSON line
  -q, --quiet            no output
  -h, --help             print this help

Global options:
      --engine ENGINE    docker or podman

Exit status: 0 done.
`);
    expect(helpText(PROGRAM, "status")).toMatch(/^Usage: ctl status \[CONTAINER\.\.\.\] \[--json\] \[--all\] \[--filter FILTER\]\n/);
    for (const command of [...PROGRAM.commands.map((c) => c.name), "help", "version"]) {
      expect(helpText(PROGRAM, command), command).toMatch(new RegExp(`^Usage: ctl ${command}`));
    }
  });

  it("lists every command and option in the overview", () => {
    const text = helpText(PROGRAM);
    expect(text).toMatch(/^Usage:\n {2}ctl restart CONTAINER/);
    for (const line of ["  restart   restart the gateway", "  help      print the help of COMMAND, or this overview", "  -V, --version", "      --engine ENGINE", "Details: ctl help COMMAND."]) {
      expect(text).toContain(line);
    }
  });
});
