// The legacy layout (docs/supervisor-boot.md, step 2): entries of the config directory may be symlinks into the
// data directory. Each must resolve, and resolve inside it; anything else refuses boot.
import { lstatSync, readdirSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";

export type LayoutVerdict = { ok: true; links: number } | { ok: false; reason: string };

export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export function checkLegacyLayout(configDir: string, dataDir: string): LayoutVerdict {
  let entries: string[];
  try {
    entries = readdirSync(configDir);
  } catch (error) {
    return { ok: false, reason: `cannot read ${configDir}: ${(error as NodeJS.ErrnoException).code}` };
  }
  let dataReal: string | undefined;
  try {
    dataReal = realpathSync(dataDir);
  } catch {
    dataReal = undefined;
  }
  let links = 0;
  for (const name of entries) {
    const path = join(configDir, name);
    if (!lstatSync(path).isSymbolicLink()) continue;
    links++;
    let target: string;
    try {
      target = realpathSync(path);
    } catch {
      return { ok: false, reason: `${path} is a dangling symlink` };
    }
    if (dataReal === undefined || !isInside(target, dataReal)) {
      return { ok: false, reason: `${path} points to ${target}, outside ${dataDir}` };
    }
  }
  return { ok: true, links };
}
