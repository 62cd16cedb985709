// Before boot step 1: the places the chain writes, checked up front. On a read-only root
// file system (`docker run --read-only`, Kubernetes' readOnlyRootFilesystem) each needs a
// tmpfs or a volume; the first one missing is named in one line instead of a raw EROFS
// halfway through the chain.
import { accessSync, constants } from "node:fs";
import { dirname } from "node:path";
import type { Settings } from "../shared/settings.js";

export interface WritablePath {
  path: string;
  /** What the chain writes there. */
  why: string;
  /** What to mount there. */
  mount: string;
}

/** The paths the chain writes in each mode (non-root mode leaves the config alone). */
export function writablePaths(settings: Settings, rootMode: boolean): WritablePath[] {
  const tmpfs = (path: string) => `--tmpfs ${path}`;
  const paths: WritablePath[] = [
    { path: settings.tmpDir, why: "staged guards and the token file", mount: tmpfs(settings.tmpDir) },
    { path: settings.runDir, why: "control socket", mount: tmpfs(dirname(settings.runDir)) },
    { path: settings.gatewayConfigDir, why: "the config the gateway runs", mount: tmpfs(dirname(settings.gatewayConfigDir)) },
  ];
  if (rootMode) {
    paths.push(
      { path: settings.stateDir, why: "config write intents", mount: tmpfs(settings.stateDir) },
      { path: settings.configDir, why: "the gateway token in the config", mount: `a volume on ${dirname(settings.configDir)}` },
    );
  }
  return paths;
}

export type Access = (path: string) => "ok" | "missing" | "read-only" | "denied";

export const realAccess: Access = (path) => {
  try {
    accessSync(path, constants.W_OK);
    return "ok";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "missing" : code === "EROFS" ? "read-only" : "denied";
  }
};

/**
 * Pure given `access`: one line about the first path on a read-only file system, or undefined.
 * A path that does not exist yet counts by its nearest existing parent (the chain creates it).
 * Permissions are not judged here: the chain itself sets the config directory's owner, mode
 * and immutable flag, and its steps name what they could not do.
 */
export function unwritable(paths: readonly WritablePath[], access: Access = realAccess): string | undefined {
  for (const entry of paths) {
    let probe = entry.path;
    let outcome = access(probe);
    while (outcome === "missing" && probe !== dirname(probe)) {
      probe = dirname(probe);
      outcome = access(probe);
    }
    if (outcome === "read-only") {
      return `read-only file system: ${entry.path} (${entry.why}) must be writable; mount a tmpfs or volume there (docker run ${entry.mount})`;
    }
  }
  return undefined;
}
