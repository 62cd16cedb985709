// sandboxctl's pure decisions: the command line, signal names, the docker environments,
// how answers map to exit statuses, the token file. No Docker needed.
import { describe, expect, it } from "vitest";
import { parseCommandLine, type Parsed } from "../../host-cli/command-line.js";
import { CONTAINER_ENV, dockerCliEnv, execArgs, parseInspect, SUPERVISOR_PATH } from "../../host-cli/docker.js";
import { EXIT, interruptedStatus } from "../../host-cli/exit.js";
import { isCommandLine, jsonAnswer, outcomeOf } from "../../host-cli/relay.js";
import { parseSignal } from "../../host-cli/signals.js";
import { parseTokenFile } from "../../host-cli/token.js";

const ID = "a".repeat(64);

function usage(parsed: Parsed): string {
  expect(parsed.kind).toBe("usage");
  return parsed.kind === "usage" ? parsed.message : "";
}

describe("command line", () => {
  it("runs each command with its defaults", () => {
    expect(parseCommandLine(["restart", "ctr"])).toEqual({
      kind: "run",
      command: { command: "restart", container: "ctr", timeoutSeconds: 60, output: "text" },
    });
    expect(parseCommandLine(["status", "ctr", "--json"])).toMatchObject({ command: { command: "status", timeoutSeconds: 20, output: "json" } });
    expect(parseCommandLine(["health", "--quiet", "ctr"])).toMatchObject({ command: { command: "health", output: "quiet" } });
    expect(parseCommandLine(["token", "ctr", "--timeout", "5"])).toMatchObject({ command: { command: "token", timeoutSeconds: 5 } });
    expect(parseCommandLine(["logs", "ctr", "-f", "--tail", "10"])).toMatchObject({ command: { command: "logs", tail: "10", follow: true } });
    expect(parseCommandLine(["signal", "ctr", "hup"])).toMatchObject({ command: { command: "signal", signal: "SIGHUP", timeoutSeconds: 60 } });
  });

  it("answers --help overall and per command, and --version", () => {
    expect(parseCommandLine(["--help"])).toMatchObject({ kind: "help", text: expect.stringContaining("sandboxctl restart CONTAINER") });
    expect(parseCommandLine(["restart", "--help"])).toMatchObject({ kind: "help", text: expect.stringMatching(/^Usage: sandboxctl restart/) });
    expect(parseCommandLine(["signal", "-h"])).toMatchObject({ kind: "help", text: expect.stringContaining("KILL, STOP and USR1 are refused") });
    expect(parseCommandLine(["--version"])).toEqual({ kind: "version" });
  });

  it("refuses unknown commands and options, missing or extra arguments, and points at the right help", () => {
    expect(usage(parseCommandLine([]))).toBe("missing command");
    expect(usage(parseCommandLine(["reboot", "ctr"]))).toBe("unknown command 'reboot'");
    expect(usage(parseCommandLine(["--frobnicate"]))).toBe("unknown option '--frobnicate'");
    expect(usage(parseCommandLine(["restart", "ctr", "--bogus"]))).toBe("restart: Unknown option '--bogus'");
    expect(parseCommandLine(["restart", "ctr", "--bogus"])).toMatchObject({ help: "sandboxctl restart --help" });
    expect(usage(parseCommandLine(["restart"]))).toBe("restart: missing CONTAINER");
    expect(usage(parseCommandLine(["restart", "a", "b"]))).toBe("restart: unexpected argument 'b'");
    expect(usage(parseCommandLine(["signal", "ctr"]))).toBe("signal: missing SIGNAL");
    expect(usage(parseCommandLine(["token", "ctr", "--json"]))).toMatch(/Unknown option '--json'/);
    expect(usage(parseCommandLine(["logs", "ctr", "--quiet"]))).toMatch(/Unknown option '--quiet'/);
    expect(usage(parseCommandLine(["status", "ctr", "--quiet"]))).toMatch(/Unknown option '--quiet'/);
  });

  it("refuses container arguments docker would read as something else", () => {
    for (const bad of ["-x", "../etc", "a b", "", "x".repeat(256), "ctr;rm"]) {
      expect(usage(parseCommandLine(["status", "--", bad]))).toMatch(/is not a container name or id|missing CONTAINER/);
    }
    expect(parseCommandLine(["status", "my_sandbox-1.a"]).kind).toBe("run");
  });

  it("checks --timeout, --tail, and --json against --quiet", () => {
    expect(usage(parseCommandLine(["restart", "ctr", "--timeout", "-1"]))).toContain("--timeout");
    for (const bad of ["0", "1.5", "3601", "soon", "01"]) {
      expect(usage(parseCommandLine(["restart", "ctr", "--timeout", bad]))).toContain("expected a whole number of seconds from 1 to 3600");
    }
    expect(parseCommandLine(["restart", "ctr", "--timeout", "3600"]).kind).toBe("run");
    expect(usage(parseCommandLine(["logs", "ctr", "--tail", "x"]))).toContain("--tail 'x'");
    expect(parseCommandLine(["logs", "ctr", "--tail", "all"]).kind).toBe("run");
    expect(usage(parseCommandLine(["restart", "ctr", "--json", "--quiet"]))).toBe("restart: --json and --quiet exclude each other");
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

describe("docker environments", () => {
  it("gives the docker CLI only what finds and reaches the engine", () => {
    const env = dockerCliEnv({
      PATH: "/usr/bin",
      HOME: "/root",
      DOCKER_HOST: "unix:///run/docker.sock",
      DOCKER_CONTEXT: "ctx",
      NODE_OPTIONS: "--require /x.js",
      LD_PRELOAD: "/evil.so",
      AWS_SECRET_ACCESS_KEY: "s",
      DOCKER_CONFIG: "",
    });
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/root", DOCKER_HOST: "unix:///run/docker.sock", DOCKER_CONTEXT: "ctx" });
    expect(dockerCliEnv({}).PATH).toBe("/usr/local/bin:/usr/bin:/bin");
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
    // Every variable has a value: a bare `--env NAME` would copy the docker CLI's own.
    expect(env.every((entry) => entry.includes("="))).toBe(true);
    expect(env).toHaveLength(CONTAINER_ENV.length);
    expect(args).not.toContain("-i");
    expect(args).not.toContain("-t");
  });

  it("reads docker inspect: running, stopped, missing, engine errors", () => {
    const ok = (stdout: string) => ({ status: 0, stdout, timedOut: false });
    expect(parseInspect(ok(`${ID} running\n`), [])).toEqual({ kind: "running", id: ID });
    expect(parseInspect(ok(`${ID} exited\n`), [])).toEqual({ kind: "stopped", id: ID, status: "exited" });
    expect(parseInspect(ok(`${ID} paused\n`), [])).toEqual({ kind: "stopped", id: ID, status: "paused" });
    const failed = { status: 1, stdout: "[]\n", timedOut: false };
    expect(parseInspect(failed, ["Error response from daemon: No such container: x"])).toEqual({ kind: "missing" });
    expect(parseInspect(failed, ["Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("Cannot connect"),
    });
    const enoent = Object.assign(new Error("spawn docker ENOENT"), { code: "ENOENT" });
    expect(parseInspect({ status: null, stdout: "", timedOut: false, spawnError: enoent }, [])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("docker command was not found"),
    });
  });
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
