// OpenClaw's restart handoff answers, as its CLI prints them (OpenClaw 2026.9.6), judged.
import { describe, expect, it } from "vitest";
import { judgeCapabilities, judgeConsume } from "../../supervisor/supervise/restart-handoff.js";

const envelope = { ok: true, protocol: "openclaw.gateway.restart-handoff", protocolVersion: 1 };

describe("restart handoff", () => {
  it("accepts protocol 1 with consume, and says why anything else is refused", () => {
    expect(judgeCapabilities(JSON.stringify({ ...envelope, operations: ["consume"] }, null, 2))).toBeUndefined();
    expect(judgeCapabilities(JSON.stringify({ ...envelope, protocolVersion: 2, operations: ["consume"] }))).toMatch(/protocol version 2, expected 1/);
    expect(judgeCapabilities(JSON.stringify({ ...envelope, operations: [] }))).toBe("capabilities do not include consume");
    expect(judgeCapabilities("<html>")).toBe("capabilities did not answer JSON");
  });

  it("accepts only an accepted handoff of the pid that exited", () => {
    const handoff = { kind: "gateway-supervisor-restart-handoff", version: 1, pid: 1724, reason: "SIGUSR2", source: "signal", restartKind: "full-process" };
    expect(judgeConsume(JSON.stringify({ ...envelope, status: "accepted", handoff }), 1724)).toEqual({ accepted: true, detail: "SIGUSR2, signal" });
    expect(judgeConsume(JSON.stringify({ ...envelope, status: "accepted", handoff }), 1725)).toMatchObject({ accepted: false, detail: expect.stringContaining("pid 1724, expected 1725") });
    expect(judgeConsume(JSON.stringify({ ...envelope, status: "none", reason: "missing" }), 1724)).toEqual({ accepted: false, detail: "consume answered none/missing" });
    expect(judgeConsume(JSON.stringify({ ...envelope, status: "rejected", reason: "expired", handoffPid: 2700 }), 2700)).toEqual({ accepted: false, detail: "consume answered rejected/expired" });
    expect(judgeConsume("", 1)).toEqual({ accepted: false, detail: "consume did not answer JSON" });
  });
});
