import { describe, expect, it } from "vitest";
import { formatLogLine, logConfigFrom, LogSettingsError, topicEvent, type LogConfig } from "../../supervisor/shared/log.js";

const NOW = new Date("2026-11-28T12:00:00.000Z");
const TEXT: LogConfig = { threshold: "info", format: "text", timestamps: false };
const JSON_INFO: LogConfig = { threshold: "info", format: "json", timestamps: false };

describe("log lines", () => {
  it("keeps today's text lines, with the prefix and one line per event", () => {
    expect(formatLogLine("token: written", {}, TEXT, NOW)).toBe("[supervisor] token: written\n");
    expect(formatLogLine("a\nb", { prefix: "[SECURITY]" }, TEXT, NOW)).toBe("[SECURITY] a b\n");
    expect(formatLogLine("x", {}, { ...TEXT, timestamps: true }, NOW)).toBe("2026-11-28T12:00:00.000Z [supervisor] x\n");
  });

  it("hides what is below the threshold, but never a [SECURITY] line", () => {
    const quiet: LogConfig = { ...TEXT, threshold: "warn" };
    expect(formatLogLine("step", {}, quiet, NOW)).toBeUndefined();
    expect(formatLogLine("step", { level: "debug" }, TEXT, NOW)).toBeUndefined();
    expect(formatLogLine("kill", { level: "warn" }, quiet, NOW)).toBe("[supervisor] kill\n");
    expect(formatLogLine("kept cap", { prefix: "[SECURITY]", level: "info" }, { ...TEXT, threshold: "error" }, NOW)).toBe("[SECURITY] kept cap\n");
  });

  it("writes one JSON object per line with time, level, event, message and fields", () => {
    const line = formatLogLine("gateway pid 7 is healthy", { event: "gateway.healthy", fields: { pid: 7, state: "healthy", gone: undefined } }, JSON_INFO, NOW)!;
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({ time: NOW.toISOString(), level: "info", event: "gateway.healthy", message: "gateway pid 7 is healthy", pid: 7, state: "healthy" });
    expect(JSON.parse(formatLogLine("no setpcap", { prefix: "[SECURITY]" }, JSON_INFO, NOW)!)).toMatchObject({ level: "warn", event: "security", security: true });
    // A line that names no event gets one from its leading topic.
    expect(JSON.parse(formatLogLine("token: written", {}, JSON_INFO, NOW)!).event).toBe("supervisor.token");
    expect(JSON.parse(formatLogLine("config integrity: changed", { prefix: "[SECURITY]" }, JSON_INFO, NOW)!).event).toBe("security.config-integrity");
    // A field cannot overwrite the record's own keys.
    expect(JSON.parse(formatLogLine("m", { fields: { level: "debug" } }, JSON_INFO, NOW)!).level).toBe("info");
  });
});

describe("events of lines that name none", () => {
  it("are the area, dotted with the leading topic when there is one", () => {
    expect(topicEvent("supervisor", "legacy layout: 0 symlink(s)")).toBe("supervisor.legacy-layout");
    expect(topicEvent("supervisor", "gateway pid 7 is healthy")).toBe("supervisor");
    expect(topicEvent("security", "Port: x")).toBe("security");
  });
});

describe("log settings", () => {
  it("takes the caller's default and moves it with -v/-q", () => {
    expect(logConfigFrom({}, "warn")).toEqual({ threshold: "warn", format: "text", timestamps: false, gatewayOutput: "pass" });
    expect(logConfigFrom({}, "warn", 1).threshold).toBe("info");
    expect(logConfigFrom({}, "info", -5).threshold).toBe("error");
    expect(logConfigFrom({}, "info", 9).threshold).toBe("debug");
  });

  it("reads SUPERVISOR_LOG_LEVEL, _FORMAT and _TIMESTAMPS", () => {
    expect(logConfigFrom({ SUPERVISOR_LOG_LEVEL: "debug", SUPERVISOR_LOG_FORMAT: "json", SUPERVISOR_LOG_TIMESTAMPS: "1" }, "warn")).toEqual({
      threshold: "debug",
      format: "json",
      timestamps: true,
      gatewayOutput: "pass",
    });
  });

  it("wraps the gateway's output only in JSON logs", () => {
    expect(logConfigFrom({ SUPERVISOR_LOG_FORMAT: "json", SUPERVISOR_LOG_GATEWAY_OUTPUT: "Wrap" }, "info").gatewayOutput).toBe("wrap");
    expect(logConfigFrom({ SUPERVISOR_LOG_FORMAT: "json", SUPERVISOR_LOG_GATEWAY_OUTPUT: "pass" }, "info").gatewayOutput).toBe("pass");
    expect(() => logConfigFrom({ SUPERVISOR_LOG_GATEWAY_OUTPUT: "wrap" }, "info")).toThrow(
      new LogSettingsError("SUPERVISOR_LOG_GATEWAY_OUTPUT=wrap: expected SUPERVISOR_LOG_FORMAT=json as well (text logs pass the gateway's lines through as they are)"),
    );
    expect(() => logConfigFrom({ SUPERVISOR_LOG_FORMAT: "json", SUPERVISOR_LOG_GATEWAY_OUTPUT: "json" }, "info")).toThrow(/SUPERVISOR_LOG_GATEWAY_OUTPUT="json": expected pass or wrap/);
  });

  it("takes a level or format in any case", () => {
    expect(logConfigFrom({ SUPERVISOR_LOG_LEVEL: "DEBUG", SUPERVISOR_LOG_FORMAT: "JSON" }, "warn")).toMatchObject({ threshold: "debug", format: "json" });
  });

  it("refuses a bad value with one line naming the variable and what was expected", () => {
    expect(() => logConfigFrom({ SUPERVISOR_LOG_LEVEL: "loud" }, "info")).toThrow(new LogSettingsError('SUPERVISOR_LOG_LEVEL="loud": expected one of error, warn, info, debug'));
    expect(() => logConfigFrom({ SUPERVISOR_LOG_FORMAT: "xml" }, "info")).toThrow(/SUPERVISOR_LOG_FORMAT="xml": expected text or json/);
    expect(() => logConfigFrom({ SUPERVISOR_LOG_TIMESTAMPS: "yes" }, "info")).toThrow(/expected 1 or 0/);
  });
});
