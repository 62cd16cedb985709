// The supervisor's durable write paths, each named by the files it writes (relative to the
// scratch root). An operation belongs to a path when it names one of those files, a temp
// file of the atomic writer for one, or a directory they live in (its creation, its owner
// and mode). "boot" is the whole boot: every operation.
import { ANCHOR_FILE, CONFIG_FILE, HASH_FILE, INTENT_FILE } from "../../supervisor/boot/config-integrity.js";
import { GUARD_NAMES } from "../../supervisor/boot/preload-guards.js";
import { PROXY_ENV_FILE } from "../../supervisor/boot/shell-env.js";
import { TOKEN_ENV_FILE } from "../../supervisor/shared/token-file.js";
import { LAYOUT } from "./scratch-root.js";
import type { RecordedOp } from "./trace-to-ops.js";

export interface DurablePath {
  name: string;
  what: string;
  /** Root-relative files; undefined: every operation. */
  targets: string[] | undefined;
}

const at = (dir: string, ...names: string[]) => names.map((name) => `${dir}/${name}`);

export const DURABLE_PATHS: readonly DurablePath[] = [
  {
    name: "config",
    what: "openclaw.json and .config-hash with the write intent record",
    targets: [...at(LAYOUT.configDir, CONFIG_FILE, HASH_FILE), ...at(LAYOUT.stateDir, INTENT_FILE)],
  },
  { name: "anchor", what: "the trusted-hash anchor", targets: at(LAYOUT.stateDir, ANCHOR_FILE) },
  { name: "token", what: "the token env file", targets: at(LAYOUT.tmpDir, TOKEN_ENV_FILE) },
  {
    name: "guards",
    what: "the staged guards, their package.json and the proxy env file",
    targets: at(LAYOUT.tmpDir, "package.json", ...GUARD_NAMES.map((name) => `nemoclaw-${name}`), PROXY_ENV_FILE),
  },
  { name: "dotfiles", what: "the marker blocks in the sandbox user's .bashrc and .profile", targets: at(LAYOUT.home, ".bashrc", ".profile") },
  { name: "boot", what: "the boot as a whole", targets: undefined },
];

/** Every file some path writes: what the atomic writer promises old-or-new for. */
export const ALL_TARGETS: readonly string[] = DURABLE_PATHS.flatMap((p) => p.targets ?? []);

/** The file a temp or displaced name of the atomic writer stands for (".x.tmp-1-ab" → "x"). */
export function targetOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  const base = /^\.(.+)\.(?:tmp|displaced)-\d+-[0-9a-f]+$/.exec(name)?.[1];
  return base === undefined ? path : `${path.slice(0, slash + 1)}${base}`;
}

export function selects(path: DurablePath, op: RecordedOp): boolean {
  const targets = path.targets;
  if (targets === undefined) return true;
  return op.names.some((name) => {
    const target = targetOf(name);
    return targets.includes(target) || targets.some((t) => t.startsWith(`${target}/`));
  });
}

export function durablePath(name: string): DurablePath {
  const path = DURABLE_PATHS.find((p) => p.name === name);
  if (path === undefined) throw new Error(`unknown durable write path '${name}', expected one of ${DURABLE_PATHS.map((p) => p.name).join(", ")}`);
  return path;
}
