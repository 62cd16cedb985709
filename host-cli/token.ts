// Where `sandboxctl token` reads the gateway token, and how. The source is the token env
// file the supervisor writes at every boot (docs/supervisor-boot.md, step 4), not openclaw.json: it is written in
// both modes (in non-root mode the config is read-only and keeps the image's empty token,
// and the gateway gets the token from this file's value), it holds nothing but the token.
// The supervisor removes it first thing at boot, at shutdown, and when no token could be
// produced; `token` also refuses a file older than the container's current start.
import { join } from "node:path";
import { TOKEN_ENV_FILE } from "../supervisor/shared/token-file.js";

/** The default tmpDir of the supervisor's settings (docs/configuration.md). */
export const TOKEN_FILE = join("/tmp", TOKEN_ENV_FILE);

/** Exit statuses of the in-container check (commands.ts): no file yet; a file from an earlier start. */
export const TOKEN_MISSING = 3;
export const TOKEN_STALE = 4;

/** The file is one line, `export OPENCLAW_GATEWAY_TOKEN='<64 hex>'`; it is never bigger than this. */
export const MAX_TOKEN_FILE_BYTES = 4096;
