import { describe, expect, it } from "vitest";
import {
  controlSocketPath,
  decodeMessage,
  decodeRequest,
  encodeMessage,
  encodeRequest,
  restartLockPath,
  type ControlRequest,
} from "../../supervisor/control/protocol.js";
import {
  exitCodeFor,
  formatStatus,
  parseControlArgs,
  type ControlCommandName,
} from "../../supervisor/control/commands.js";
import type { StatusReport } from "../../supervisor/supervise/control-contract.js";
import { formatDuration } from "../../supervisor/shared/format.js";

const REPORT: StatusReport = {
  state: "healthy",
  gateway: { pid: 4242, startTime: 123456, uid: 999, startedAt: "2025-01-01T00:00:00.000Z", uptimeSeconds: 3725 },
  restarts: 2,
  crashes: 1,
  failedBoots: 0,
  inProcessRestarts: 0,
  probationAt: null,
  breaker: { tripped: false, uncleanBoots: 1, windowSeconds: 300 },
  lastExit: { description: "exited with 1", at: "2024-12-31T23:59:00.000Z", expected: false },
  detail: null,
  capabilities: { gatewayKept: [], supervisorKept: ["net_raw"] },
  mode: "root",
  posture: "locked",
  readiness: { ready: true, failing: [] },
  drain: null,
};

describe("control protocol: requests", () => {
  it("accepts exactly the five request shapes", () => {
    const good: Array<[string, ControlRequest]> = [
      ['{"op":"status"}', { op: "status" }],
      ['{"op":"health"}', { op: "health" }],
      ['{"op":"stop"}', { op: "stop" }],
      ['{"op":"restart","timeoutMs":30000}', { op: "restart", timeoutMs: 30000 }],
      ['{"op":"restart","timeoutMs":1}', { op: "restart", timeoutMs: 1 }],
      ['{"op":"restart","timeoutMs":3600000}', { op: "restart", timeoutMs: 3600000 }],
      [
        '{"op":"restart","timeoutMs":30000,"expect":{"pid":7,"startTime":99}}',
        { op: "restart", timeoutMs: 30000, expect: { pid: 7, startTime: 99 } },
      ],
      [' {"op":"status"} \r', { op: "status" }],
      ['{"op":"stop","from":"\'supervisor stop\' (pid 9)"}', { op: "stop", from: "'supervisor stop' (pid 9)" }],
      ['{"op":"restart","timeoutMs":5,"from":"signal"}', { op: "restart", timeoutMs: 5, from: "signal" }],
      ['{"op":"start","timeoutMs":5000}', { op: "start", timeoutMs: 5000 }],
      ['{"op":"start","timeoutMs":5,"from":"x"}', { op: "start", timeoutMs: 5, from: "x" }],
    ];
    for (const [line, request] of good) {
      expect(decodeRequest(line), line).toEqual({ ok: true, value: request });
    }
  });

  it("refuses anything else with one line naming what was wrong and what was expected", () => {
    const bad: Array<[string, RegExp]> = [
      ["", /^request is not valid JSON: expected one line like \{"op":"status"\}$/],
      ["garbage", /^request is not valid JSON/],
      ['{"op":"status"', /^request is not valid JSON/],
      ["[]", /^request must be a JSON object/],
      ["null", /^request must be a JSON object/],
      ['"status"', /^request must be a JSON object/],
      ["{}", /^unknown op undefined: expected one of restart, start, status, health, stop$/],
      ['{"op":"reboot"}', /^unknown op "reboot": expected one of restart, start, status, health, stop$/],
      ['{"op":"STATUS"}', /^unknown op "STATUS"/],
      ['{"op":1}', /^unknown op 1/],
      ['{"op":"status","verbose":true}', /^unexpected key "verbose" in a status request: it takes only op$/],
      ['{"op":"stop","timeoutMs":5}', /^unexpected key "timeoutMs" in a stop request/],
      ['{"op":"stop","from":"x\\ny"}', /^from must be one line of at most 200 characters/],
      [`{"op":"restart","timeoutMs":5,"from":"${"x".repeat(201)}"}`, /^from must be one line of at most 200 characters/],
      ['{"op":"status","__proto__":{}}', /^unexpected key "__proto__"/],
      ['{"op":"restart"}', /^timeoutMs must be an integer from 1 to 3600000 \(milliseconds\), got undefined$/],
      ['{"op":"restart","timeoutMs":0}', /^timeoutMs must be an integer from 1 to 3600000/],
      ['{"op":"restart","timeoutMs":-5}', /^timeoutMs must be an integer/],
      ['{"op":"restart","timeoutMs":1.5}', /^timeoutMs must be an integer/],
      ['{"op":"restart","timeoutMs":3600001}', /^timeoutMs must be an integer.*got 3600001$/],
      ['{"op":"restart","timeoutMs":"30000"}', /^timeoutMs must be an integer.*got "30000"$/],
      ['{"op":"restart","timeoutMs":null}', /^timeoutMs must be an integer.*got null$/],
      ['{"op":"restart","timeoutMs":1000,"force":true}', /^unexpected key "force" in a restart request: it takes op, timeoutMs and optionally expect, from and drainMs$/],
      ['{"op":"restart","timeoutMs":1000,"drainMs":-1}', /^drainMs must be an integer from 0 to 3600000 \(milliseconds\), got -1$/],
      ['{"op":"start","timeoutMs":1000,"drainMs":5}', /^unexpected key "drainMs" in a start request/],
      ['{"op":"restart","timeoutMs":1000,"expect":null}', /^expect must be an object \{"pid":N,"startTime":T\}, got null$/],
      ['{"op":"restart","timeoutMs":1000,"expect":[1,2]}', /^expect must be an object/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":7}}', /^expect\.startTime must be a positive integer, got undefined$/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":0,"startTime":9}}', /^expect\.pid must be a positive integer, got 0$/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":"7","startTime":9}}', /^expect\.pid must be a positive integer, got "7"$/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":7,"startTime":-1}}', /^expect\.startTime must be a positive integer/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":7,"startTime":1e300}}', /^expect\.startTime must be a positive integer/],
      ['{"op":"restart","timeoutMs":1000,"expect":{"pid":7,"startTime":9,"uid":0}}', /^unexpected key "uid" in expect: it takes only pid and startTime$/],
    ];
    for (const [line, pattern] of bad) {
      const decoded = decodeRequest(line);
      expect(decoded.ok, line).toBe(false);
      if (!decoded.ok) {
        expect(decoded.message, line).toMatch(pattern);
        expect(decoded.message).not.toContain("\n");
      }
    }
  });

  it("shortens long values it quotes back", () => {
    const decoded = decodeRequest(JSON.stringify({ op: "x".repeat(10_000) }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.message.length).toBeLessThan(120);
  });

  it("encodes requests as one line that decodes to the same request", () => {
    const request: ControlRequest = { op: "restart", timeoutMs: 5000, expect: { pid: 3, startTime: 4 } };
    const line = encodeRequest(request);
    expect(line.endsWith("\n")).toBe(true);
    expect(line.indexOf("\n")).toBe(line.length - 1);
    expect(decodeRequest(line.slice(0, -1))).toEqual({ ok: true, value: request });
  });

  it("puts the socket and the restart lock in the run directory", () => {
    expect(controlSocketPath({ runDir: "/run/supervisor" })).toBe("/run/supervisor/control.sock");
    expect(restartLockPath({ runDir: "/x" })).toBe("/x/restart.lock");
  });
});

describe("control protocol: answers", () => {
  it("decodes progress, results and status reports", () => {
    const messages = [
      { progress: "stopping gateway pid 7" },
      { result: { ok: true, gateway: { pid: 8, startTime: 9, uid: 999 } } },
      { result: { ok: true, gateway: null } },
      { result: { ok: true, gateway: { pid: 8, startTime: 9, uid: 999 }, alreadyStarted: "backing-off" } },
      { result: { ok: false, layer: "health timeout", message: "no answer on port 18789 within 60 s" } },
      { status: REPORT },
      { status: { ...REPORT, gateway: null, lastExit: null, detail: "quarantined", capabilities: { gatewayKept: null, supervisorKept: [] } } },
    ];
    for (const message of messages) {
      const line = encodeMessage(message as never);
      expect(line.indexOf("\n")).toBe(line.length - 1);
      expect(decodeMessage(line.slice(0, -1))).toEqual({ ok: true, value: message });
    }
  });

  it("refuses answers that are not from a supervisor of this protocol", () => {
    const bad = [
      "nope",
      "{}",
      '{"progress":1}',
      '{"progress":"a","result":{"ok":true,"gateway":null}}',
      '{"result":{"ok":false,"layer":"cosmic rays","message":"x"}}',
      '{"result":{"ok":true}}',
      '{"result":{"ok":"yes","gateway":null}}',
      JSON.stringify({ status: { ...REPORT, state: "sleeping" } }),
      JSON.stringify({ status: { ...REPORT, capabilities: undefined } }),
      JSON.stringify({ status: { ...REPORT, gateway: { pid: 1 } } }),
      '{"hello":"world"}',
    ];
    for (const line of bad) expect(decodeMessage(line).ok, line).toBe(false);
  });
});

describe("control commands: command lines", () => {
  it("parses the options of each command", () => {
    const good: Array<[ControlCommandName, string[], unknown]> = [
      ["restart", [], { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "default" } }],
      ["restart", ["--timeout", "5", "--json"], { command: "restart", timeoutMs: 5_000, json: true, drain: { kind: "default" } }],
      ["restart", ["--timeout=3600"], { command: "restart", timeoutMs: 3_600_000, json: false, drain: { kind: "default" } }],
      ["restart", ["--wait", "3s"], { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "wait", ms: 3000 } }],
      ["restart", ["--wait=5m30s"], { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "wait", ms: 330_000 } }],
      ["restart", ["--wait", "1500"], { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "wait", ms: 1500 } }],
      ["restart", ["--force"], { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "force" } }],
      [
        "restart",
        ["--expect-pid", "42", "--expect-start-time", "777"],
        { command: "restart", timeoutMs: 60_000, json: false, drain: { kind: "default" }, expect: { pid: 42, startTime: 777 } },
      ],
      ["status", [], { command: "status", json: false }],
      ["status", ["--json"], { command: "status", json: true }],
      ["health", [], { command: "health", json: false, ready: false }],
      ["health", ["--json"], { command: "health", json: true, ready: false }],
      ["health", ["--ready"], { command: "health", json: false, ready: true }],
      ["stop", ["--json"], { command: "stop", json: true, drain: { kind: "default" } }],
      ["stop", ["--wait", "20s"], { command: "stop", json: false, drain: { kind: "wait", ms: 20_000 } }],
    ];
    for (const [command, args, parsed] of good) {
      expect(parseControlArgs(command, args), `${command} ${args.join(" ")}`).toEqual({ kind: "run", parsed });
    }
    expect(parseControlArgs("health", ["-h"])).toEqual({ kind: "help" });
    expect(parseControlArgs("restart", ["--help"])).toEqual({ kind: "help" });
  });

  it("calls every other command line a usage error, with one line saying what was expected", () => {
    const bad: Array<[ControlCommandName, string[], RegExp]> = [
      ["restart", ["--timeout", "0"], /^--timeout '0': expected a whole number of seconds from 1 to 3600$/],
      ["restart", ["--timeout", "3601"], /^--timeout '3601'/],
      ["restart", ["--timeout", "1.5"], /^--timeout '1.5'/],
      ["restart", ["--timeout", "ten"], /^--timeout 'ten'/],
      ["restart", ["--timeout", "-1"], /^--timeout '-1': expected a whole number/],
      ["restart", ["--timeout"], /^missing value for --timeout, expected --timeout SECONDS$/],
      ["restart", ["--timeout", "--json"], /^missing value for --timeout, expected --timeout SECONDS$/],
      ["restart", ["--expect-pid", "42"], /^--expect-pid and --expect-start-time go together$/],
      ["restart", ["--expect-start-time", "42"], /^--expect-pid and --expect-start-time go together$/],
      ["restart", ["--expect-pid", "0", "--expect-start-time", "1"], /^--expect-pid '0': expected a process id/],
      ["restart", ["--expect-pid", "1", "--expect-start-time", "x"], /^--expect-start-time 'x': expected a positive integer/],
      ["restart", ["--fast"], /^unknown option '--fast', expected one of --timeout, --wait, --force, --json/],
      ["restart", ["--wait", "3s", "--force"], /^--wait and --force exclude each other/],
      ["restart", ["--wait", "soon"], /^--wait 'soon': expected a duration above 0 and up to 1h/],
      ["restart", ["--wait", "0"], /^--wait '0': expected a duration above 0/],
      ["restart", ["--wait", "2h"], /^--wait '2h': expected a duration above 0 and up to 1h/],
      ["restart", ["--timout", "5"], /^unknown option '--timout', did you mean '--timeout'\?$/],
      ["restart", ["now"], /^unexpected argument 'now', expected no arguments$/],
      ["status", ["--timeout", "5"], /^unknown option '--timeout'/],
      ["status", ["--jsn"], /^unknown option '--jsn', did you mean '--json'\?$/],
      ["stop", ["gateway"], /^unexpected argument 'gateway'/],
    ];
    for (const [command, args, pattern] of bad) {
      const outcome = parseControlArgs(command, args);
      expect(outcome.kind, `${command} ${args.join(" ")}`).toBe("usage");
      if (outcome.kind === "usage") {
        expect(outcome.message, `${command} ${args.join(" ")}`).toMatch(pattern);
        expect(outcome.command).toBe(command);
      }
    }
  });

  it("maps failed layers to exit statuses: 3 busy, 4 unavailable, 1 everything else", () => {
    expect(exitCodeFor("busy")).toBe(3);
    expect(exitCodeFor("unavailable")).toBe(4);
    for (const layer of ["guards missing", "config integrity", "launch failure", "health timeout", "stale request", "bad request"] as const) {
      expect(exitCodeFor(layer)).toBe(1);
    }
  });
});

describe("control commands: status text", () => {
  it("formats durations from seconds to days", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(59)).toBe("59s");
    expect(formatDuration(60)).toBe("1m 0s");
    expect(formatDuration(3725)).toBe("1h 2m 5s");
    expect(formatDuration(90061)).toBe("1d 1h 1m 1s");
  });

  it("prints one aligned line per fact", () => {
    expect(formatStatus(REPORT)).toBe(
      [
        "state         healthy",
        "readiness     ready",
        "gateway       pid 4242 (start time 123456, uid 999)",
        "uptime        1h 2m 5s (since 2025-01-01T00:00:00.000Z)",
        "restarts      2 (crashes: 1, failed boots: 0, in process: 0)",
        "last exit     exited with 1 at 2024-12-31T23:59:00.000Z (unexpected)",
        "breaker       clear (1 unclean gateway boot(s) within 300s)",
        "capabilities  gateway kept: none; supervisor kept: net_raw",
        "mode          root, config locked",
        "",
      ].join("\n"),
    );
  });

  it("says what a restarting or draining gateway is doing, and which subsystems are not ready", () => {
    const line = (report: StatusReport, name: string) => formatStatus(report).split("\n").find((l) => l.startsWith(name));
    expect(line({ ...REPORT, state: "restarting" }, "state")).toBe("state         restarting (in process)");
    expect(line({ ...REPORT, state: "stopping", drain: { budgetSeconds: 330, secondsLeft: 12 } }, "state")).toBe("state         stopping (draining, 12 s left)");
    const notReady = { ...REPORT, readiness: { ready: false, failing: ["channel:telegram", "agent-database:main"] } };
    expect(line(notReady, "readiness")).toBe("readiness     not ready (failing: channel:telegram, agent-database:main)");
    expect(line({ ...REPORT, readiness: null }, "readiness")).toBe("readiness     unknown (no readiness probe answer)");
  });

  it("says none, unknown and the detail when there is no gateway", () => {
    const text = formatStatus({
      ...REPORT,
      state: "quarantined",
      gateway: null,
      lastExit: { description: "killed by SIGKILL", at: "t", expected: true },
      failedBoots: 3,
      probationAt: "2025-01-01T00:10:00.000Z",
      breaker: { tripped: true, uncleanBoots: 4, windowSeconds: 300 },
      detail: "5 crashes in 60 s;\nwaiting for supervisor restart",
      capabilities: { gatewayKept: null, supervisorKept: [] },
      mode: "non-root",
      posture: "mutable",
    });
    expect(text).toBe(
      [
        "state         quarantined",
        "readiness     -",
        "gateway       none",
        "uptime        -",
        "restarts      2 (crashes: 1, failed boots: 3, in process: 0)",
        "last exit     killed by SIGKILL at t (expected)",
        "breaker       tripped (4 unclean gateway boot(s) within 300s)",
        "capabilities  gateway kept: unknown; supervisor kept: none",
        "mode          non-root, config mutable",
        "probation     next relaunch at 2025-01-01T00:10:00.000Z",
        "detail        5 crashes in 60 s; waiting for supervisor restart",
        "",
      ].join("\n"),
    );
  });
});
