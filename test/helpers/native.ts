// The addon as build.mjs compiled it, loaded straight from build/native: supervisor/shared/native.ts
// imports the .node files as bytes, which only esbuild can do.
import { existsSync, readdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { NativeAddon } from "../../supervisor/shared/native.js";

const ROOT = resolve(import.meta.dirname, "../..");

export function loadAddon(): NativeAddon {
  const file = resolve(ROOT, `build/native/reaper-linux-${process.arch}.node`);
  const sourceDir = resolve(ROOT, "supervisor/shared/native");
  for (const name of readdirSync(sourceDir).filter((n) => /\.[ch]$/.test(n))) {
    const source = resolve(sourceDir, name);
    if (!existsSync(file) || statSync(file).mtimeMs < statSync(source).mtimeMs) {
      throw new Error(`${file} is missing or older than ${source}: run 'node build.mjs --bundle-only'`);
    }
  }
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, file);
  return module.exports;
}
