// The scratch root every boot of the explorer sees, and the files around it. Each crash state
// is its own directory; a boot sees it at one fixed path (`root`, bind-mounted over in a
// private mount namespace), so file contents that name paths (the proxy env file, the
// marker blocks) mean the same in every state, and several boots can run at once.
//
//   <base>/root                 the mount point: every setting points below it
//   <base>/states/<n>           one directory per state (and per recording)
//   <base>/static/              passwd, group, settings, guard sources, image reference
//   <base>/bin/                 the programs under test, copied (a rebuild of dist/ cannot change them mid-run)
//
// <base> is made under /run by default: the image reference must sit in directories only
// root can write (its check refuses a path below the sticky /tmp).
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Posture } from "../../supervisor/shared/settings.js";
import { sha256 } from "./fs-tree.js";

export const REPO = resolve(import.meta.dirname, "../..");

/** Where the settings put each directory, relative to the root. */
export const LAYOUT = {
  configDir: "sandbox/.openclaw",
  dataDir: "sandbox/.openclaw-data",
  stateDir: "var/lib/sandbox-supervisor",
  tmpDir: "tmp",
  runDir: "run/supervisor",
  gatewayConfigDir: "run/supervisor-gateway",
  home: "home/sandbox",
} as const;

export const USERS = {
  sandbox: { name: "sandbox", uid: 64100, gid: 64100 },
  gateway: { name: "gateway", uid: 64101, gid: 64101 },
} as const;

export interface Base {
  dir: string;
  root: string;
  states: string;
  passwd: string;
  group: string;
  bin: string;
  settings: (posture: Posture) => string;
  /** The image's openclaw.json: the first boot's config and the reference. */
  imageConfig: Buffer;
}

export class ScratchError extends Error {}

/** Makes a fresh base under parent (default /run); remove it with removeBase. */
export function createBase(parent = "/run"): Base {
  const dir = mkdtempSync(join(parent, "crash-states-"));
  chmodSync(dir, 0o755);
  const at = (...parts: string[]) => join(dir, ...parts);
  for (const sub of ["root", "states", "static/preloads", "bin"]) mkdirSync(at(sub), { recursive: true, mode: 0o755 });
  const imageConfig = readFileSync(join(REPO, "image/files/openclaw.json"));
  writeFileSync(at("static/openclaw.reference.json"), imageConfig, { mode: 0o444 });
  for (const name of readdirSync(join(REPO, "preloads")).filter((n) => n.endsWith(".js"))) {
    copyFileSync(join(REPO, "preloads", name), at("static/preloads", name));
    chmodSync(at("static/preloads", name), 0o644);
  }
  const root = at("root");
  writeFileSync(at("static/passwd"), passwd(root));
  writeFileSync(at("static/group"), group());
  for (const posture of ["locked", "mutable"] as const) {
    const settings = {
      configDir: join(root, LAYOUT.configDir),
      dataDir: join(root, LAYOUT.dataDir),
      stateDir: join(root, LAYOUT.stateDir),
      tmpDir: join(root, LAYOUT.tmpDir),
      runDir: join(root, LAYOUT.runDir),
      gatewayConfigDir: join(root, LAYOUT.gatewayConfigDir),
      preloadSourceDir: at("static/preloads"),
      configReference: at("static/openclaw.reference.json"),
      posture,
    };
    writeFileSync(at(`static/settings-${posture}.json`), `${JSON.stringify(settings, null, 2)}\n`);
  }
  return {
    dir,
    root,
    states: at("states"),
    passwd: at("static/passwd"),
    group: at("static/group"),
    bin: at("bin"),
    settings: (posture) => at(`static/settings-${posture}.json`),
    imageConfig,
  };
}

export function removeBase(base: Base): void {
  rmSync(base.dir, { recursive: true, force: true });
}

/** The host's accounts plus the two the boot needs, homes below the root. */
function passwd(root: string): string {
  const host = readFileSync("/etc/passwd", "utf8").split("\n").filter((l) => l !== "");
  for (const user of Object.values(USERS)) {
    const clash = host.find((l) => l.split(":")[0] === user.name || l.split(":")[2] === String(user.uid));
    if (clash !== undefined) throw new ScratchError(`host /etc/passwd already has '${clash.split(":")[0]}' (uid ${clash.split(":")[2]}): pick other USERS in test/crash-states/scratch-root.ts`);
  }
  const ours = Object.values(USERS).map((u) => `${u.name}:x:${u.uid}:${u.gid}::${join(root, "home", u.name)}:/bin/sh`);
  return `${[...host, ...ours].join("\n")}\n`;
}

/** Root is in group sandbox, as in the image: the mutable posture writes through that group. */
function group(): string {
  const host = readFileSync("/etc/group", "utf8").split("\n").filter((l) => l !== "");
  return `${[...host, `sandbox:x:${USERS.sandbox.gid}:root`, `gateway:x:${USERS.gateway.gid}:`].join("\n")}\n`;
}

/**
 * A container of the image before its first boot: the locked config with an empty token
 * and its hash, no state directory yet (the first boot makes it), an empty /tmp and home.
 */
export function writeImageLayout(base: Base, dir: string): void {
  const { sandbox, gateway } = USERS;
  const made = (path: string, mode: number, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }) => {
    mkdirSync(join(dir, path), { recursive: true });
    chownSync(join(dir, path), owner.uid, owner.gid);
    chmodSync(join(dir, path), mode);
  };
  made("", 0o755);
  made("sandbox", 0o755, sandbox);
  made(LAYOUT.configDir, 0o755);
  made(LAYOUT.dataDir, 0o755, sandbox);
  made("var/lib", 0o755);
  made("run", 0o755);
  made(LAYOUT.tmpDir, 0o1777);
  made(LAYOUT.home, 0o755, sandbox);
  made("home/gateway", 0o755, gateway);
  const config = join(dir, LAYOUT.configDir, "openclaw.json");
  writeFileSync(config, base.imageConfig, { mode: 0o444 });
  writeFileSync(join(dir, LAYOUT.configDir, ".config-hash"), `${sha256(base.imageConfig)}  openclaw.json\n`, { mode: 0o444 });
}
