// The mutable posture's two copies of one config, kept in step (docs/supervisor-boot.md):
// /sandbox/.openclaw/openclaw.json, which the agent's own `openclaw config set` writes (as
// the sandbox user, leaving it 0700/0600), and the gateway's copy, which OpenClaw's
// config.set writes (as the gateway user, in its own 0700 directory). OpenClaw's writer
// chmods the directory it writes in, so no one directory can serve both users.
//
// PID 1 compares both with what it last carried over, every MIRROR_INTERVAL_MS: a side that
// changed is carried to the other (the sandbox's side as that user, the gateway's as that
// one, so root lends neither anything), both changed is settled by the newer write. What
// fails the bounded JSON check is not carried: the other side keeps its last good config.
// Each pass reads two bounded files at most after a cheap identity check, and writes at most one.
import { closeSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../shared/digest.js";
import { openDirectory, readFileBounded } from "../shared/dir-fd.js";
import { log } from "../shared/log.js";
import { CONFIG_FILE, MAX_CONFIG_BYTES, parseConfigObject, writeConfigAndHash, type IntegrityPaths } from "./config-integrity.js";
import { asUser } from "./effective-user.js";
import { publishGatewayConfig, readGatewayConfig, type GatewayConfigPlace } from "./gateway-config.js";

export const MIRROR_INTERVAL_MS = 2000;

const asItIs = <T>(work: () => T): T => work();

interface Side {
  bytes: Buffer;
  mtimeMs: number;
}

export type MirrorOutcome = "in step" | "to the gateway" | "to the sandbox" | "not carried";

export class ConfigMirror {
  /** The config both sides had after the last pass (by hash), and what each side looked like then. */
  private carried: string | undefined;
  private seen: { sandbox: string; gateway: string } = { sandbox: "", gateway: "" };
  private lastRefusal: string | undefined;

  constructor(
    private readonly paths: IntegrityPaths,
    private readonly place: GatewayConfigPlace,
    private readonly sandboxFile: { mode: number; uid: number; gid: number },
  ) {}

  /** Both sides hold `bytes` now (boot published them). */
  remember(bytes: Uint8Array): void {
    this.carried = sha256Hex(bytes);
    this.seen = { sandbox: this.identity("sandbox"), gateway: this.identity("gateway") };
  }

  /** One pass; quiet when nothing changed. Never throws for what either side holds. */
  sync(): MirrorOutcome {
    const identities = { sandbox: this.identity("sandbox"), gateway: this.identity("gateway") };
    if (identities.sandbox === this.seen.sandbox && identities.gateway === this.seen.gateway) return "in step";
    const sandbox = this.readSandbox();
    const gateway = readGatewayConfig(this.place);
    this.seen = identities;
    const sandboxChanged = sandbox !== undefined && sha256Hex(sandbox.bytes) !== this.carried;
    const gatewayChanged = gateway !== undefined && sha256Hex(gateway.bytes) !== this.carried;
    if (!sandboxChanged && !gatewayChanged) return "in step";
    const fromSandbox = sandboxChanged && (!gatewayChanged || sandbox!.mtimeMs >= gateway!.mtimeMs);
    if (sandboxChanged && gatewayChanged) log(`config changed on both sides since the last pass: the newer one (${fromSandbox ? "the sandbox's" : "the gateway's"}) wins`);
    const source = fromSandbox ? sandbox! : gateway!;
    const problem = parseConfigObject(source.bytes);
    if (typeof problem === "string") {
      const line = `config: ${fromSandbox ? join(this.paths.configDir, CONFIG_FILE) : this.place.file} ${problem}: not carried over; the other side keeps its last config`;
      if (line !== this.lastRefusal) log(line, "[SECURITY]");
      this.lastRefusal = line;
      return "not carried";
    }
    this.lastRefusal = undefined;
    if (fromSandbox) publishGatewayConfig(this.place, source.bytes);
    else writeConfigAndHash(this.paths, source.bytes, this.sandboxFile);
    this.carried = sha256Hex(source.bytes);
    this.seen = { sandbox: this.identity("sandbox"), gateway: this.identity("gateway") };
    log(`config: ${fromSandbox ? "the sandbox user's change carried to the gateway's copy" : "the gateway's change carried to the sandbox user's config"}`);
    return fromSandbox ? "to the gateway" : "to the sandbox";
  }

  private readSandbox(): Side | undefined {
    const access = this.paths.configAs ?? asItIs;
    return access(() => {
      const fd = openDirectory(this.paths.configDir);
      try {
        const read = readFileBounded({ dirFd: fd, name: CONFIG_FILE }, MAX_CONFIG_BYTES);
        return read.kind === "file" ? { bytes: read.bytes, mtimeMs: read.stat.mtimeMs } : undefined;
      } finally {
        closeSync(fd);
      }
    });
  }

  /** inode, size and times of one side's file: a change there is worth a read. */
  private identity(side: "sandbox" | "gateway"): string {
    const writer = this.place.writer;
    const access = side === "sandbox" ? (this.paths.configAs ?? asItIs) : writer !== undefined ? <T>(work: () => T) => asUser(writer, work) : asItIs;
    const file = side === "sandbox" ? join(this.paths.configDir, CONFIG_FILE) : this.place.file;
    try {
      const st = access(() => lstatSync(file, { bigint: true }));
      return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (error) {
      return `unreadable:${(error as NodeJS.ErrnoException).code ?? "?"}`;
    }
  }
}
