// Boot step 3 (docs/supervisor-boot.md) and the config half of its durable writes: decide whether
// openclaw.json may be trusted, and write it together with its .config-hash.
//
// Config and hash are two files, so no single rename updates both. Before its first rename
// writeConfigAndHash records the old and new hash (the intent) in a root-only state
// directory, and clears it after the second. A boot that finds an intent therefore knows
// the config/hash mismatch is the supervisor's own interrupted write and completes or
// rolls it back; without an intent, a mismatch is tampering (locked posture).
//
// The state directory's anchor only lives as long as the container: a recreated container
// (docker rm + run on the same volume, every Kubernetes pod restart) starts with an empty
// one. So the locked posture also compares the config, token aside, with the image's own
// reference of it (settings.configReference): a root-owned file baked at build time, or a
// root-owned mount the operator names. Only the image or the operator can change it.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from "node:fs";
import { dirname, join } from "node:path";
import { AtomicWriteError, cleanStaleTemps, removeFileDurable, writeFileAtomic, writeFileAtomicAt } from "../shared/atomic-write.js";
import { sha256Hex } from "../shared/digest.js";
import { openDirectory, readFileBounded, type BoundedFile } from "../shared/dir-fd.js";
import { CONFIG_JSON_LIMITS, parseBoundedJson } from "../shared/bounded-json.js";
import { errorCode, errorMessage, errorReason } from "../shared/errors.js";
import { isObject } from "../shared/json.js";
import { moveAside, openStateDirectory } from "../shared/state-directory.js";
import { log } from "../shared/log.js";
import type { Posture } from "../shared/settings.js";

export const CONFIG_FILE = "openclaw.json";
export const HASH_FILE = ".config-hash";
export const INTENT_FILE = "config-write-intent.json";
/**
 * The hash of the config the supervisor last wrote, kept in the root-only state directory.
 * The config directory's own hash proves only that the two files agree; whoever can
 * replace the whole directory (its parent belongs to the sandbox user) can make them
 * agree. The anchor is out of that user's reach.
 */
export const ANCHOR_FILE = "trusted-config-hash";


/** Runs work on the config directory with the right credentials (see IntegrityPaths.configAs). */
export type ConfigAccess = <T>(work: () => T) => T;

const asItIs: ConfigAccess = (work) => work();

export interface IntegrityPaths {
  configDir: string;
  /**
   * Whose credentials touch the config directory: in the mutable posture it is the sandbox
   * user's (OpenClaw's own writes leave it 0700 and its files 0600), so root acts as that
   * user there and lends it nothing (effective-user.ts). Absent: as the process is.
   */
  configAs?: ConfigAccess;
  /** Root-only directory for the write intent record, e.g. /var/lib/sandbox-supervisor. */
  stateDir: string;
  /**
   * The image's reference of the config (locked posture): checked when set. `required`:
   * a missing file refuses boot (an operator named it) instead of being reported.
   */
  reference?: { path: string; required: boolean };
}

/**
 * "verified": the hash matches (in the mutable posture that means consistent, not trusted).
 * "not-enforced": mutable posture, hash missing or stale; the caller logs that once.
 */
export type Integrity = "verified" | "not-enforced" | "completed-interrupted-write" | "rolled-back-interrupted-write";

/**
 * The image reference, locked posture only: "matched" (the config equals it, token aside),
 * "absent" (no file at a default path: the caller says so in a [SECURITY] line).
 */
export type ReferenceResult = "matched" | "absent" | "not-checked";

export type Verdict =
  | { ok: true; config: Record<string, unknown>; bytes: Buffer; integrity: Integrity; reference: ReferenceResult }
  | { ok: false; reason: string };

interface Intent {
  oldHash: string | null;
  newHash: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HASH_LINE = /^([0-9a-f]{64}) {2}openclaw\.json\n$/;

/** Exactly what `sha256sum openclaw.json` prints, run inside the config directory. */
export function hashLine(configBytes: Uint8Array): string {
  return `${sha256Hex(configBytes)}  ${CONFIG_FILE}\n`;
}

/** The hex digest of a hash line in exactly hashLine's format, else undefined. */
export function parseHashLine(text: string): string | undefined {
  return HASH_LINE.exec(text)?.[1];
}

type FileState =
  | { kind: "missing" }
  | { kind: "symlink" }
  | { kind: "not-regular" }
  | { kind: "too-large" }
  | { kind: "file"; bytes: Buffer; stat: Stats };

/** openclaw.json is read whole into PID 1's memory: a size no real config comes near (docs/threat-model.md, attack 6). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** The hash line, the intent record and the anchor are each under 200 bytes. */
const MAX_RECORD_BYTES = 4096;

/**
 * Reads a file without following a symlink at its last component: O_NOFOLLOW makes the
 * check and the read one step, so the file cannot be swapped for a link in between.
 * O_NONBLOCK keeps a FIFO planted under the name from blocking boot, and the read stops
 * at `limit`, so a huge or sparse file cannot exhaust PID 1's memory.
 */
function readNoFollow(path: string, limit = MAX_RECORD_BYTES): FileState {
  return asFileState(readFileBounded({ path }, limit));
}

function readNoFollowAt(dirFd: number, name: string, limit = MAX_RECORD_BYTES): FileState {
  return asFileState(readFileBounded({ dirFd, name }, limit));
}

function asFileState(read: BoundedFile): FileState {
  return read.kind === "not-regular" ? { kind: "not-regular" } : read.kind === "too-large" ? { kind: "too-large" } : read;
}

/** The config as a JSON object within CONFIG_JSON_LIMITS, or why it is not one ("is not valid JSON"). */
export function parseConfigObject(bytes: Uint8Array): Record<string, unknown> | string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "is not valid UTF-8";
  }
  // Bounded (the sandbox user writes it in the mutable posture); never the parser's message:
  // newer V8 quotes the input in it, and the input holds the token.
  const parsed = parseBoundedJson(text, CONFIG_JSON_LIMITS);
  if (!parsed.ok) return parsed.reason;
  if (!isObject(parsed.value)) return "is JSON but not an object";
  return parsed.value;
}

function parseIntent(bytes: Uint8Array): Intent | undefined {
  const parsed = parseBoundedJson(Buffer.from(bytes).toString("utf8"), CONFIG_JSON_LIMITS);
  if (!parsed.ok || !isObject(parsed.value)) return undefined;
  const record = parsed.value;
  if (Object.keys(record).sort().join(",") !== "newHash,oldHash") return undefined;
  const { oldHash, newHash } = record;
  if (typeof newHash !== "string" || !HEX64.test(newHash)) return undefined;
  if (oldHash !== null && (typeof oldHash !== "string" || !HEX64.test(oldHash))) return undefined;
  return { oldHash, newHash };
}

function short(hash: string | null): string {
  return hash === null ? "none" : hash.slice(0, 12);
}

function refuse(reason: string): Verdict {
  return { ok: false, reason };
}

type Resolution = { integrity: Integrity } | { refused: string };

/** Completes or rolls back the supervisor's own interrupted write, or refuses a foreign change. */
function resolveIntent(
  intentPath: string,
  anchorPath: string,
  intent: Intent,
  configPath: string,
  hashPath: string,
  config: FileState,
  hashText: string | undefined,
  access: ConfigAccess,
): Resolution {
  const current = config.kind === "file" ? sha256Hex(config.bytes) : null;
  const recordedHash = hashText === undefined ? undefined : parseHashLine(hashText);
  try {
    if (config.kind === "file" && current === intent.newHash) {
      // The config rename landed; the hash rename may not have.
      if (recordedHash !== intent.newHash) access(() => writeHashLike(hashPath, config));
      writeAnchor(anchorPath, intent.newHash);
      removeFileDurable(intentPath);
      return { integrity: "completed-interrupted-write" };
    }
    if (current === intent.oldHash) {
      // The new config never landed: the old one stands, and the hash must say so.
      if (config.kind === "file" && recordedHash !== intent.oldHash) access(() => writeHashLike(hashPath, config));
      writeAnchor(anchorPath, intent.oldHash);
      removeFileDurable(intentPath);
      return { integrity: "rolled-back-interrupted-write" };
    }
  } catch (err) {
    return {
      refused: `cannot finish the interrupted config write recorded in ${intentPath}: ${errorMessage(err)}`,
    };
  }
  return {
    refused:
      `${configPath} (sha256 ${short(current)}) matches neither side of the interrupted write recorded in ${intentPath} ` +
      `(old ${short(intent.oldHash)}, new ${short(intent.newHash)}): it was changed by someone else; restore it, then remove the record`,
  };
}

function writeAnchor(anchorPath: string, hash: string | null): void {
  if (hash === null) removeFileDurable(anchorPath);
  else writeFileAtomic(anchorPath, `${hash}\n`, { mode: 0o600 });
}

/** The hash file gets the config's owner and mode: the posture sets both files alike. */
function writeHashLike(hashPath: string, config: Extract<FileState, { kind: "file" }>): void {
  writeFileAtomic(hashPath, hashLine(config.bytes), {
    mode: config.stat.mode & 0o7777,
    uid: config.stat.uid,
    gid: config.stat.gid,
  });
}

/**
 * Temps of an interrupted write, removed from root's directories only: the mutable config
 * directory is the sandbox user's to keep tidy, and listing it could mean listing a flood.
 */
function cleanTemps(paths: IntegrityPaths, posture: Posture): void {
  try {
    if (posture === "locked") {
      cleanStaleTemps(paths.configDir, CONFIG_FILE);
      cleanStaleTemps(paths.configDir, HASH_FILE);
    }
    cleanStaleTemps(paths.stateDir, INTENT_FILE);
    cleanStaleTemps(paths.stateDir, ANCHOR_FILE);
  } catch (err) {
    // Leftover temps are hidden files nobody reads; failing to remove them is not a reason to refuse boot.
    log(`cannot remove stale temp files of an interrupted write: ${errorMessage(err)}`);
  }
}

/** The four files a verdict rests on, each read once without following a link. */
interface ConfigFiles {
  configPath: string;
  hashPath: string;
  intentPath: string;
  anchorPath: string;
  config: FileState;
  /** The hash file's text; "" for an oversized one (not sha256sum output: malformed). */
  hashText: string | undefined;
  intent: FileState;
  anchor: FileState;
}

/**
 * Decides whether openclaw.json may be trusted: read, decide, compare with the image's
 * reference. `readOnly` (supervisor check, a restart's preflight): nothing is written, not
 * even to finish an interrupted write of the supervisor's own (it is reported instead).
 */
export function verifyConfig(paths: IntegrityPaths, posture: Posture, options: { readOnly?: boolean } = {}): Verdict {
  const files = readConfigFiles(paths, options.readOnly === true);
  if (typeof files === "string") return refuse(files);
  if (options.readOnly && files.intent.kind === "file") {
    return refuse(`an interrupted config write is recorded in ${files.intentPath}: the next launch completes or rolls it back`);
  }
  if (!options.readOnly) cleanTemps(paths, posture);
  const integrity = decideIntegrity(files, posture, paths.configAs ?? asItIs);
  if (typeof integrity !== "string") return refuse(integrity.refused);
  const { config, configPath } = files;
  if (config.kind !== "file") return refuse(`${configPath} is missing`);
  const parsed = parseConfigObject(config.bytes);
  if (typeof parsed === "string") return refuse(`${configPath} ${parsed}`);
  let reference: ReferenceResult = "not-checked";
  if (posture === "locked" && paths.reference !== undefined) {
    const compared = compareWithReference(paths.reference.path, paths.reference.required, configPath, parsed);
    if (compared.refused !== undefined) return refuse(compared.refused);
    reference = compared.result;
  }
  return { ok: true, config: parsed, bytes: config.bytes, integrity, reference };
}

/** Read: the directory must be a real one, and each file a regular file (or missing); else why not. */
function readConfigFiles(paths: IntegrityPaths, readOnly: boolean): ConfigFiles | string {
  const access = paths.configAs ?? asItIs;
  const configPath = join(paths.configDir, CONFIG_FILE);
  const hashPath = join(paths.configDir, HASH_FILE);
  const intentPath = join(paths.stateDir, INTENT_FILE);
  const anchorPath = join(paths.stateDir, ANCHOR_FILE);
  let dirStat: Stats;
  try {
    dirStat = access(() => lstatSync(paths.configDir));
  } catch (err) {
    return `config directory ${paths.configDir} cannot be read: ${errorMessage(err)}`;
  }
  if (dirStat.isSymbolicLink()) return `config directory ${paths.configDir} is a symlink, expected a real directory`;
  if (!dirStat.isDirectory()) return `config directory ${paths.configDir} is not a directory`;
  let config: FileState, hash: FileState, records: { intent: FileState; anchor: FileState };
  try {
    config = access(() => readNoFollow(configPath, MAX_CONFIG_BYTES));
    hash = access(() => readNoFollow(hashPath));
    records = readRecords(paths.stateDir, readOnly);
  } catch (err) {
    return `cannot read the config or its hash: ${errorMessage(err)}`;
  }
  const { intent, anchor } = records;
  if (config.kind === "symlink") return `${configPath} is a symlink, expected a regular file`;
  if (config.kind === "not-regular") return `${configPath} is not a regular file`;
  if (config.kind === "too-large") return `${configPath} is larger than ${MAX_CONFIG_BYTES} bytes; not read`;
  if (hash.kind === "symlink") return `${hashPath} is a symlink, expected a regular file`;
  if (hash.kind === "not-regular") return `${hashPath} is not a regular file`;
  const hashText = hash.kind === "file" ? hash.bytes.toString("utf8") : hash.kind === "too-large" ? "" : undefined;
  return { configPath, hashPath, intentPath, anchorPath, config, hashText, intent, anchor };
}

/**
 * The intent record and the anchor, read through the state directory's descriptor. Each is
 * accepted only as a regular file of the supervisor's own uid with one link: anything else
 * under the name (a directory, a link, another owner's file: docs/threat-model.md) is moved
 * aside with a [SECURITY] line and counts as absent.
 */
function readRecords(stateDir: string, readOnly: boolean): { intent: FileState; anchor: FileState } {
  let dirFd: number;
  try {
    dirFd = openDirectory(stateDir);
  } catch (error) {
    // Missing, or (non-root mode) root's own 0700 directory: no record in it can be ours.
    const closedToUs = errorCode(error) === "EACCES" && process.getuid!() !== 0;
    if (errorCode(error) === "ENOENT" || closedToUs) return { intent: { kind: "missing" }, anchor: { kind: "missing" } };
    throw error;
  }
  const uid = process.getuid!();
  const ours = (st: Stats): boolean => st.uid === uid && st.nlink === 1;
  try {
    const read = (name: string): FileState => {
      const found = readFileBounded({ dirFd, name }, MAX_RECORD_BYTES, ours);
      if (found.kind === "missing" || found.kind === "file") return found;
      const what = found.kind === "symlink" ? "a symlink" : found.kind === "too-large" ? "an oversized file" : describeEntry(found.stat, uid);
      if (!readOnly) moveAside(dirFd, name, what, join(stateDir, name));
      return { kind: "missing" };
    };
    return { intent: read(INTENT_FILE), anchor: read(ANCHOR_FILE) };
  } finally {
    closeSync(dirFd);
  }
}

function describeEntry(st: Stats, uid: number): string {
  if (!st.isFile()) return st.isDirectory() ? "a directory" : "not a regular file";
  if (st.uid !== uid) return `a file of uid ${st.uid}`;
  return `a file with ${st.nlink} links`;
}

/** Decide: an interrupted write of our own is finished; otherwise the hash (and anchor) must agree. */
function decideIntegrity(files: ConfigFiles, posture: Posture, access: ConfigAccess): Integrity | { refused: string } {
  const { config, configPath, hashPath, intentPath, anchorPath, hashText } = files;
  if (files.intent.kind === "file") {
    const intent = parseIntent(files.intent.bytes);
    if (intent === undefined) {
      return { refused: `write intent record ${intentPath} is malformed, expected {"oldHash": hex or null, "newHash": hex}; remove it after review` };
    }
    const resolution = resolveIntent(intentPath, anchorPath, intent, configPath, hashPath, config, hashText, access);
    return "refused" in resolution ? resolution : resolution.integrity;
  }
  if (config.kind !== "file") return { refused: `${configPath} is missing` };
  const recorded = hashText === undefined ? undefined : parseHashLine(hashText);
  if (recorded !== undefined && recorded === sha256Hex(config.bytes)) {
    const anchored = posture === "locked" ? checkAnchor(files, recorded) : undefined;
    return anchored === undefined ? "verified" : { refused: anchored };
  }
  if (posture === "mutable") return "not-enforced";
  if (hashText === undefined) return { refused: `${hashPath} is missing; the locked posture needs it to trust ${CONFIG_FILE}` };
  if (recorded === undefined) {
    return { refused: `${hashPath} is malformed, expected exactly sha256sum output: '<64 lowercase hex>  ${CONFIG_FILE}'` };
  }
  return { refused: `${configPath} does not match ${hashPath}: the config was changed outside the supervisor` };
}

/** Locked posture: a self-consistent config must also be the one the supervisor last wrote. */
function checkAnchor({ anchor, anchorPath, configPath, hashPath }: ConfigFiles, recorded: string): string | undefined {
  if (anchor.kind === "missing") return undefined;
  const trusted = anchor.kind === "file" ? anchor.bytes.toString("utf8").trim() : "";
  if (!HEX64.test(trusted)) return `${anchorPath} is not a regular file holding one sha256; remove it after review`;
  if (trusted === recorded) return undefined;
  return (
    `${configPath} agrees with ${hashPath} but is not the config the supervisor last wrote ` +
    `(sha256 ${short(recorded)}, expected ${short(trusted)} from ${anchorPath}): the config directory was replaced`
  );
}

/** The reference is a small JSON file; anything larger is not one. */
export const REFERENCE_MAX_BYTES = 1 << 20;

/**
 * Canonical JSON of a config without `gateway.auth.token` (each boot writes a new one):
 * object keys sorted, no whitespace. Two configs that differ only in the token or in
 * formatting have the same canonical form. Its input was parsed within CONFIG_JSON_LIMITS,
 * so the recursion is at most that deep.
 */
export function canonicalWithoutToken(value: unknown, path: readonly string[] = []): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalWithoutToken(item, [...path, "[]"])).join(",")}]`;
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const isAuth = path.length === 2 && path[0] === "gateway" && path[1] === "auth";
  const keys = Object.keys(record)
    .filter((key) => !(isAuth && key === "token"))
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalWithoutToken(record[key], [...path, key])}`).join(",")}}`;
}

/**
 * Why a path is not one only root can change: itself and each directory above it must be
 * root-owned and writable by no group or other (a sticky /tmp is not enough: its owner
 * can still replace the entry). Undefined when it is.
 */
function notRootControlled(realPath: string): string | undefined {
  for (let dir = dirname(realPath); ; dir = dirname(dir)) {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      return `directory ${dir} (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}) is not root-owned and closed to others`;
    }
    if (dir === "/") return undefined;
  }
}

type ReferenceRead = { kind: "missing" } | { kind: "refused"; reason: string } | { kind: "file"; bytes: Buffer };

function readReference(path: string): ReferenceRead {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "refused", reason: `cannot resolve it: ${errorReason(error)}` };
  }
  let fd: number;
  try {
    const where = notRootControlled(real);
    if (where !== undefined) return { kind: "refused", reason: where };
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { kind: "refused", reason: `cannot open it: ${errorReason(error)}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { kind: "refused", reason: "it is not a regular file" };
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      return { kind: "refused", reason: `it is owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}, expected root-owned and writable by root only` };
    }
    if (st.size > REFERENCE_MAX_BYTES) return { kind: "refused", reason: `it is ${st.size} bytes, more than ${REFERENCE_MAX_BYTES}` };
    const buffer = Buffer.alloc(st.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > st.size) return { kind: "refused", reason: "it grew while being read" };
    return { kind: "file", bytes: buffer.subarray(0, length) };
  } catch (error) {
    return { kind: "refused", reason: `cannot read it: ${errorReason(error)}` };
  } finally {
    closeSync(fd);
  }
}

function compareWithReference(
  referencePath: string,
  required: boolean,
  configPath: string,
  config: Record<string, unknown>,
): { result: ReferenceResult; refused?: undefined } | { refused: string } {
  const read = readReference(referencePath);
  if (read.kind === "missing") {
    if (!required) return { result: "absent" };
    return { refused: `the image reference of the config ${referencePath} is missing; the locked posture needs it to trust ${CONFIG_FILE}` };
  }
  if (read.kind === "refused") return { refused: `the image reference of the config ${referencePath} cannot be trusted: ${read.reason}` };
  const reference = parseConfigObject(read.bytes);
  if (typeof reference === "string") return { refused: `the image reference of the config ${referencePath} ${reference}` };
  if (canonicalWithoutToken(config) !== canonicalWithoutToken(reference)) {
    return {
      refused:
        `${configPath} differs from the image reference ${referencePath} (token aside): only the image or a root-owned ` +
        "reference the operator names may change the locked config; rebuild the image or restore the config",
    };
  }
  return { result: "matched" };
}

/**
 * Writes config and hash (intent first, see the top). configDirFd, when given, is the
 * config directory the caller opened without following a symlink and checked: both files
 * are read and written relative to it, never by a path whose directory could be swapped
 * in between (docs/threat-model.md, attack 1). Without it the directory is opened here the same way.
 */
export function writeConfigAndHash(
  paths: IntegrityPaths,
  newBytes: Uint8Array,
  options: { mode: number; uid?: number; gid?: number },
  configDirFd?: number,
): void {
  const access = paths.configAs ?? asItIs;
  if (configDirFd === undefined) {
    const fd = access(() => openDirectory(paths.configDir));
    try {
      return writeConfigAndHash(paths, newBytes, options, fd);
    } finally {
      closeSync(fd);
    }
  }
  const configPath = join(paths.configDir, CONFIG_FILE);
  const hashPath = join(paths.configDir, HASH_FILE);
  const intentPath = join(paths.stateDir, INTENT_FILE);

  const parsed = parseConfigObject(newBytes);
  if (typeof parsed === "string") throw new AtomicWriteError(`refusing to write ${configPath}: the new content ${parsed}`);

  // Refuse before the intent exists, so a bad target leaves nothing to resolve at boot.
  const current = access(() => readNoFollowAt(configDirFd, CONFIG_FILE, MAX_CONFIG_BYTES));
  if (current.kind === "symlink" || current.kind === "not-regular") {
    throw new AtomicWriteError(`refusing to write ${configPath}: it is not a regular file (a symlink or something else)`);
  }
  if (current.kind === "too-large") throw new AtomicWriteError(`refusing to write ${configPath}: it is larger than ${MAX_CONFIG_BYTES} bytes`);
  const hashTarget = access(() => readNoFollowAt(configDirFd, HASH_FILE));
  if (hashTarget.kind === "symlink" || hashTarget.kind === "not-regular") {
    throw new AtomicWriteError(`refusing to write ${hashPath}: it is not a regular file (a symlink or something else)`);
  }

  closeSync(openStateDirectory(paths.stateDir, { uid: process.getuid!(), gid: process.getgid!() }));
  const intent: Intent = { oldHash: current.kind === "file" ? sha256Hex(current.bytes) : null, newHash: sha256Hex(newBytes) };
  writeFileAtomic(intentPath, `${JSON.stringify(intent)}\n`, { mode: 0o600 });
  // A failure from here on leaves the intent in place on purpose: the next verifyConfig
  // completes or rolls back whatever state the two files were left in.
  access(() => writeFileAtomicAt(configDirFd, CONFIG_FILE, newBytes, options, configPath));
  access(() => writeFileAtomicAt(configDirFd, HASH_FILE, hashLine(newBytes), options, hashPath));
  writeAnchor(join(paths.stateDir, ANCHOR_FILE), intent.newHash);
  removeFileDurable(intentPath);
}
