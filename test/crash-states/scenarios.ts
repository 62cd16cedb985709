// The situations a boot is recorded in: what the scratch root holds before it. Each leads
// the boot down different durable writes: a first boot creates the state directory, the
// anchor, the dotfile blocks and the staged guards; a restart replaces config, hash, anchor
// and token; a boot after an interrupted write first rolls it back or completes it (each
// of resolveIntent's branches writes something else); a cleared /tmp, stale guards and
// rewritten dotfiles make it stage files anew or replace them; the mutable posture writes
// through the sandbox user's group.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE, HASH_FILE, INTENT_FILE } from "../../supervisor/boot/config-integrity.js";
import { GUARD_NAMES } from "../../supervisor/boot/preload-guards.js";
import { PROXY_ENV_FILE } from "../../supervisor/boot/shell-env.js";
import type { Posture } from "../../supervisor/shared/settings.js";
import { sha256 } from "./fs-tree.js";
import { LAYOUT, writeImageLayout, type Base } from "./scratch-root.js";

export interface Scenario {
  name: string;
  what: string;
  posture: Posture;
  /** Fills dir; `boot` runs one unrecorded boot of the program under test on it. */
  prepare: (base: Base, dir: string, boot: () => Promise<void>) => Promise<void>;
}

/** An unrecorded clean boot first: the scratch root of a container that has run before. */
function afterCleanBoot(then: (dir: string) => void = () => {}): Scenario["prepare"] {
  return async (base, dir, boot) => {
    writeImageLayout(base, dir);
    await boot();
    then(dir);
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "first-boot",
    what: "the first boot of a new container: image config with an empty token, no state directory, empty /tmp and home",
    posture: "locked",
    prepare: async (base, dir) => writeImageLayout(base, dir),
  },
  {
    name: "first-boot-mutable",
    what: "the first boot of a new container in the mutable posture (directory and files handed to the sandbox user)",
    posture: "mutable",
    prepare: async (base, dir) => writeImageLayout(base, dir),
  },
  { name: "restart", what: "a container restart after a clean boot", posture: "locked", prepare: afterCleanBoot() },
  { name: "restart-mutable", what: "a container restart after a clean boot, mutable posture", posture: "mutable", prepare: afterCleanBoot() },
  {
    name: "interrupted-before-config-rename",
    what: "a boot after one that died with its intent recorded, before the config rename: it rolls back, then writes",
    posture: "locked",
    prepare: afterCleanBoot((dir) => interruptConfigWrite(dir, "intent")),
  },
  {
    name: "interrupted-between-renames",
    what: "a boot after one that died between the config and the hash rename: it completes the hash, then writes",
    posture: "locked",
    prepare: afterCleanBoot((dir) => interruptConfigWrite(dir, "config")),
  },
  {
    name: "interrupted-after-renames",
    what: "a boot after one that died after both renames, before the anchor and the intent's removal",
    posture: "locked",
    prepare: afterCleanBoot((dir) => interruptConfigWrite(dir, "hash")),
  },
  {
    name: "tmp-cleared",
    what: "a restart with an empty /tmp (a tmpfs): guards, proxy env file and token file written anew",
    posture: "locked",
    prepare: afterCleanBoot((dir) => {
      for (const name of readdirSync(join(dir, LAYOUT.tmpDir))) rmSync(join(dir, LAYOUT.tmpDir, name), { recursive: true });
    }),
  },
  {
    name: "stale-guards",
    what: "a restart after an image update changed the guards: every staged file is replaced by rename",
    posture: "locked",
    prepare: afterCleanBoot((dir) => {
      for (const name of ["package.json", ...GUARD_NAMES.map((n) => `nemoclaw-${n}`), PROXY_ENV_FILE]) {
        const path = join(dir, LAYOUT.tmpDir, name);
        writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from("\n")]));
      }
    }),
  },
  {
    name: "user-dotfiles",
    what: "a restart after the sandbox user rewrote .bashrc and .profile without the marker block: it is put back",
    posture: "locked",
    prepare: afterCleanBoot((dir) => {
      for (const name of [".bashrc", ".profile"]) writeFileSync(join(dir, LAYOUT.home, name), `# ${name} of the sandbox user\nexport EDITOR=vi\n`);
    }),
  },
];

/**
 * What writeConfigAndHash leaves when it dies after writing `last`: the intent record (old
 * and new hash), then the new config, then its hash. The anchor still names the old config.
 */
function interruptConfigWrite(dir: string, last: "intent" | "config" | "hash"): void {
  const configPath = join(dir, LAYOUT.configDir, CONFIG_FILE);
  const old = readFileSync(configPath);
  const config = JSON.parse(old.toString("utf8")) as { gateway: { auth: { token: string } } };
  config.gateway.auth.token = "c".repeat(64);
  const next = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(dir, LAYOUT.stateDir, INTENT_FILE), `${JSON.stringify({ oldHash: sha256(old), newHash: sha256(next) })}\n`, { mode: 0o600 });
  if (last === "intent") return;
  writeFileSync(configPath, next);
  if (last === "config") return;
  writeFileSync(join(dir, LAYOUT.configDir, HASH_FILE), `${sha256(next)}  ${CONFIG_FILE}\n`);
}

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found === undefined) throw new Error(`unknown scenario '${name}', expected one of ${SCENARIOS.map((s) => s.name).join(", ")}`);
  return found;
}
