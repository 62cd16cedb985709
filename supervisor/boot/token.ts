// The per-boot gateway token: 32 random bytes as 64 lowercase hex characters. Never
// baked into the image, never in argv or logs.
import { closeSync, openSync, readSync } from "node:fs";
import { isObject } from "../shared/json.js";

export const TOKEN_BYTES = 32;

/** Reads TOKEN_BYTES from the entropy source; throws with a one-line reason. */
export function generateToken(entropySource: string): string {
  const bytes = Buffer.alloc(TOKEN_BYTES);
  let fd: number;
  try {
    fd = openSync(entropySource, "r");
  } catch (error) {
    throw new Error(`cannot open ${entropySource}: ${(error as NodeJS.ErrnoException).code}`);
  }
  try {
    let filled = 0;
    while (filled < TOKEN_BYTES) {
      const n = readSync(fd, bytes, filled, TOKEN_BYTES - filled, null);
      if (n === 0) throw new Error(`${entropySource} gave only ${filled} of ${TOKEN_BYTES} bytes`);
      filled += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes.toString("hex");
}

/** Sets gateway.auth.token in a parsed openclaw.json, creating the objects on the way. */
export function withGatewayToken(config: Record<string, unknown>, token: string): Record<string, unknown> {
  const gateway = isObject(config.gateway) ? config.gateway : {};
  const auth = isObject(gateway.auth) ? gateway.auth : {};
  return { ...config, gateway: { ...gateway, auth: { ...auth, token } } };
}
