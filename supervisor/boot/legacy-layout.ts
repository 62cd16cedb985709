// The legacy layout (docs/supervisor-boot.md, step 2): entries of the config directory may be
// symlinks into the data directory. Each must resolve, and resolve inside it; anything else
// refuses boot.
//
// In the mutable posture the directory is the sandbox user's, who may fill it with a flood
// of names (docs/threat-model.md): it is read one entry at a time (opendir, constant memory),
// only symlinks are resolved (the entry type comes with the name), and at most MAX_ENTRIES
// entries are looked at; what lies beyond is said in one line, never read into memory.
import { opendirSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { errorCode } from "../shared/errors.js";

export type LayoutVerdict = { ok: true; links: number; unchecked: boolean } | { ok: false; reason: string };

/** A real layout holds a few dozen names; a flood is cut here. */
export const MAX_ENTRIES = 100_000;

export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export function checkLegacyLayout(configDir: string, dataDir: string, maxEntries = MAX_ENTRIES): LayoutVerdict {
  let dir;
  try {
    dir = opendirSync(configDir, { bufferSize: 64 });
  } catch (error) {
    return { ok: false, reason: `cannot read ${configDir}: ${errorCode(error) ?? "unknown error"}` };
  }
  let dataReal: string | undefined;
  try {
    dataReal = realpathSync(dataDir);
  } catch {
    dataReal = undefined;
  }
  let links = 0;
  try {
    for (let seen = 0; ; seen++) {
      const entry = dir.readSync();
      if (entry === null) return { ok: true, links, unchecked: false };
      if (seen >= maxEntries) return { ok: true, links, unchecked: true };
      if (!entry.isSymbolicLink()) continue;
      links++;
      const problem = linkProblem(join(configDir, entry.name), dataDir, dataReal);
      if (problem !== undefined) return { ok: false, reason: problem };
    }
  } finally {
    dir.closeSync();
  }
}

function linkProblem(path: string, dataDir: string, dataReal: string | undefined): string | undefined {
  let target: string;
  try {
    target = realpathSync(path);
  } catch {
    return `${path} is a dangling symlink`;
  }
  if (dataReal === undefined || !isInside(target, dataReal)) return `${path} points to ${target}, outside ${dataDir}`;
  return undefined;
}
