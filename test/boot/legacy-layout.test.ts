import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkLegacyLayout } from "../../supervisor/boot/legacy-layout.js";

function layout() {
  const root = mkdtempSync(join(tmpdir(), "legacy-"));
  const config = join(root, ".openclaw");
  const data = join(root, ".openclaw-data");
  mkdirSync(config);
  mkdirSync(join(data, "agents"), { recursive: true });
  writeFileSync(join(config, "openclaw.json"), "{}");
  return { root, config, data };
}

describe("legacy symlink layout", () => {
  it("accepts links that resolve inside the data directory", () => {
    const { config, data } = layout();
    symlinkSync(join(data, "agents"), join(config, "agents"));
    symlinkSync("../.openclaw-data/agents", join(config, "relative"));
    expect(checkLegacyLayout(config, data)).toEqual({ ok: true, links: 2, unchecked: false });
  });

  it("refuses a dangling link", () => {
    const { config, data } = layout();
    symlinkSync(join(data, "missing"), join(config, "skills"));
    expect(checkLegacyLayout(config, data)).toEqual({ ok: false, reason: `${join(config, "skills")} is a dangling symlink` });
  });

  it("refuses links that escape, directly or through a sibling with the same prefix", () => {
    const { config, data } = layout();
    symlinkSync("/etc", join(config, "etc"));
    expect(checkLegacyLayout(config, data)).toMatchObject({ ok: false, reason: expect.stringContaining("outside") });
    const other = layout();
    mkdirSync(`${other.data}-evil`);
    symlinkSync(`${other.data}-evil`, join(other.config, "sneaky"));
    expect(checkLegacyLayout(other.config, other.data)).toMatchObject({ ok: false });
  });

  it("reads a flood of names one at a time, and stops looking after the limit instead of listing them all", () => {
    const { config, data } = layout();
    for (let i = 0; i < 300; i++) writeFileSync(join(config, `flood-${i}`), "");
    symlinkSync(join(data, "agents"), join(config, "agents"));
    expect(checkLegacyLayout(config, data)).toEqual({ ok: true, links: 1, unchecked: false });
    expect(checkLegacyLayout(config, data, 100)).toMatchObject({ ok: true, unchecked: true });
  });
});
