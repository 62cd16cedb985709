import { describe, expect, it } from "vitest";
import { generateToken, withGatewayToken } from "../../supervisor/boot/token.js";
import { isToken, tokenEnvFile } from "../../supervisor/shared/token-file.js";

describe("gateway token", () => {
  it("is 64 lowercase hex characters and new every time", () => {
    const tokens = new Set(Array.from({ length: 20 }, () => generateToken("/dev/urandom")));
    expect(tokens.size).toBe(20);
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  it("fails with a one-line reason when the entropy source cannot be read", () => {
    expect(() => generateToken("/nonexistent/urandom")).toThrow("cannot open /nonexistent/urandom: ENOENT");
    expect(() => generateToken("/dev/null")).toThrow("/dev/null gave only 0 of 32 bytes");
  });

  it("goes into gateway.auth.token, keeping everything else", () => {
    const config = { gateway: { port: 1, auth: { mode: "token", token: "" } }, other: [1] };
    expect(withGatewayToken(config, "ab")).toEqual({ gateway: { port: 1, auth: { mode: "token", token: "ab" } }, other: [1] });
    expect(withGatewayToken({}, "ab")).toEqual({ gateway: { auth: { token: "ab" } } });
  });

  it("writes a shell file that exports it, and refuses anything that is not a token", () => {
    const token = "a".repeat(64);
    expect(isToken(token)).toBe(true);
    expect(tokenEnvFile(token)).toBe(`export OPENCLAW_GATEWAY_TOKEN='${token}'\n`);
    expect(() => tokenEnvFile("x'; rm -rf /; '")).toThrow();
  });
});
