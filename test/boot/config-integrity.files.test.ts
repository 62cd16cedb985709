import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAndKillAtRandom } from "../helpers/kill-at-random.js";
import { writeFileAtomic } from "../../supervisor/shared/atomic-write.js";
import {
  ANCHOR_FILE,
  CONFIG_FILE,
  HASH_FILE,
  INTENT_FILE,
  canonicalWithoutToken,
  hashLine,
  verifyConfig,
  writeConfigAndHash,
  type IntegrityPaths,
} from "../../supervisor/boot/config-integrity.js";
import type { Posture } from "../../supervisor/shared/settings.js";

const ROOT = resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "config-integrity-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const LOCKED = { mode: 0o444, uid: 0, gid: 0 };
const POSTURES: Posture[] = ["locked", "mutable"];

let counter = 0;
function freshPaths(): IntegrityPaths & { config: string; hash: string; intent: string } {
  const base = join(scratch, `case-${++counter}`);
  const paths = { configDir: join(base, ".openclaw"), stateDir: join(base, "state") };
  mkdirSync(paths.configDir, { recursive: true });
  return {
    ...paths,
    config: join(paths.configDir, CONFIG_FILE),
    hash: join(paths.configDir, HASH_FILE),
    intent: join(paths.stateDir, INTENT_FILE),
  };
}

function configBytes(token: string): Buffer {
  return Buffer.from(`${JSON.stringify({ gateway: { port: 18789, auth: { token } } }, null, 2)}\n`);
}

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The real tool's verdict, run the way an operator would: from inside the config dir. */
function sha256sumCheck(configDir: string): boolean {
  try {
    execFileSync("sha256sum", ["--check", "--strict", "--status", HASH_FILE], { cwd: configDir, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function recordIntent(p: IntegrityPaths & { intent: string }, oldHash: string | null, newHash: string): void {
  mkdirSync(p.stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(p.intent, `${JSON.stringify({ oldHash, newHash })}\n`, { mode: 0o600 });
}

describe("config integrity at boot", () => {
  for (const posture of POSTURES) {
    it(`verifies a config written by writeConfigAndHash (${posture})`, () => {
      const p = freshPaths();
      const bytes = configBytes("t1");
      writeConfigAndHash(p, bytes, LOCKED);
      const verdict = verifyConfig(p, posture);
      expect(verdict).toMatchObject({ ok: true, integrity: "verified", config: { gateway: { auth: { token: "t1" } } } });
      expect(verdict.ok && verdict.bytes.equals(bytes)).toBe(true);
      expect(sha256sumCheck(p.configDir)).toBe(true);
      expect(existsSync(p.intent)).toBe(false);
      expect(readdirSync(p.configDir).sort()).toEqual([HASH_FILE, CONFIG_FILE]);
      for (const file of [p.config, p.hash]) {
        expect(statSync(file).mode & 0o7777).toBe(0o444);
      }
    });
  }

  it("writes the hash with the owner and mode it is given (mutable posture files)", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t"), { mode: 0o660, uid: 65534, gid: 65534 });
    for (const file of [p.config, p.hash]) {
      const st = statSync(file);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o660, 65534, 65534]);
    }
    expect(statSync(p.stateDir).mode & 0o777).toBe(0o700);
  });

  it("refuses a tampered config in the locked posture, naming the file; mutable accepts it as not enforced", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t1"), LOCKED);
    writeFileSync(p.config, configBytes("attacker"));
    expect(sha256sumCheck(p.configDir)).toBe(false);
    const locked = verifyConfig(p, "locked");
    expect(locked.ok).toBe(false);
    expect(!locked.ok && locked.reason).toMatch(/openclaw\.json does not match .*\.config-hash/);
    expect(!locked.ok && locked.reason).not.toContain("\n");
    const mutable = verifyConfig(p, "mutable");
    expect(mutable).toMatchObject({ ok: true, integrity: "not-enforced", config: { gateway: { auth: { token: "attacker" } } } });
  });

  it("refuses a missing or malformed hash in the locked posture only", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t1"), LOCKED);
    const good = readFileSync(p.hash, "utf8");
    rmSync(p.hash);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: false, reason: expect.stringMatching(/\.config-hash is missing/) });
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true, integrity: "not-enforced" });
    writeFileSync(p.hash, good.toUpperCase());
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: false, reason: expect.stringMatching(/\.config-hash is malformed/) });
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true, integrity: "not-enforced" });
    writeFileSync(p.hash, good);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified" });
  });

  for (const posture of POSTURES) {
    it(`refuses a symlinked config, hash or config directory (${posture})`, () => {
      const p = freshPaths();
      const bytes = configBytes("t1");
      const elsewhere = join(p.stateDir, "..", "elsewhere");
      mkdirSync(elsewhere);
      writeFileSync(join(elsewhere, CONFIG_FILE), bytes);
      writeFileSync(join(elsewhere, HASH_FILE), hashLine(bytes));

      // Both targets hold exactly matching content: only the symlink itself is wrong.
      symlinkSync(join(elsewhere, CONFIG_FILE), p.config);
      writeFileSync(p.hash, hashLine(bytes));
      expect(verifyConfig(p, posture)).toMatchObject({ ok: false, reason: expect.stringMatching(/openclaw\.json is a symlink/) });

      rmSync(p.config);
      writeFileSync(p.config, bytes);
      expect(verifyConfig(p, posture)).toMatchObject({ ok: true, integrity: "verified" });
      rmSync(p.hash);
      symlinkSync(join(elsewhere, HASH_FILE), p.hash);
      expect(verifyConfig(p, posture)).toMatchObject({ ok: false, reason: expect.stringMatching(/\.config-hash is a symlink/) });

      const linkedDir = join(p.stateDir, "..", "linked-dir");
      symlinkSync(elsewhere, linkedDir);
      expect(verifyConfig({ configDir: linkedDir, stateDir: p.stateDir }, posture)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/config directory .*linked-dir is a symlink/),
      });
    });
  }

  it("refuses unparseable JSON and JSON that is not an object, whatever the hash says", () => {
    for (const [content, why] of [
      ['{"gateway": ', /openclaw\.json is not valid JSON/],
      ["[1, 2]", /openclaw\.json is JSON but not an object/],
      ["null", /openclaw\.json is JSON but not an object/],
    ] as const) {
      const p = freshPaths();
      writeFileSync(p.config, content);
      writeFileSync(p.hash, hashLine(Buffer.from(content)));
      for (const posture of POSTURES) {
        expect(verifyConfig(p, posture)).toMatchObject({ ok: false, reason: expect.stringMatching(why) });
      }
    }
  });

  it("never quotes the config in a refusal (it holds the token)", () => {
    const p = freshPaths();
    const content = '{"gateway":{"auth":{"token":"0123456789abcdef-secret"}}, oops}';
    writeFileSync(p.config, content);
    writeFileSync(p.hash, hashLine(Buffer.from(content)));
    const verdict = verifyConfig(p, "locked");
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).not.toContain("secret");
  });

  it("refuses a missing config", () => {
    const p = freshPaths();
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: false, reason: expect.stringMatching(/openclaw\.json is missing/) });
  });

  it("refuses a FIFO or an oversized (sparse) config without blocking or reading it, and a huge hash as malformed", () => {
    const p = freshPaths();
    execFileSync("mkfifo", [p.config]);
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: false, reason: expect.stringMatching(/openclaw\.json is not a regular file/) });
    rmSync(p.config);
    writeFileSync(p.config, "");
    truncateSync(p.config, 400 * 1024 * 1024);
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: false, reason: expect.stringMatching(/openclaw\.json is larger than 4194304 bytes/) });
    writeFileSync(p.config, configBytes("t1"));
    writeFileSync(p.hash, "");
    truncateSync(p.hash, 1 << 30);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: false, reason: expect.stringMatching(/\.config-hash is malformed/) });
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true, integrity: "not-enforced" });
  });

  it("modifies nothing when it refuses", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t1"), LOCKED);
    writeFileSync(p.config, configBytes("attacker"));
    const before = [readFileSync(p.config), readFileSync(p.hash)];
    expect(verifyConfig(p, "locked").ok).toBe(false);
    expect([readFileSync(p.config), readFileSync(p.hash)]).toEqual(before);
  });
});

describe("interrupted writes of the supervisor's own", () => {
  it("completes a write interrupted between the config rename and the hash rename", () => {
    const p = freshPaths();
    const [oldBytes, newBytes] = [configBytes("old"), configBytes("new")];
    writeConfigAndHash(p, oldBytes, LOCKED);
    recordIntent(p, sha(oldBytes), sha(newBytes));
    writeFileAtomic(p.config, newBytes, LOCKED);
    expect(sha256sumCheck(p.configDir)).toBe(false);

    const verdict = verifyConfig(p, "locked");
    expect(verdict).toMatchObject({ ok: true, integrity: "completed-interrupted-write", config: { gateway: { auth: { token: "new" } } } });
    expect(readFileSync(p.hash, "utf8")).toBe(hashLine(newBytes));
    expect(sha256sumCheck(p.configDir)).toBe(true);
    expect(statSync(p.hash).mode & 0o7777).toBe(0o444);
    expect(existsSync(p.intent)).toBe(false);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified" });
  });

  it("completes a write interrupted after both renames, before the intent was cleared", () => {
    const p = freshPaths();
    const [oldBytes, newBytes] = [configBytes("old"), configBytes("new")];
    writeConfigAndHash(p, newBytes, LOCKED);
    recordIntent(p, sha(oldBytes), sha(newBytes));
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "completed-interrupted-write" });
    expect(existsSync(p.intent)).toBe(false);
    expect(sha256sumCheck(p.configDir)).toBe(true);
  });

  it("rolls back a write interrupted before the config rename", () => {
    const p = freshPaths();
    const [oldBytes, newBytes] = [configBytes("old"), configBytes("new")];
    writeConfigAndHash(p, oldBytes, LOCKED);
    recordIntent(p, sha(oldBytes), sha(newBytes));

    const verdict = verifyConfig(p, "locked");
    expect(verdict).toMatchObject({ ok: true, integrity: "rolled-back-interrupted-write", config: { gateway: { auth: { token: "old" } } } });
    expect(readFileSync(p.hash, "utf8")).toBe(hashLine(oldBytes));
    expect(existsSync(p.intent)).toBe(false);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified" });
  });

  it("rolls back to a hash that says the old config even when the hash was stale (mutable)", () => {
    const p = freshPaths();
    const [oldBytes, newBytes] = [configBytes("old"), configBytes("new")];
    writeFileSync(p.config, oldBytes);
    writeFileSync(p.hash, hashLine(configBytes("edited-by-the-agent-earlier")));
    recordIntent(p, sha(oldBytes), sha(newBytes));
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true, integrity: "rolled-back-interrupted-write" });
    expect(sha256sumCheck(p.configDir)).toBe(true);
  });

  it("refuses a config that matches neither side of the recorded write, and keeps the record", () => {
    const p = freshPaths();
    const [oldBytes, newBytes] = [configBytes("old"), configBytes("new")];
    writeConfigAndHash(p, oldBytes, LOCKED);
    recordIntent(p, sha(oldBytes), sha(newBytes));
    writeFileSync(p.config, configBytes("third"));
    for (const posture of POSTURES) {
      expect(verifyConfig(p, posture)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/openclaw\.json .*matches neither side of the interrupted write/),
      });
    }
    expect(existsSync(p.intent)).toBe(true);
    expect(readFileSync(p.hash, "utf8")).toBe(hashLine(oldBytes));
  });

  it("refuses a malformed intent record", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t"), LOCKED);
    mkdirSync(p.stateDir, { recursive: true });
    for (const record of ["{", '{"oldHash":null}', '{"oldHash":null,"newHash":"ABC"}', '{"oldHash":1,"newHash":"' + "a".repeat(64) + '"}']) {
      writeFileSync(p.intent, record);
      expect(verifyConfig(p, "locked")).toMatchObject({ ok: false, reason: expect.stringMatching(/config-write-intent\.json is malformed/) });
      expect(existsSync(p.intent)).toBe(true);
    }
  });

  it("removes stale temp files an interrupted write left behind", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("t"), LOCKED);
    writeFileSync(join(p.configDir, `.${CONFIG_FILE}.tmp-999999999-abcd`), '{"half');
    writeFileSync(join(p.configDir, `.${HASH_FILE}.tmp-999999999-abcd`), "");
    writeFileSync(join(p.stateDir, `.${INTENT_FILE}.tmp-999999999-abcd`), "");
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified" });
    expect(readdirSync(p.configDir).sort()).toEqual([HASH_FILE, CONFIG_FILE]);
    expect(readdirSync(p.stateDir)).toEqual([ANCHOR_FILE]);
  });

  it("refuses, in the locked posture, a self-consistent config that is not the one the supervisor last wrote", () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("ours"), LOCKED);
    // Whoever owns the parent can swap in a whole directory whose hash agrees with it.
    const forged = configBytes("forged");
    chmodSync(join(p.configDir, CONFIG_FILE), 0o644);
    chmodSync(join(p.configDir, HASH_FILE), 0o644);
    writeFileSync(join(p.configDir, CONFIG_FILE), forged);
    writeFileSync(join(p.configDir, HASH_FILE), hashLine(forged));
    const verdict = verifyConfig(p, "locked");
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringContaining("the config directory was replaced") });
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true });
    // The supervisor's own next write moves the anchor along.
    writeConfigAndHash(p, configBytes("next"), LOCKED);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified" });
  });
});

describe("config writes under SIGKILL (fault injection)", () => {
  const ROUNDS = 60;
  const childScript = join(scratch, "config-writer-child.cjs");

  beforeAll(() => {
    const entry = join(scratch, "config-writer-child.ts");
    writeFileSync(
      entry,
      `import { writeSync } from "node:fs";
import { writeConfigAndHash } from ${JSON.stringify(join(ROOT, "supervisor/boot/config-integrity.ts"))};
import { useNativeFs } from ${JSON.stringify(join(ROOT, "supervisor/shared/dir-fd.ts"))};
const addon = { exports: {} as Parameters<typeof useNativeFs>[0] };
process.dlopen(addon, ${JSON.stringify(join(ROOT, `build/native/reaper-linux-${process.arch}.node`))});
useNativeFs(addon.exports);
const [configDir, stateDir] = process.argv.slice(2) as [string, string];
writeSync(1, "ready\\n");
for (let i = 0; ; i++) {
  // Different sizes, so a torn or mixed write could never hash right by accident.
  const body = { gateway: { auth: { token: i.toString(16).padStart(64, "0") } }, pad: "x".repeat((i % 2) * 65536) };
  writeConfigAndHash({ configDir, stateDir }, Buffer.from(JSON.stringify(body)), { mode: 0o444, uid: 0, gid: 0 });
  writeSync(1, ".");
}
`,
    );
    buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", outfile: childScript, logLevel: "error" });
  });

  it("always boots after a kill: locked verification passes, completing or rolling back", async () => {
    const p = freshPaths();
    writeConfigAndHash(p, configBytes("initial"), LOCKED);
    const seen = { verified: 0, completedBetweenRenames: 0, completedAfterRenames: 0, rolledBack: 0, writes: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      const out = await runAndKillAtRandom(childScript, [p.configDir, p.stateDir]);
      seen.writes += out.split(".").length - 1;

      const intentLeft = existsSync(p.intent);
      const hashMatchedBefore = sha256sumCheck(p.configDir);
      const verdict = verifyConfig(p, "locked");
      expect(verdict.ok, `round ${round}: ${verdict.ok ? "" : verdict.reason}`).toBe(true);
      if (!verdict.ok) continue;
      expect(verdict.config).toHaveProperty("gateway.auth.token");
      expect(() => JSON.parse(readFileSync(p.config, "utf8"))).not.toThrow();
      expect(sha256sumCheck(p.configDir), `round ${round}: sha256sum -c after verify`).toBe(true);
      expect(existsSync(p.intent)).toBe(false);
      expect(readdirSync(p.configDir).sort()).toEqual([HASH_FILE, CONFIG_FILE]);

      if (verdict.integrity === "verified") {
        expect(intentLeft).toBe(false);
        seen.verified++;
      } else if (verdict.integrity === "rolled-back-interrupted-write") {
        seen.rolledBack++;
      } else if (verdict.integrity === "completed-interrupted-write") {
        if (hashMatchedBefore) seen.completedAfterRenames++;
        else seen.completedBetweenRenames++;
      } else {
        expect.fail(`round ${round}: unexpected integrity ${verdict.integrity}`);
      }
    }

    console.log(
      `[config fault injection] ${ROUNDS} SIGKILL rounds, ${seen.writes} complete writes reported: ` +
        `${seen.verified} clean, ${seen.rolledBack} rolled back (killed before the config rename), ` +
        `${seen.completedBetweenRenames} completed (killed between the config and hash renames), ` +
        `${seen.completedAfterRenames} completed (killed after both renames, intent not yet cleared)`,
    );
    expect(sha256sumCheck(p.configDir)).toBe(true);
    // The kills must have landed inside writes, or this test proved nothing.
    expect(seen.rolledBack + seen.completedBetweenRenames + seen.completedAfterRenames).toBeGreaterThan(0);
  });
});

describe("canonical config without the token", () => {
  it("ignores the token, key order and formatting, and nothing else", () => {
    const a = { gateway: { port: 18789, auth: { mode: "token", token: "" } } };
    const b = JSON.parse('{"gateway":{"auth":{"token":"abc","mode":"token"},  "port":18789}}');
    expect(canonicalWithoutToken(a)).toBe(canonicalWithoutToken(b));
    expect(canonicalWithoutToken(a)).toBe('{"gateway":{"auth":{"mode":"token"},"port":18789}}');
    const open = { gateway: { port: 18789, bind: "lan", auth: { mode: "none", token: "" } } };
    expect(canonicalWithoutToken(open)).not.toBe(canonicalWithoutToken(a));
    // A token elsewhere is content like any other.
    expect(canonicalWithoutToken({ plugins: { token: "x" } })).not.toBe(canonicalWithoutToken({ plugins: {} }));
    expect(canonicalWithoutToken({ a: [1, { b: 2, a: 1 }] })).toBe('{"a":[1,{"a":1,"b":2}]}');
  });
});

// The reference must sit in directories only root controls: a scratch directory under /run
// (root-owned, 0755), not under the world-writable /tmp.
describe.skipIf(process.getuid?.() !== 0)("the image reference of the config (locked posture)", () => {
  const anchorRoot = mkdtempSync(join("/run", "ssv-reference-"));
  chmodSync(anchorRoot, 0o755);
  afterAll(() => rmSync(anchorRoot, { recursive: true, force: true }));
  const IMAGE_CONFIG = Buffer.from('{\n  "gateway": { "port": 18789, "auth": { "mode": "token", "token": "" } }\n}\n');
  let n = 0;
  function referenceFile(bytes: Uint8Array = IMAGE_CONFIG, mode = 0o444): string {
    const path = join(anchorRoot, `reference-${++n}.json`);
    writeFileSync(path, bytes, { mode });
    chmodSync(path, mode);
    return path;
  }
  function withReference(path: string, required = false) {
    return { ...freshPaths(), reference: { path, required } };
  }
  const tokenConfig = (token: string, auth: Record<string, unknown> = { mode: "token" }, extra: Record<string, unknown> = {}) =>
    Buffer.from(`${JSON.stringify({ gateway: { port: 18789, ...extra, auth: { ...auth, token } } }, null, 2)}\n`);

  it("accepts the image's config with any token, and says it matched", () => {
    const p = withReference(referenceFile());
    writeConfigAndHash(p, tokenConfig("f".repeat(64)), LOCKED);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, integrity: "verified", reference: "matched" });
  });

  it("refuses a self-consistent replacement in a recreated container (empty state directory): attack 4", () => {
    const p = withReference(referenceFile());
    const open = tokenConfig("", { mode: "none" }, { bind: "lan" });
    writeFileSync(p.config, open);
    writeFileSync(p.hash, hashLine(open));
    expect(existsSync(p.stateDir)).toBe(false);
    const verdict = verifyConfig(p, "locked");
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/openclaw\.json differs from the image reference .*reference-\d+\.json \(token aside\)/) });
    expect(verifyConfig(p, "mutable")).toMatchObject({ ok: true, reference: "not-checked" });
  });

  it("reports a missing reference at the default path, refuses one the operator named", () => {
    const missing = join(anchorRoot, "nowhere.json");
    const p = withReference(missing);
    writeConfigAndHash(p, tokenConfig("t"), LOCKED);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, reference: "absent" });
    expect(verifyConfig({ ...p, reference: { path: missing, required: true } }, "locked")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/nowhere\.json is missing/),
    });
  });

  it("refuses a reference anyone but root could have written", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["group-writable", referenceFile(IMAGE_CONFIG, 0o664), /owned by uid 0 with mode 664/],
      ["not valid JSON", referenceFile(Buffer.from("{")), /is not valid JSON/],
    ];
    const foreign = referenceFile();
    chownSync(foreign, 1000, 1000);
    cases.push(["owned by uid 1000", foreign, /owned by uid 1000/]);
    const inTmp = mkdtempSync(join(tmpdir(), "reference-"));
    writeFileSync(join(inTmp, "r.json"), IMAGE_CONFIG, { mode: 0o444 });
    cases.push(["below the sticky /tmp", join(inTmp, "r.json"), /directory \/tmp .*is not root-owned and closed to others/]);
    for (const [what, path, reason] of cases) {
      const p = withReference(path);
      writeConfigAndHash(p, tokenConfig("t"), LOCKED);
      expect(verifyConfig(p, "locked"), what).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
    }
    rmSync(inTmp, { recursive: true, force: true });
  });

  it("follows a symlink to a reference in root's directories (a Kubernetes ConfigMap mount)", () => {
    const target = referenceFile();
    const link = join(anchorRoot, `link-${++n}.json`);
    symlinkSync(target, link);
    const p = withReference(link, true);
    writeConfigAndHash(p, tokenConfig("t"), LOCKED);
    expect(verifyConfig(p, "locked")).toMatchObject({ ok: true, reference: "matched" });
  });
});
