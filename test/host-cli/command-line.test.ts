// sandboxctl's pure decisions: the command line (every command × --help, typos, missing
// arguments, --json), signal names, the engine choice and environments, how answers map to
// exit statuses, the status table, the token file. No engine needed.
import { describe, expect, it } from "vitest";
import { render } from "../../supervisor/shared/command-line.js";
import { parseCommandLine, sandboxctlProgram, type Parsed } from "../../host-cli/command-line.js";
import {
  chooseEngine,
  CONTAINER_ENV,
  engineCliEnv,
  execArgs,
  execUser,
  inEngineTerms,
  inspectArgs,
  logsArgs,
  mayBecomeSupervisor,
  parseInspect,
  parseInspectLine,
  psArgs,
  runsSupervisor,
  SUPERVISOR_PATH,
} from "../../host-cli/engine.js";
import { EXIT, interruptedStatus } from "../../host-cli/exit.js";
import { isCommandLine, jsonAnswer, outcomeOf } from "../../host-cli/relay.js";
import { parseSignal } from "../../host-cli/signals.js";
import { entryJson, overallExit, statusTable, type StatusEntry } from "../../host-cli/status-table.js";
import { formatDuration } from "../../supervisor/shared/format.js";
import { parseTokenFile } from "../../supervisor/shared/token-file.js";

const ID = "a".repeat(64);
const PROGRAM = sandboxctlProgram("1.2.3", "node v22.0.0");
const COMMANDS = ["restart", "start", "stop", "status", "health", "logs", "token", "signal"] as const;

function usage(parsed: Parsed): string {
  expect(parsed.kind).toBe("usage");
  return parsed.kind === "usage" ? `${parsed.command !== undefined ? `${parsed.command}: ` : ""}${parsed.message}` : "";
}

/** What sandboxctl prints for a line the command line answers alone: [exit, stdout, stderr]. */
function printed(...argv: string[]): [number, string, string] {
  const parsed = parseCommandLine(argv, PROGRAM);
  if (parsed.kind === "run") throw new Error(`${argv.join(" ")} runs`);
  const out = render(PROGRAM, parsed);
  return [out.exit, out.stdout, out.stderr];
}

describe("command line", () => {
  it("runs each command with its defaults", () => {
    expect(parseCommandLine(["restart", "ctr"])).toEqual({
      kind: "run",
      command: { command: "restart", container: "ctr", timeoutSeconds: 60, output: "text" },
      engine: undefined,
      json: false,
    });
    expect(parseCommandLine(["start", "ctr", "-q"])).toMatchObject({ command: { command: "start", timeoutSeconds: 60, output: "quiet" } });
    expect(parseCommandLine(["stop", "ctr", "--json"])).toMatchObject({ command: { command: "stop", timeoutSeconds: 60, output: "json" }, json: true });
    expect(parseCommandLine(["status", "ctr", "--json"])).toMatchObject({
      command: { command: "status", targets: { kind: "named", containers: ["ctr"] }, timeoutSeconds: 20, output: "json" },
    });
    expect(parseCommandLine(["health", "--quiet", "ctr"])).toMatchObject({ command: { command: "health", output: "quiet" } });
    expect(parseCommandLine(["health", "ctr", "--json"])).toMatchObject({ command: { command: "health", output: "json" } });
    expect(parseCommandLine(["token", "ctr", "--timeout", "5"])).toMatchObject({ command: { command: "token", timeoutSeconds: 5 } });
    expect(parseCommandLine(["logs", "ctr", "-f", "--tail", "10"])).toMatchObject({
      command: { command: "logs", targets: { kind: "named", containers: ["ctr"] }, tail: "10", follow: true, timestamps: false, since: undefined },
    });
    expect(parseCommandLine(["logs", "a", "b", "-n", "3"])).toMatchObject({ command: { command: "logs", targets: { kind: "named", containers: ["a", "b"] }, tail: "3" } });
    expect(parseCommandLine(["logs", "--all", "--filter", "label=team=a", "-f"])).toMatchObject({
      command: { command: "logs", targets: { kind: "all", filters: ["label=team=a"] }, follow: true },
    });
    expect(usage(parseCommandLine(["logs", "a", "--filter", "label=x=y"]))).toBe("logs: --filter goes with --all, expected logs --all --filter FILTER");
    expect(parseCommandLine(["logs", "ctr", "-tn", "5", "--since", "10m"])).toMatchObject({
      command: { command: "logs", tail: "5", timestamps: true, follow: false, since: "10m" },
    });
    expect(parseCommandLine(["signal", "ctr", "hup"])).toMatchObject({ command: { command: "signal", signal: "SIGHUP", timeoutSeconds: 60, output: "text" } });
  });

  it("asks several containers, or every sandbox with --all and its filters", () => {
    expect(parseCommandLine(["status", "a", "b", "c"])).toMatchObject({ command: { targets: { kind: "named", containers: ["a", "b", "c"] } } });
    expect(parseCommandLine(["status", "--all"])).toMatchObject({ command: { targets: { kind: "all", filters: [] } } });
    expect(parseCommandLine(["status", "--all", "--filter", "label=team=a", "--filter=name=sb", "--json"])).toMatchObject({
      command: { targets: { kind: "all", filters: ["label=team=a", "name=sb"] }, output: "json" },
    });
    expect(usage(parseCommandLine(["status"]))).toBe("status: missing CONTAINER, expected a container name or id, or --all");
    expect(usage(parseCommandLine(["status", "--all", "a"]))).toBe("status: --all and a container name ('a') exclude each other, expected one of them");
    expect(usage(parseCommandLine(["status", "a", "--filter", "label=x"]))).toBe("status: --filter goes with --all, expected status --all --filter FILTER");
    expect(usage(parseCommandLine(["status", "--all", "--filter", "nolabel"]))).toBe("status: --filter 'nolabel': expected KEY=VALUE, e.g. label=sandbox");
    expect(parseCommandLine(["status", "--all"])).toMatchObject({ command: { full: false, parallel: 4 } });
    expect(parseCommandLine(["status", "--all", "--full", "--parallel", "16"])).toMatchObject({ command: { full: true, parallel: 16 } });
    expect(usage(parseCommandLine(["status", "a", "--full"]))).toBe("status: --full goes with --all (a named container is always asked), expected status --all --full");
    expect(usage(parseCommandLine(["status", "a", "--parallel", "0"]))).toBe("status: --parallel '0': expected a whole number from 1 to 64");
  });

  it("takes --engine before or after the command, and only docker or podman", () => {
    expect(parseCommandLine(["--engine", "podman", "status", "ctr"])).toMatchObject({ kind: "run", engine: "podman" });
    expect(parseCommandLine(["status", "ctr", "--engine=docker"])).toMatchObject({ kind: "run", engine: "docker" });
    expect(usage(parseCommandLine(["status", "ctr", "--engine", "lxc"]))).toBe("status: --engine 'lxc': expected docker or podman");
    expect(usage(parseCommandLine(["--engine"]))).toBe("missing value for --engine, expected --engine ENGINE");
  });

  it("answers --help and -h for every command with its own usage, and help COMMAND alike", () => {
    for (const command of COMMANDS) {
      const [exit, stdout, stderr] = printed(command, "--help");
      expect([exit, stderr], command).toEqual([0, ""]);
      expect(stdout, command).toMatch(new RegExp(`^Usage: sandboxctl ${command} `));
      expect(stdout, command).toContain("  -h, --help");
      expect(stdout, command).toContain("--engine ENGINE");
      expect(printed(command, "-h"), command).toEqual([0, stdout, ""]);
      expect(printed("help", command), command).toEqual([0, stdout, ""]);
      // Help wins over a wrong line.
      expect(printed(command, "--bogus", "--help"), command).toEqual([0, stdout, ""]);
    }
    expect(printed("signal", "-h")[1]).toContain("KILL, STOP and USR1 are refused");
    expect(printed("status", "--help")[1]).toContain("Usage: sandboxctl status CONTAINER... [--parallel N] [--timeout SECONDS] [--json]\n       sandboxctl status --all [--filter FILTER]... [--full]");
  });

  it("answers the overview, help, version, --version and -V", () => {
    const [exit, overview] = printed("--help");
    expect(exit).toBe(0);
    for (const command of COMMANDS) expect(overview).toMatch(new RegExp(`^  sandboxctl ${command} `, "m"));
    expect(overview).toContain("  help      print the help of COMMAND, or this overview");
    expect(printed("help")).toEqual([0, overview, ""]);
    expect(printed("-h")).toEqual([0, overview, ""]);
    for (const argv of [["--version"], ["-V"], ["version"]]) expect(printed(...argv)).toEqual([0, "sandboxctl 1.2.3 (node v22.0.0)\n", ""]);
    expect(JSON.parse(printed("version", "--json")[1])).toEqual({ ok: true, program: "sandboxctl", version: "1.2.3", detail: "node v22.0.0" });
    expect(JSON.parse(printed("status", "--help", "--json")[1])).toMatchObject({ ok: true, help: expect.stringMatching(/^Usage: sandboxctl status/) });
  });

  it("names the manual pages when they ship beside the program", () => {
    const withDocs = sandboxctlProgram("1.2.3", "node v22.0.0", "/opt/sandboxctl/docs");
    const parsed = parseCommandLine(["start", "--help"], withDocs);
    expect(parsed.kind === "help" && render(withDocs, parsed).stdout).toMatch(/\nManual: \/opt\/sandboxctl\/docs\/sandboxctl-start\.md\n$/);
    expect(printed("start", "--help")[1]).not.toContain("Manual:");
  });

  it("suggests the command or option meant by a typo", () => {
    expect(printed("stauts", "ctr")).toEqual([2, "", "sandboxctl: unknown command 'stauts', did you mean 'status'?\nTry 'sandboxctl --help'.\n"]);
    expect(printed("restat", "ctr")[2]).toContain("did you mean 'restart'?");
    expect(printed("helth", "ctr")[2]).toContain("did you mean 'health'?");
    expect(printed("status", "ctr", "--jsn")).toEqual([2, "", "sandboxctl: status: unknown option '--jsn', did you mean '--json'?\nTry 'sandboxctl status --help'.\n"]);
    expect(printed("logs", "ctr", "--tial", "3")[2]).toContain("did you mean '--tail'?");
    expect(printed("restart", "ctr", "--timout", "3")[2]).toContain("did you mean '--timeout'?");
    expect(printed("help", "stauts")[2]).toBe("sandboxctl: help: unknown command 'stauts', did you mean 'status'?\nTry 'sandboxctl help --help'.\n");
    expect(printed("reboot", "ctr")[2]).toMatch(/^sandboxctl: unknown command 'reboot', expected one of restart, start, stop, status, health, check, logs, token, signal, help, version\n/);
  });

  it("never lets Node's own parser messages through", () => {
    for (const argv of [["status", "ctr", "--jsn"], ["restart", "ctr", "--timeout"], ["logs", "ctr", "-x"], ["token", "ctr", "--quiet"], ["--frobnicate"]]) {
      const [exit, , stderr] = printed(...argv);
      expect(exit, argv.join(" ")).toBe(2);
      expect(stderr, argv.join(" ")).not.toMatch(/Unknown option|argument missing|To specify a positional/);
      expect(stderr.split("\n"), argv.join(" ")).toHaveLength(3);
    }
    expect(printed("restart", "ctr", "--timeout")[2]).toBe(
      "sandboxctl: restart: missing value for --timeout, expected --timeout SECONDS\nTry 'sandboxctl restart --help'.\n",
    );
  });

  it("refuses missing or extra arguments, and points at the command's help", () => {
    expect(usage(parseCommandLine([]))).toBe("missing command, expected one of restart, start, stop, status, health, check, logs, token, signal, help, version");
    for (const command of ["restart", "start", "stop", "check", "health", "logs", "token", "signal"]) {
      const many = ["restart", "start", "stop", "check", "logs"].includes(command) ? ", or --all" : "";
      expect(usage(parseCommandLine([command])), command).toBe(`${command}: missing CONTAINER, expected a container name or id${many}`);
      expect(printed(command)[2], command).toContain(`Try 'sandboxctl ${command} --help'.`);
    }
    expect(usage(parseCommandLine(["health", "a", "b"]))).toBe("health: unexpected argument 'b', expected only CONTAINER");
    expect(usage(parseCommandLine(["signal", "ctr"]))).toMatch(/^signal: missing SIGNAL, expected a signal name, one of HUP, /);
    expect(usage(parseCommandLine(["token", "ctr", "--json"]))).toBe("token: unknown option '--json', expected one of --timeout, --engine");
    expect(usage(parseCommandLine(["logs", "ctr", "--quiet"]))).toMatch(/^logs: unknown option '--quiet'/);
    expect(usage(parseCommandLine(["status", "ctr", "--quiet"]))).toMatch(/^status: unknown option '--quiet'/);
  });

  it("under --json answers a usage error as one JSON object on stdout, exit 2", () => {
    for (const argv of [
      ["restart", "--json"],
      ["stauts", "ctr", "--json"],
      ["status", "ctr", "--json", "--timeout", "0"],
      ["health", "ctr", "--json", "--quiet"],
      ["token", "ctr", "--json"],
      ["--json"],
    ]) {
      const [exit, stdout, stderr] = printed(...argv);
      expect([exit, stderr], argv.join(" ")).toEqual([2, ""]);
      expect(stdout.split("\n"), argv.join(" ")).toHaveLength(2);
      expect(JSON.parse(stdout), argv.join(" ")).toMatchObject({ ok: false, layer: "usage", message: expect.any(String) });
    }
    expect(JSON.parse(printed("restart", "--json")[1])).toEqual({
      ok: false,
      layer: "usage",
      message: "restart: missing CONTAINER, expected a container name or id, or --all",
    });
  });

  it("takes several containers, or --all with filters, for restart, start, stop and check", () => {
    expect(parseCommandLine(["restart", "a"])).toMatchObject({ command: { command: "restart", container: "a" } });
    expect(parseCommandLine(["restart", "a", "b", "c", "--parallel", "2"])).toMatchObject({
      command: { command: "fleet", verb: "restart", targets: { kind: "named", containers: ["a", "b", "c"] }, parallel: 2, timeoutSeconds: 60 },
    });
    expect(parseCommandLine(["stop", "--all", "--filter", "label=k=v", "--json"])).toMatchObject({
      command: { command: "fleet", verb: "stop", targets: { kind: "all", filters: ["label=k=v"] }, output: "json", parallel: 4 },
    });
    expect(parseCommandLine(["check", "--all"])).toMatchObject({ command: { command: "fleet", verb: "check", timeoutSeconds: 20 } });
    expect(usage(parseCommandLine(["start", "a", "--filter", "label=x"]))).toBe("start: --filter goes with --all, expected start --all --filter FILTER");
    expect(usage(parseCommandLine(["restart", "--all", "a"]))).toBe("restart: --all and a container name ('a') exclude each other, expected one of them");
    expect(usage(parseCommandLine(["restart", "a", "b", "--parallel", "x"]))).toBe("restart: --parallel 'x': expected a whole number from 1 to 64");
  });

  it("refuses container arguments an engine would read as something else", () => {
    for (const bad of ["-x", "../etc", "a b", "", "x".repeat(256), "ctr;rm"]) {
      expect(usage(parseCommandLine(["status", "--", bad]))).toMatch(/is not a container name or id|missing CONTAINER/);
    }
    expect(usage(parseCommandLine(["status", "ok", "--", "-x"]))).toContain("'-x' is not a container name or id");
    expect(parseCommandLine(["status", "my_sandbox-1.a"]).kind).toBe("run");
  });

  it("checks --timeout, --tail, --since, and --json against --quiet", () => {
    expect(usage(parseCommandLine(["restart", "ctr", "--timeout", "-1"]))).toContain("--timeout");
    for (const bad of ["0", "1.5", "3601", "soon", "01"]) {
      expect(usage(parseCommandLine(["restart", "ctr", "--timeout", bad]))).toContain("expected a whole number of seconds from 1 to 3600");
    }
    expect(parseCommandLine(["restart", "ctr", "--timeout", "3600"]).kind).toBe("run");
    expect(usage(parseCommandLine(["logs", "ctr", "--tail", "x"]))).toContain("--tail 'x'");
    expect(parseCommandLine(["logs", "ctr", "--tail", "all"]).kind).toBe("run");
    expect(parseCommandLine(["logs", "ctr", "--since", "2025-01-02T15:04:05Z"]).kind).toBe("run");
    expect(usage(parseCommandLine(["logs", "ctr", "--since", "yesterday"]))).toContain("--since 'yesterday'");
    for (const good of ["10m", "1h30m", "90s", "1.5h", "1733300000", "2025-01-02", "2025-01-02T15:04", "2025-01-02T15:04:05.123+01:00"]) {
      expect(parseCommandLine(["logs", "ctr", "--since", good]).kind, good).toBe("run");
    }
    // What the engines would refuse with a raw error of their own is refused here, as usage.
    for (const bad of ["5min", "10 m", "1d", "2025-1-2"]) expect(usage(parseCommandLine(["logs", "ctr", "--since", bad])), bad).toMatch(/expected a duration \(10m, 1h30m, 90s\)/);
    for (const command of ["restart", "start", "stop", "health", "signal"]) {
      const args = command === "signal" ? ["ctr", "HUP"] : ["ctr"];
      expect(usage(parseCommandLine([command, ...args, "--json", "--quiet"]))).toBe(`${command}: --json and --quiet exclude each other, expected at most one`);
    }
  });
});

describe("signal names", () => {
  it("accepts the signals the supervisor handles, in any spelling", () => {
    for (const [text, signal] of [["HUP", "SIGHUP"], ["sigterm", "SIGTERM"], ["SIGUSR2", "SIGUSR2"], ["winch", "SIGWINCH"]]) {
      expect(parseSignal(text!)).toEqual({ ok: true, signal });
    }
  });

  it("refuses KILL, STOP, USR1 with the reason, and anything else or a number", () => {
    expect(parseSignal("KILL")).toMatchObject({ ok: false, message: expect.stringContaining("refusing to send SIGKILL") });
    expect(parseSignal("SIGSTOP")).toMatchObject({ ok: false, message: expect.stringContaining("refusing to send SIGSTOP") });
    expect(parseSignal("usr1")).toMatchObject({ ok: false, message: expect.stringContaining("inspector") });
    expect(parseSignal("9")).toMatchObject({ ok: false, message: expect.stringContaining("expected a signal name") });
    expect(parseSignal("SIGSEGV")).toMatchObject({ ok: false });
  });
});

describe("engines", () => {
  it("chooses --engine, else $SANDBOXCTL_ENGINE, else docker, else podman, found in PATH", () => {
    const both = () => true;
    const podmanOnly = (name: string) => name === "podman";
    expect(chooseEngine("podman", { SANDBOXCTL_ENGINE: "docker" }, both)).toEqual({ ok: true, engine: "podman" });
    expect(chooseEngine(undefined, { SANDBOXCTL_ENGINE: "podman" }, both)).toEqual({ ok: true, engine: "podman" });
    expect(chooseEngine(undefined, {}, both)).toEqual({ ok: true, engine: "docker" });
    expect(chooseEngine(undefined, { SANDBOXCTL_ENGINE: "" }, podmanOnly)).toEqual({ ok: true, engine: "podman" });
    expect(chooseEngine(undefined, {}, () => false)).toEqual({ ok: true, engine: "docker" });
    expect(chooseEngine(undefined, { SANDBOXCTL_ENGINE: "lxc" }, both)).toEqual({ ok: false, message: "SANDBOXCTL_ENGINE='lxc': expected docker or podman" });
  });

  it("gives the engine CLI only what finds and reaches the engine", () => {
    const host = {
      PATH: "/usr/bin",
      HOME: "/root",
      DOCKER_HOST: "unix:///run/docker.sock",
      DOCKER_CONTEXT: "ctx",
      CONTAINER_HOST: "unix:///run/podman/podman.sock",
      XDG_RUNTIME_DIR: "/run/user/1000",
      NODE_OPTIONS: "--require /x.js",
      LD_PRELOAD: "/evil.so",
      AWS_SECRET_ACCESS_KEY: "s",
      DOCKER_CONFIG: "",
    };
    expect(engineCliEnv("docker", host)).toEqual({ PATH: "/usr/bin", HOME: "/root", DOCKER_HOST: "unix:///run/docker.sock", DOCKER_CONTEXT: "ctx" });
    expect(engineCliEnv("podman", host)).toEqual({
      PATH: "/usr/bin",
      HOME: "/root",
      CONTAINER_HOST: "unix:///run/podman/podman.sock",
      XDG_RUNTIME_DIR: "/run/user/1000",
    });
    expect(engineCliEnv("docker", {}).PATH).toBe("/usr/local/bin:/usr/bin:/bin");
  });

  it("asks as root, or as the container's own user when it runs as one", () => {
    expect(execUser({ user: "" })).toBe("root");
    expect(execUser({ user: "root" })).toBe("root");
    expect(execUser({ user: "0:0" })).toBe("root");
    expect(execUser({ user: "1000:1000" })).toBe("1000:1000");
    expect(execUser({ user: "sandbox" })).toBe("sandbox");
    expect(execArgs(ID, ["x"], "1000:1000").slice(0, 3)).toEqual(["exec", "--user", "1000:1000"]);
  });

  it("runs commands in the container as root, from /, with the loaders' variables emptied and a root PATH", () => {
    const args = execArgs(ID, [SUPERVISOR_PATH, "status"]);
    expect(args.slice(0, 5)).toEqual(["exec", "--user", "root", "--workdir", "/"]);
    expect(args.slice(-3)).toEqual([ID, "/usr/local/bin/supervisor", "status"]);
    const env = args.filter((_, i) => args[i - 1] === "--env");
    for (const name of ["NODE_OPTIONS", "NODE_PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV"]) {
      expect(env).toContain(`${name}=`);
    }
    expect(env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(env).toContain("SUPERVISOR_REQUEST_FROM=sandboxctl");
    // Every variable has a value: a bare `--env NAME` would copy the engine CLI's own.
    expect(env.every((entry) => entry.includes("="))).toBe(true);
    expect(env).toHaveLength(CONTAINER_ENV.length);
    expect(args).not.toContain("-i");
    expect(args).not.toContain("-t");
  });

  it("asks logs with the same flags of both engines, but podman's --tail takes only a number", () => {
    const all = { since: "10m", tail: "all", timestamps: true, follow: true };
    expect(logsArgs("docker", ID, all)).toEqual(["logs", "--since", "10m", "--tail", "all", "--timestamps", "--follow", ID]);
    expect(logsArgs("podman", ID, all)).toEqual(["logs", "--since", "10m", "--timestamps", "--follow", ID]);
    expect(logsArgs("podman", ID, { since: undefined, tail: "5", timestamps: false, follow: false })).toEqual(["logs", "--tail", "5", ID]);
    expect(psArgs(["label=a=b", "name=x"])).toEqual(["ps", "--quiet", "--no-trunc", "--filter", "label=a=b", "--filter", "name=x"]);
    const format = inspectArgs(["x"]);
    expect(format.slice(0, 4)).toEqual(["inspect", "--type", "container", "--format"]);
    expect(format[4]!.split("\t")).toEqual(["{{.Id}}", "{{json .State.Status}}", "{{json .Name}}", "{{json .Config.User}}", "{{json .Path}}", "{{json .State.Health}}", "{{json .Args}}", "{{json .State.StartedAt}}"]);
  });

  it("reads inspect: running, stopped, missing, engine errors, and who PID 1 is", () => {
    const ok = (stdout: string) => ({ status: 0, stdout, timedOut: false });
    const line = (fields: Record<string, unknown>) =>
      `${Object.values({ id: ID, status: "running", name: "/sb", user: "", path: SUPERVISOR_PATH, health: null, args: ["boot"], startedAt: "2026-12-04T21:27:00Z", ...fields }).map((v, i) => (i === 0 ? v : JSON.stringify(v))).join("\t")}\n`;
    const supervised = { id: ID, status: "running", name: "sb", user: "", path: SUPERVISOR_PATH, args: ["boot"], checks: [] };
    expect(parseInspect("docker", ok(line({})), [])).toEqual({ kind: "running", container: supervised });
    // podman names have no leading slash.
    expect(parseInspect("podman", ok(line({ name: "sb" })), [])).toEqual({ kind: "running", container: supervised });
    expect(parseInspect("docker", ok(line({ status: "exited", path: "/bin/sleep" })), [])).toMatchObject({ kind: "stopped", container: { status: "exited", path: "/bin/sleep" } });
    expect(parseInspect("docker", ok(line({ status: "paused" })), [])).toMatchObject({ kind: "stopped" });
    expect(parseInspectLine(line({ user: "1000:1000", path: '/opt/my app/init "x"' }))).toMatchObject({ user: "1000:1000", path: '/opt/my app/init "x"' });
    expect(parseInspectLine(`${ID} running /a "/bin/sh"`)).toBeUndefined();
    expect(parseInspectLine(line({ id: "short" }))).toBeUndefined();
    // The newest entry of the engine's health log; podman without systemd never runs one.
    const health = { Status: "healthy", Log: [{ End: "2026-12-04T21:27:07.9Z", ExitCode: 0, Output: "x" }, { End: "2026-12-04T21:27:17.9Z", ExitCode: 0, Output: "healthy: gateway pid 9\n" }] };
    expect(parseInspectLine(line({ health }))!.checks).toEqual([
      { endedAt: Date.parse("2026-12-04T21:27:17.9Z"), exitCode: 0, output: "healthy: gateway pid 9" },
      { endedAt: Date.parse("2026-12-04T21:27:07.9Z"), exitCode: 0, output: "x" },
    ]);
    expect(parseInspectLine(line({ health: { Status: "starting", Log: null } }))!.checks).toEqual([]);
    // A check from before the container's current start is an earlier boot's.
    expect(parseInspectLine(line({ health, startedAt: "2026-12-04T21:28:00Z" }))!.checks).toEqual([]);
    expect(parseInspectLine(line({ health, startedAt: "2026-12-04T21:27:10Z" }))!.checks.map((c) => c.output)).toEqual(["healthy: gateway pid 9"]);
    expect(runsSupervisor(supervised)).toBe(true);
    expect(runsSupervisor({ ...supervised, path: "/bin/sleep" })).toBe(false);
    expect(runsSupervisor({ ...supervised, path: "/usr/local/bin/supervisor-wrapper" })).toBe(false);
    // The supervisor's hints are written for Docker; relayed in the words of the engine in use.
    const hint = "permission denied on /run/supervisor/control.sock (ask as its owner: docker exec --user root ..., or ...)";
    expect(inEngineTerms("docker", hint)).toBe(hint);
    expect(inEngineTerms("podman", hint)).toBe(hint.replace("docker exec", "podman exec"));
    expect(inEngineTerms("podman", "mount a tmpfs (docker run --tmpfs /tmp); dockerd exec")).toBe("mount a tmpfs (podman run --tmpfs /tmp); dockerd exec");
    // A wrapper that execs the supervisor will write a token; one that never names it will not.
    const wrapper = parseInspectLine(line({ path: "/bin/sh", args: ["-c", "seed-entropy; exec /usr/local/bin/supervisor boot"] }))!;
    expect([runsSupervisor(wrapper), mayBecomeSupervisor(wrapper)]).toEqual([false, true]);
    expect(mayBecomeSupervisor(parseInspectLine(line({ path: "/bin/sleep", args: ["infinity"] }))!)).toBe(false);
    expect(mayBecomeSupervisor(parseInspectLine(line({ path: "/bin/sleep", args: null }))!)).toBe(false);
    const failed = { status: 1, stdout: "[]\n", timedOut: false };
    expect(parseInspect("docker", failed, ["Error: No such container: x"])).toEqual({ kind: "missing" });
    expect(parseInspect("docker", failed, ["Error response from daemon: No such container: x"])).toEqual({ kind: "missing" });
    expect(parseInspect("podman", { ...failed, status: 125 }, ["Error: no such container x"])).toEqual({ kind: "missing" });
    expect(parseInspect("docker", failed, ["Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("Cannot connect"),
    });
    const enoent = Object.assign(new Error("spawn podman ENOENT"), { code: "ENOENT" });
    expect(parseInspect("podman", { status: null, stdout: "", timedOut: false, spawnError: enoent }, [])).toEqual({
      kind: "error",
      message: "the podman command was not found in PATH: install Podman, or use --engine docker",
    });
  });
});

describe("the status table", () => {
  const report = (state: string, pid: number | null, uptime: number, detail: string | null = null) => ({
    state,
    gateway: pid === null ? null : { pid, startTime: 1, uid: 999, startedAt: "x", uptimeSeconds: uptime },
    restarts: 2,
    crashes: 1,
    lastExit: null,
    detail,
    capabilities: { gatewayKept: [], supervisorKept: [] },
    mode: "root",
    posture: "locked",
  });
  const entries: StatusEntry[] = [
    { container: "sandbox-a", id: ID, ok: true, report: report("healthy", 41, 3725) },
    { container: "b", id: ID, ok: true, report: report("stopped", null, 0, "stopped on request; 'supervisor restart' starts it again") },
    { container: "gone", id: null, ok: false, exit: 3, layer: "not running", message: "container gone is not running (no such container)" },
  ];

  it("aligns one row per container under docker ps style headers", () => {
    expect(statusTable(entries)).toBe(
      [
        "CONTAINER   STATE         PID   UPTIME   RESTARTS   CRASHES   MODE   DETAIL",
        "sandbox-a   healthy       41    1h2m     2          1         root",
        "b           stopped       -     -        2          1         root   stopped on request; 'supervisor restart' starts it again",
        "gone        not running   -     -        -          -         -      container gone is not running (no such container)",
        "",
      ].join("\n"),
    );
    expect(statusTable([])).toBe("CONTAINER   STATE   PID   UPTIME   RESTARTS   CRASHES   MODE   DETAIL\n");
  });

  it("gives every container one JSON object with ok, and exits with the first failure's status", () => {
    expect(entryJson(entries[0]!)).toMatchObject({ ok: true, container: "sandbox-a", id: ID, state: "healthy", gateway: { pid: 41 } });
    expect(Object.keys(entryJson(entries[0]!))[0]).toBe("ok");
    expect(entryJson(entries[2]!)).toEqual({ ok: false, container: "gone", id: null, layer: "not running", message: "container gone is not running (no such container)" });
    expect(overallExit(entries)).toBe(3);
    expect(overallExit(entries.slice(0, 2))).toBe(0);
    expect(overallExit([])).toBe(0);
  });

  it.each([
    [0, "0s"],
    [42, "42s"],
    [60, "1m"],
    [303, "5m3s"],
    [3725, "1h2m"],
    [7200, "2h"],
    [273_600, "3d4h"],
  ])("shows %i s as %s", (seconds, shown) => expect(formatDuration(seconds, "short")).toBe(shown));
});

describe("relaying the supervisor's answer", () => {
  it("keeps the supervisor's statuses but moves busy from 3 to 5", () => {
    expect(outcomeOf(0, [], "c", SUPERVISOR_PATH)).toEqual({ kind: "answered", exit: EXIT.ok });
    expect(outcomeOf(1, [], "c", SUPERVISOR_PATH)).toEqual({ kind: "answered", exit: EXIT.failed });
    expect(outcomeOf(3, [], "c", SUPERVISOR_PATH)).toEqual({ kind: "answered", exit: EXIT.busy });
    expect(outcomeOf(4, [], "c", SUPERVISOR_PATH)).toEqual({ kind: "answered", exit: EXIT.unavailable });
    expect(EXIT.busy).toBe(5);
    expect(EXIT.notRunning).toBe(3);
  });

  it("turns what is not an answer into one line and exit 4", () => {
    const oci = 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/usr/local/bin/supervisor": stat /usr/local/bin/supervisor: no such file or directory: unknown';
    expect(outcomeOf(126, [oci], "c", SUPERVISOR_PATH)).toEqual({
      kind: "no answer",
      exit: EXIT.unavailable,
      message: "container c has no usable /usr/local/bin/supervisor (not found): is it a sandbox-supervisor image?",
    });
    expect(outcomeOf(2, ["supervisor: restart: Unknown option '--timeout'"], "c", SUPERVISOR_PATH)).toMatchObject({
      exit: EXIT.unavailable,
      message: expect.stringContaining("older than sandboxctl"),
    });
    expect(outcomeOf(78, ["[supervisor] SUPERVISOR_RUN_DIR=\"x\": expected an absolute path"], "c", SUPERVISOR_PATH)).toMatchObject({
      exit: EXIT.unavailable,
      message: expect.stringContaining("cannot load its settings"),
    });
    expect(outcomeOf(125, ["Error response from daemon: container is paused"], "c", SUPERVISOR_PATH)).toMatchObject({
      exit: EXIT.unavailable,
      message: "docker exec in container c exited with 125: Error response from daemon: container is paused",
    });
    expect(outcomeOf(null, [], "c", SUPERVISOR_PATH)).toMatchObject({ exit: EXIT.unavailable, message: "docker exec in container c was killed" });
    expect(outcomeOf(125, ["Error: can only create exec sessions on running containers: container state improper"], "c", SUPERVISOR_PATH, "podman")).toMatchObject({
      exit: EXIT.unavailable,
      message: "podman exec in container c exited with 125: Error: can only create exec sessions on running containers: container state improper",
    });
    const podmanMissing = "Error: runc: exec failed: unable to start container process: exec: \"/usr/local/bin/supervisor\": stat /usr/local/bin/supervisor: no such file or directory: OCI runtime attempted to invoke a command that was not found";
    expect(outcomeOf(127, [podmanMissing], "c", SUPERVISOR_PATH, "podman")).toMatchObject({ message: expect.stringContaining("has no usable /usr/local/bin/supervisor (not found)") });
  });

  it("tells the command's own lines from anything else", () => {
    expect(isCommandLine("restart", "restart: stopping gateway pid 4")).toBe(true);
    expect(isCommandLine("restart", "restart failed (health timeout): x")).toBe(true);
    expect(isCommandLine("restart", "supervisor: restart: Unknown option")).toBe(false);
    expect(isCommandLine("restart", "OCI runtime exec failed")).toBe(false);
  });

  it("accepts exactly one JSON object as a --json answer", () => {
    expect(jsonAnswer('{"ok":true,"pid":5}\n')).toEqual({ ok: true, pid: 5 });
    expect(jsonAnswer('{"ok":true}\n{"ok":true}\n')).toBeUndefined();
    expect(jsonAnswer("restarted: gateway pid 5\n")).toBeUndefined();
    expect(jsonAnswer("[1]\n")).toBeUndefined();
  });

  it("exits 128+N after signal N", () => {
    expect(interruptedStatus("SIGINT")).toBe(130);
    expect(interruptedStatus("SIGTERM")).toBe(143);
  });
});

describe("token file", () => {
  const token = "0123456789abcdef".repeat(4);
  it("reads exactly the line the supervisor writes", () => {
    expect(parseTokenFile(`export OPENCLAW_GATEWAY_TOKEN='${token}'\n`)).toBe(token);
  });
  it("refuses anything else", () => {
    for (const text of [
      "",
      `export OPENCLAW_GATEWAY_TOKEN='${token}'`,
      `export OPENCLAW_GATEWAY_TOKEN='${token.toUpperCase()}'\n`,
      `export OPENCLAW_GATEWAY_TOKEN='${token}0'\n`,
      `export OPENCLAW_GATEWAY_TOKEN='${token}'\necho pwned\n`,
      `OPENCLAW_GATEWAY_TOKEN=${token}\n`,
    ]) {
      expect(parseTokenFile(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});
