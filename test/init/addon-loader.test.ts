// How the native addon is mapped: the image's root-owned copy, only when its bytes are the
// embedded ones and it cannot be changed by anyone but root, else a written private copy.
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAddon, type AddonSource } from "../../supervisor/shared/addon-loader.js";
import type { NativeAddon } from "../../supervisor/shared/native.js";

const BUILT = resolve(import.meta.dirname, `../../build/native/reaper-linux-${process.arch}.node`);
const bytes = new Uint8Array(readFileSync(BUILT));

let dir: string;
const opened: string[] = [];
const realDlopen = (file: string): NativeAddon => {
  opened.push(file);
  const module = { exports: {} as NativeAddon };
  process.dlopen(module, file);
  return module.exports;
};
const source = (installedPath: string): AddonSource => ({ bytes, installedPath, privateParent: () => dir });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "addon-loader-"));
  opened.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("native addon loading", () => {
  it("maps the installed copy through its open file descriptor when its bytes are the embedded ones", () => {
    const installed = join(dir, "reaper.node");
    copyFileSync(BUILT, installed);
    chmodSync(installed, 0o444);
    const loaded = loadAddon<NativeAddon>(source(installed), realDlopen);
    expect(loaded.from).toBe("installed");
    expect(opened).toEqual([expect.stringMatching(/^\/proc\/self\/fd\/\d+$/)]);
    expect(typeof loaded.exports.reapZombies).toBe("function");
  });

  it("writes a private copy when the installed one differs by one byte", () => {
    const installed = join(dir, "reaper.node");
    const changed = Buffer.from(bytes);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
    writeFileSync(installed, changed, { mode: 0o444 });
    const loaded = loadAddon<NativeAddon>(source(installed), realDlopen);
    expect(loaded.from).toBe("written");
    expect(opened).toEqual([expect.stringMatching(/\/native-[^/]+\/reaper\.node$/)]);
  });

  it("does not trust an installed copy that others may write, or a symlink to a good copy", () => {
    const good = join(dir, "good.node");
    copyFileSync(BUILT, good);
    chmodSync(good, 0o444);
    const writable = join(dir, "writable.node");
    copyFileSync(BUILT, writable);
    chmodSync(writable, 0o666);
    const link = join(dir, "link.node");
    symlinkSync(good, link);
    expect(loadAddon<NativeAddon>(source(writable), realDlopen).from).toBe("written");
    expect(loadAddon<NativeAddon>(source(link), realDlopen).from).toBe("written");
  });

  it("names both ways when neither works", () => {
    const noexec = (file: string) => {
      throw new Error(`${file}: failed to map segment from shared object`);
    };
    expect(() => loadAddon(source(join(dir, "missing.node")), noexec)).toThrow(
      /missing\.node: ENOENT; a private copy: .*failed to map segment.* \(a noexec mount\?\)$/,
    );
  });
});
