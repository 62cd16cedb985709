// The refusals of `supervisor boot` the documentation names (docs/troubleshooting.md, and
// docs/supervisor-boot.md step 3), what each says caused it, and its documented recovery
// as a script can carry it out on a scratch root. After a crash, a refusal is acceptable
// only if it is one of these, does not blame someone else for what was the supervisor's
// own interrupted write (the supervisor must complete or roll that back, never call it
// tampering), and its recovery makes the next boot work.
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "./fs-tree.js";
import { LAYOUT } from "./scratch-root.js";

export interface DocumentedRefusal {
  pattern: RegExp;
  /** Where the documentation describes it. */
  doc: string;
  /** "someone else": tampering or replacement; "the host": mounts, the image's files; "the file": it is damaged, cause not named. */
  blames: "someone else" | "the host" | "the file";
  /** The documented way out, done to the state directory; undefined when none can be scripted. */
  recovery?: { what: string; apply: (stateDir: string) => void };
}

/** What a recreated container starts with besides the config volume: an empty state directory and /tmp. */
function freshContainer(stateDir: string): void {
  rmSync(join(stateDir, LAYOUT.stateDir), { recursive: true, force: true });
  for (const name of readdirSync(join(stateDir, LAYOUT.tmpDir))) rmSync(join(stateDir, LAYOUT.tmpDir, name), { recursive: true, force: true });
}

export const DOCUMENTED_REFUSALS: readonly DocumentedRefusal[] = [
  {
    pattern: /^\[SECURITY\] config integrity: .* does not match .*: the config was changed outside the supervisor/,
    doc: "docs/troubleshooting.md: openclaw.json changed since the supervisor last wrote it",
    blames: "someone else",
    recovery: {
      what: "accept the change as an image build does (sha256sum openclaw.json > .config-hash) in a fresh container",
      apply: (stateDir) => {
        const config = readFileSync(join(stateDir, LAYOUT.configDir, "openclaw.json"));
        writeFileSync(join(stateDir, LAYOUT.configDir, ".config-hash"), `${sha256(config)}  openclaw.json\n`);
        freshContainer(stateDir);
      },
    },
  },
  {
    pattern: /^\[SECURITY\] config integrity: .* is not the config the supervisor last wrote .*the config directory was replaced/,
    doc: "docs/troubleshooting.md: the config directory was replaced",
    blames: "someone else",
    recovery: { what: "start a fresh container", apply: freshContainer },
  },
  {
    pattern: /^\[SECURITY\] config integrity: .* is a symlink/,
    doc: "docs/troubleshooting.md: the config or hash file was replaced by a link",
    blames: "someone else",
  },
  {
    pattern: /^\[SECURITY\] legacy layout: /,
    doc: "docs/troubleshooting.md: a link in the config directory escapes the data directory",
    blames: "someone else",
  },
  {
    pattern: /^\[SECURITY\] refusing unguarded gateway launch: /,
    doc: "docs/troubleshooting.md: a preload guard could not be staged or verified",
    blames: "the host",
    recovery: { what: "check /tmp: start with an empty one", apply: freshContainer },
  },
  {
    pattern: /^\[SECURITY\] config integrity: .* (is not valid JSON|is JSON but not an object|is not valid UTF-8)/,
    doc: "docs/supervisor-boot.md step 3: unparseable JSON refuses boot",
    blames: "the file",
  },
  {
    pattern: /^\[SECURITY\] config integrity: .*\.config-hash is (missing|malformed)/,
    doc: "docs/supervisor-boot.md step 3: a missing or malformed hash refuses boot (locked posture)",
    blames: "the file",
  },
];

export function documentedRefusal(line: string): DocumentedRefusal | undefined {
  return DOCUMENTED_REFUSALS.find((refusal) => refusal.pattern.test(line));
}
