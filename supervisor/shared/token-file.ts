// The token env file's format, which the supervisor writes at every boot and `sandboxctl
// token` reads: one line, `export OPENCLAW_GATEWAY_TOKEN='<64 lowercase hex>'`. Both programs
// take it from here, so the writer and the reader cannot disagree.

/** Its name, in the supervisor's tmpDir (docs/configuration.md). */
export const TOKEN_ENV_FILE = "nemoclaw-gateway-token.env";

export function isToken(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}

/** The token env file's content; the token is hex, so single quotes need no escaping. */
export function tokenEnvFile(token: string): string {
  if (!isToken(token)) throw new Error("refusing to write a token that is not 64 lowercase hex characters");
  return `export OPENCLAW_GATEWAY_TOKEN='${token}'\n`;
}

/** Pure: the token in the file's text, or undefined unless the text is exactly what the supervisor writes. */
export function parseTokenFile(text: string): string | undefined {
  const candidate = /^export OPENCLAW_GATEWAY_TOKEN='([0-9a-f]{64})'\n$/.exec(text)?.[1];
  return isToken(candidate) && tokenEnvFile(candidate) === text ? candidate : undefined;
}
