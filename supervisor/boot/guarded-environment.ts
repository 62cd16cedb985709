// Boot step 5 (docs/supervisor-boot.md), also run before every relaunch (docs/gateway-states.md "Every relaunch"): stage and verify the
// preload guards, compose NODE_OPTIONS that requires each of them, and write the proxy env
// file the shells source. Throws GuardError when a guard cannot be staged and verified.
import { join } from "node:path";
import { log } from "../shared/log.js";
import type { Settings } from "../shared/settings.js";
import { composeBoundedNodeOptions, MAX_NODE_OPTIONS_BYTES } from "./node-options.js";
import { stagePinned, stageGuards, type GuardOwner } from "./preload-guards.js";
import { PROXY_ENV_FILE, proxyEnvScript } from "./shell-env.js";
import { TOKEN_ENV_FILE } from "../shared/token-file.js";

/** Returns the NODE_OPTIONS a guarded gateway starts with. */
export function stageGuardedEnvironment(settings: Settings, owner: GuardOwner): string {
  const staged = stageGuards(settings.preloadSourceDir, settings.tmpDir, owner);
  const { value: nodeOptions, droppedBytes } = composeBoundedNodeOptions(process.env.NODE_OPTIONS, staged);
  if (droppedBytes !== undefined) {
    log(
      `NODE_OPTIONS: the container's ${droppedBytes}-byte value plus the guards exceeds the kernel's ` +
        `${MAX_NODE_OPTIONS_BYTES}-byte limit for one variable; launching with the guards only (shorten NODE_OPTIONS)`,
      { level: "warn", event: "boot.node-options" },
    );
  }
  // Kept as it is when identical, like the guards (a full /tmp must not stop a relaunch);
  // anything else under the name is moved aside, not trusted.
  stagePinned(
    join(settings.tmpDir, PROXY_ENV_FILE),
    Buffer.from(proxyEnvScript(join(settings.tmpDir, TOKEN_ENV_FILE), nodeOptions, process.env)),
    owner,
  );
  log(`preload guards: staged and verified ${staged.join(", ")}`);
  return nodeOptions;
}
