import { describe, expect, it } from "vitest";
import { DEFAULTS, KNOWN_VARIABLES, resolveSettings, SettingsError, withPort } from "../../supervisor/shared/settings.js";

describe("settings", () => {
  it("uses the documented defaults when nothing is set", () => {
    const s = resolveSettings({}, undefined, "/etc/sandbox-supervisor/config.json");
    expect(s).toEqual(DEFAULTS);
    expect(s.configDir).toBe("/sandbox/.openclaw");
    expect(s.gatewayPort).toBe(18789);
    expect(s.posture).toBe("locked");
    expect(withPort(s.healthUrl, s.gatewayPort)).toBe("http://127.0.0.1:18789/health");
    // OpenClaw's contract: three probes, a drain budget within its own 330 s stop policy.
    expect(s.healthMode).toBe("probes");
    expect([s.livenessUrl, s.startupUrl, s.readinessUrl].map((url) => withPort(url, s.gatewayPort))).toEqual([
      "http://127.0.0.1:18789/healthz",
      "http://127.0.0.1:18789/startupz",
      "http://127.0.0.1:18789/readyz",
    ]);
    expect(s.restartDrainSeconds).toBe(330);
    expect(s.stopGraceSeconds).toBeLessThan(10);
    expect(s.gatewayRestarts).toBe("in-process");
  });

  it("refuses restart handoffs without a command to consume them", () => {
    expect(() => resolveSettings({ SUPERVISOR_GATEWAY_RESTARTS: "handoff" }, undefined, "f.json")).toThrow(/^gatewayRestarts "handoff" .* needs restartHandoffCommand/);
    const s = resolveSettings({ SUPERVISOR_GATEWAY_RESTARTS: "handoff", SUPERVISOR_RESTART_HANDOFF_COMMAND: '["openclaw","gateway","restart-handoff"]' }, undefined, "f.json");
    expect(s.restartHandoffCommand).toEqual(["openclaw", "gateway", "restart-handoff"]);
  });

  it("lets the file override defaults and the environment override the file", () => {
    const file = JSON.stringify({ gatewayPort: 1234, posture: "mutable", gatewayCommand: ["gw", "--port", "{port}"] });
    const s = resolveSettings({ SUPERVISOR_GATEWAY_PORT: "4321", SUPERVISOR_REQUIRE_CAP_DROP: "1" }, file, "f.json");
    expect(s.gatewayPort).toBe(4321);
    expect(s.posture).toBe("mutable");
    expect(s.requireCapDrop).toBe(true);
    expect(resolveSettings({ SUPERVISOR_HEALTH_MODE: "process" }, '{"healthMode":"listener"}', "f.json").healthMode).toBe("process");
    expect(s.gatewayCommand.map((a) => withPort(a, s.gatewayPort))).toEqual(["gw", "--port", "4321"]);
  });

  it("names the file or variable and what was expected for a bad value", () => {
    const bad: Array<[NodeJS.ProcessEnv, string | undefined, RegExp]> = [
      [{ SUPERVISOR_GATEWAY_PORT: "70000" }, undefined, /^SUPERVISOR_GATEWAY_PORT="70000": expected a port number/],
      [{ SUPERVISOR_CONFIG_POSTURE: "open" }, undefined, /^SUPERVISOR_CONFIG_POSTURE="open": expected "locked" or "mutable"$/],
      [{ SUPERVISOR_CONFIG_DIR: "relative/dir" }, undefined, /expected an absolute path/],
      [{ SUPERVISOR_GATEWAY_COMMAND: "openclaw gateway" }, undefined, /expected a non-empty JSON array of strings/],
      [{}, "{not json", /^f\.json: not valid JSON/],
      [{}, "[]", /^f\.json: expected a JSON object of settings$/],
      [{}, '{"gatewayPort": "18789"}', /^f\.json: "gatewayPort" must be a port number/],
      [{}, '{"gatewayPrt": 1}', /^f\.json: unknown setting "gatewayPrt"/],
      [{ SUPERVISOR_HEALTH_MODE: "tcp" }, undefined, /^SUPERVISOR_HEALTH_MODE="tcp": expected "probes", "http", "listener" or "process"$/],
    ];
    for (const [env, file, pattern] of bad) {
      expect(() => resolveSettings(env, file, "f.json")).toThrow(SettingsError);
      expect(() => resolveSettings(env, file, "f.json")).toThrow(pattern);
    }
  });

  it("refuses a SUPERVISOR_ variable nobody reads, listing the known ones", () => {
    expect(() => resolveSettings({ SUPERVISOR_GATEWAY_CMD: '["x"]' }, undefined, "f.json")).toThrow(
      /^SUPERVISOR_GATEWAY_CMD: unknown variable \(did you mean SUPERVISOR_GATEWAY_COMMAND\? known: .*SUPERVISOR_GATEWAY_COMMAND.*\)$/,
    );
    // The list names what an operator may set, never the supervisor's own internal variables.
    let message = "";
    try {
      resolveSettings({ SUPERVISOR_ZZZ_NOTHING_LIKE_IT: "1" }, undefined, "f.json");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^SUPERVISOR_ZZZ_NOTHING_LIKE_IT: unknown variable \(known: SUPERVISOR_/);
    for (const internal of ["SUPERVISOR_FAULTS", "SUPERVISOR_REQUEST_FROM", "SUPERVISOR_CAPABILITIES_DROPPED"]) expect(message).not.toContain(internal);
    // The variables read outside the settings file are known too.
    const others = { SUPERVISOR_CONFIG: "/f.json", SUPERVISOR_LOG_LEVEL: "debug", SUPERVISOR_LOG_FORMAT: "json", SUPERVISOR_CAPABILITIES_DROPPED: "1" };
    expect(() => resolveSettings(others, undefined, "f.json")).not.toThrow();
    expect(KNOWN_VARIABLES).toContain("SUPERVISOR_LOG_TIMESTAMPS");
    // Other programs' variables are not ours to judge.
    expect(() => resolveSettings({ SANDBOX_SUPERVISOR_DOCKER_TESTS: "0", SUPERVISORX: "1" }, undefined, "f.json")).not.toThrow();
  });
});
