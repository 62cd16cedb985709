// Judges one crash state: first as it lies on disk (every file the atomic writer wrote is
// absent or one of its whole versions; a token file the sandbox user can read holds a whole
// token), then by booting the program under test on it. Allowed: it boots with the old
// config and a fresh token; it boots with the new config (and a fresh token: every boot
// writes one); or it refuses in a documented, recoverable way that names the cause
// (refusals.ts), and boots after that recovery. Anything else is a violation, named in one
// line: a config that is neither old nor new accepted, a half-written readable token, a
// boot that stays refused, an undocumented refusal, a crash of the boot itself.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE, HASH_FILE, INTENT_FILE, ANCHOR_FILE, canonicalWithoutToken } from "../../supervisor/boot/config-integrity.js";
import type { Posture } from "../../supervisor/shared/settings.js";
import { TOKEN_ENV_FILE, isToken, parseTokenFile, tokenEnvFile } from "../../supervisor/shared/token-file.js";
import { sha256, type FsNode, type FsTree } from "./fs-tree.js";
import { bootOn, lastLogLine, type BootRun, type Program } from "./pid1-boot.js";
import { documentedRefusal } from "./refusals.js";
import { LAYOUT, USERS, type Base } from "./scratch-root.js";
import { materialise, snapshot } from "./tree-io.js";

/** A whole version of a file: absent, or these bytes with this mode and owner. */
export type Version = { absent: true } | { absent: false; data: Buffer; mode: number; uid: number; gid: number };

export interface Expectation {
  posture: Posture;
  /** openclaw.json before the recorded boot, and as it left it. */
  oldConfig: Buffer;
  newConfig: Buffer;
  /** For each file a path writes, every whole version it had during the recorded run. */
  versions: ReadonlyMap<string, readonly Version[]>;
}

export type Outcome = "old" | "new" | "recovered" | "violation";

export interface Verdict {
  outcome: Outcome;
  /** One line per violation; empty unless outcome is "violation". */
  problems: string[];
  /** How the boot got there: the integrity it logged (verified, completed-interrupted-write, ...), or the refusal it recovered from. */
  note: string;
}

const CONFIG = `${LAYOUT.configDir}/${CONFIG_FILE}`;
const TOKEN = `${LAYOUT.tmpDir}/${TOKEN_ENV_FILE}`;

export async function checkState(base: Base, program: Program, expectation: Expectation, state: FsTree, name: string): Promise<Verdict> {
  const problems = onDiskProblems(state, expectation);
  const dir = join(base.states, name);
  materialise(state, dir);
  try {
    const accepted = fileAt(state, CONFIG)?.data;
    const first = await bootOn(base, dir, program, { posture: expectation.posture });
    const judged = await judgeRun(base, program, expectation, dir, first, accepted);
    problems.push(...judged.problems);
    // The container's own paths read better than the scratch root's.
    const bare = (line: string) => line.split(base.root).join("");
    return { outcome: problems.length > 0 ? "violation" : judged.outcome, problems: problems.map(bare), note: bare(judged.note) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function judgeRun(base: Base, program: Program, expectation: Expectation, dir: string, run: BootRun, accepted: Buffer | undefined): Promise<Verdict> {
  if (run.status === 0) return judgeBoot(expectation, dir, run, accepted);
  if (run.timedOut) return violation("the boot did not finish within its time limit");
  const line = lastLogLine(run);
  if (run.status !== 78) return violation(`the boot exited with ${run.status}: ${line}`);
  const refusal = documentedRefusal(line);
  if (refusal === undefined) return violation(`refused with a line the documentation does not name: ${line}`);
  const problems: string[] = [];
  if (refusal.blames === "someone else") problems.push(`blames someone else for the supervisor's own interrupted write: ${line}`);
  if (refusal.recovery === undefined) return { outcome: "violation", problems: [...problems, `refused with no documented recovery (${refusal.doc}): ${line}`], note: line };
  refusal.recovery.apply(dir);
  const recovered = readFileSync(join(dir, CONFIG));
  const again = await bootOn(base, dir, program, { posture: expectation.posture });
  if (again.status !== 0) problems.push(`stays refused after the documented recovery (${refusal.recovery.what}): ${lastLogLine(again)}`);
  else problems.push(...judgeBoot(expectation, dir, again, recovered).problems);
  return { outcome: problems.length > 0 ? "violation" : "recovered", problems, note: `${line} → ${refusal.recovery.what}` };
}

function violation(problem: string): Verdict {
  return { outcome: "violation", problems: [problem], note: "" };
}

/** A boot that exited 0: what it accepted, and what it left for the next reader. */
function judgeBoot(expectation: Expectation, dir: string, run: BootRun, accepted: Buffer | undefined): Verdict {
  const note = /config: .*\((?:locked|mutable) posture(?:, ([a-z-]+))?\)/.exec(run.stderr)?.[1] ?? (/integrity is not enforced/.test(run.stderr) ? "not-enforced" : "verified");
  if (accepted === undefined) return { outcome: "violation", problems: ["booted without an openclaw.json"], note };
  const outcome = accepted.equals(expectation.oldConfig) ? "old" : accepted.equals(expectation.newConfig) ? "new" : undefined;
  if (outcome === undefined) {
    return { outcome: "violation", problems: [`accepted an openclaw.json that is neither the old nor the new one (${accepted.length} bytes, sha256 ${sha256(accepted).slice(0, 12)})`], note };
  }
  return { outcome, problems: afterBootProblems(expectation, dir, accepted), note };
}

function tokenOf(config: Buffer): unknown {
  try {
    return (JSON.parse(config.toString("utf8")) as { gateway?: { auth?: { token?: unknown } } }).gateway?.auth?.token;
  } catch {
    return undefined;
  }
}

/** What a completed boot must leave: a fresh token in config and token file, the hash, no intent. */
function afterBootProblems(expectation: Expectation, dir: string, accepted: Buffer): string[] {
  const after = snapshot(dir);
  const config = fileAt(after, CONFIG)?.data ?? Buffer.alloc(0);
  const token = tokenOf(config);
  const problems: string[] = [];
  if (!isToken(token)) return ["the boot left openclaw.json without a 64-hex gateway.auth.token"];
  if ([tokenOf(expectation.oldConfig), tokenOf(expectation.newConfig), tokenOf(accepted)].includes(token)) problems.push("the boot kept an earlier token instead of a fresh one");
  if (canonicalWithoutToken(JSON.parse(config.toString("utf8"))) !== canonicalWithoutToken(JSON.parse(accepted.toString("utf8")))) {
    problems.push("the boot changed more of openclaw.json than its token");
  }
  if (fileAt(after, `${LAYOUT.configDir}/${HASH_FILE}`)?.data.toString() !== `${sha256(config)}  ${CONFIG_FILE}\n`) problems.push("after the boot .config-hash does not match openclaw.json");
  if (fileAt(after, `${LAYOUT.stateDir}/${ANCHOR_FILE}`)?.data.toString() !== `${sha256(config)}\n`) problems.push("after the boot the trusted-hash anchor is not the config's hash");
  if (after.resolve(`${LAYOUT.stateDir}/${INTENT_FILE}`) !== undefined) problems.push("the boot left a write intent record behind");
  const tokenFile = fileAt(after, TOKEN);
  if (tokenFile === undefined || parseTokenFile(tokenFile.data.toString("utf8")) !== token || tokenFile.mode !== 0o444 || tokenFile.uid !== 0) {
    problems.push("after the boot the token file is not root's 0444 file holding the config's token");
  }
  return problems;
}

function fileAt(tree: FsTree, path: string): FsNode | undefined {
  const id = tree.resolve(path);
  const node = id === undefined ? undefined : tree.node(id);
  return node?.kind === "file" ? node : undefined;
}

function describe(node: FsNode | undefined): string {
  if (node === undefined) return "absent";
  return `${node.kind} of ${node.data.length} bytes, mode ${node.mode.toString(8).padStart(4, "0")} ${node.uid}:${node.gid}`;
}

function sameVersion(node: FsNode | undefined, version: Version): boolean {
  if (version.absent) return node === undefined;
  return node?.kind === "file" && node.data.equals(version.data) && node.mode === version.mode && node.uid === version.uid && node.gid === version.gid;
}

/** The state as it lies on disk, before any boot touches it. */
export function onDiskProblems(state: FsTree, expectation: Expectation): string[] {
  const problems: string[] = [];
  for (const [path, versions] of expectation.versions) {
    const id = state.resolve(path);
    const node = id === undefined ? undefined : state.node(id);
    if (!versions.some((v) => sameVersion(node, v))) {
      const sizes = [...new Set(versions.flatMap((v) => (v.absent ? [] : [v.data.length])))];
      const whole = [...(sizes.length > 0 ? [`${sizes.join(" or ")} bytes`] : []), ...(versions.some((v) => v.absent) ? ["absent"] : [])];
      problems.push(`torn file: ${path} is a ${describe(node)}, none of its whole versions (${whole.join(", or ")})`);
    }
  }
  const token = fileAt(state, TOKEN);
  if (token !== undefined && readableBySandbox(token) && parseTokenFile(token.data.toString("utf8")) === undefined) {
    problems.push(`the token file is readable by the sandbox user with a half-written token (${token.data.length} bytes, a whole line has ${tokenEnvFile("0".repeat(64)).length})`);
  }
  return problems;
}

function readableBySandbox(node: FsNode): boolean {
  const { uid, gid } = USERS.sandbox;
  if (node.uid === uid) return (node.mode & 0o400) !== 0;
  if (node.gid === gid) return (node.mode & 0o040) !== 0;
  return (node.mode & 0o004) !== 0;
}
