// Listener proof (docs/gateway-states.md "What the proof means"): is there a LISTEN socket on the gateway's port, owned by the
// gateway's uid? Asked of the kernel through sock_diag when PID 1 has handed in its addon
// (useSockDiag), else read from /proc/net/tcp and /proc/net/tcp6; both describe the network
// namespace of the reading process.
import { closeSync, openSync, readSync } from "node:fs";
import { constants } from "node:os";

export interface TcpSocket {
  family: "tcp" | "tcp6";
  localAddress: string;
  localPort: number;
  /** Kernel TCP state in hex as the file shows it: "0A" is LISTEN, "01" ESTABLISHED. */
  state: string;
  uid: number;
  inode: number;
}

export const TCP_LISTEN = "0A";

// The kernel prints each 32-bit word of an address with %08X in host byte order. Both
// target arches (x86_64, aarch64 Linux) are little-endian, so each word's bytes are reversed.
function wordBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const word = hex.slice(i, i + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(word.slice(b, b + 2), 16));
  }
  return bytes;
}

/** RFC 5952 text of 16 address bytes: lowercase, longest zero run as "::", v4-mapped dotted. */
export function formatIpv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12, 16).join(".")}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (part: number[]): string => part.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function decodeAddress(hex: string): { family: "tcp" | "tcp6"; address: string } {
  if (hex.length === 8) return { family: "tcp", address: wordBytes(hex).join(".") };
  if (hex.length === 32) return { family: "tcp6", address: formatIpv6(wordBytes(hex)) };
  throw new Error(`malformed /proc/net/tcp address ${JSON.stringify(hex)}: expected 8 or 32 hex digits`);
}

function parseLine(line: string): TcpSocket {
  const fields = line.trim().split(/\s+/);
  const local = fields[1];
  const state = fields[3];
  const uid = fields[7];
  const inode = fields[9];
  const colon = local?.indexOf(":") ?? -1;
  if (local === undefined || colon < 0 || state === undefined || uid === undefined || inode === undefined) {
    throw new Error(`malformed /proc/net/tcp line: ${JSON.stringify(line.trim().slice(0, 100))}`);
  }
  const { family, address } = decodeAddress(local.slice(0, colon));
  return {
    family,
    localAddress: address,
    localPort: Number.parseInt(local.slice(colon + 1), 16),
    state,
    uid: Number(uid),
    inode: Number(inode),
  };
}

/**
 * Parses /proc/net/tcp or /proc/net/tcp6 (the same columns; tcp6 has 128-bit addresses):
 * `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`. The header is skipped.
 */
export function parseProcNetTcp(text: string): TcpSocket[] {
  return text.split("\n").slice(1).filter((line) => line.trim() !== "").map(parseLine);
}

// Before Linux 4.4 pending connections (SYN_RECV) were listed under their listener.
const TCP_SYN_RECV = "03";
// Small reads: the kernel formats records only as far as a read asks for them.
const CHUNK = 512;
/** One buffer for every scan (each probe scans): no allocation outside V8's heap per probe. */
let chunk: Buffer | undefined;

/**
 * Visits the listening sockets of one table until `visit` returns true. The kernel lists
 * listeners first, then walks its established-connection hash, which is shared by every
 * network namespace on the host and can take milliseconds to walk: reading stops at the
 * first record past the listeners (or at the match) instead of reading to the end.
 */
function scanListeners(file: string, visit: (socket: TcpSocket) => boolean): boolean {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    // No tcp6 when IPv6 is disabled in the kernel; no tcp means a wrong procNetDir.
    if (file.endsWith("6") && (error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  try {
    const buffer = (chunk ??= Buffer.allocUnsafeSlow(CHUNK));
    let pending = "";
    let header = true;
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK, null);
      if (n === 0) return false;
      const lines = (pending + buffer.toString("latin1", 0, n)).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        if (line.trim() === "") continue;
        const socket = parseLine(line);
        if (socket.state !== TCP_LISTEN && socket.state !== TCP_SYN_RECV) return false;
        if (socket.state === TCP_LISTEN && visit(socket)) return true;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const TABLES = ["tcp", "tcp6"];

/** The addon's sock_diag query: SOCK_DIAG_FIELDS numbers per listener (family, uid, inode, 16 address bytes). */
export type SockDiagQuery = (port: number) => number[];
const SOCK_DIAG_FIELDS = 19;
let sockDiag: SockDiagQuery | undefined;

/**
 * PID 1 hands in the addon's query at boot: each probe then costs the kernel a walk of its
 * listening sockets instead of formatting /proc/net/tcp, which walks every connection of
 * the host (tcp-listeners.c says why). undefined goes back to /proc/net.
 */
export function useSockDiag(query: SockDiagQuery | undefined): void {
  sockDiag = query;
}

// The 2 s receive bound gives EAGAIN.
const { EMFILE, ENFILE, ENOBUFS, ENOMEM, EINTR, EAGAIN } = constants.errno;
const TRANSIENT_ERRNOS = new Set([EMFILE, ENFILE, ENOBUFS, ENOMEM, EINTR, EAGAIN]);

/** The listeners on port from sock_diag, or undefined when /proc/net must be read instead. */
function askKernel(port: number, procNetDir: string): TcpSocket[] | undefined {
  // Another namespace's /proc/<pid>/net, or a test's directory: only the text tells.
  if (sockDiag === undefined || procNetDir !== "/proc/net") return undefined;
  let flat: number[];
  try {
    flat = sockDiag(port);
  } catch (error) {
    // Short of descriptors or memory: this probe reads /proc/net (and most likely says why it
    // could not). Anything else is a kernel or seccomp profile without sock_diag: /proc/net
    // from now on.
    if (!TRANSIENT_ERRNOS.has((error as { errno?: unknown }).errno as number)) sockDiag = undefined;
    return undefined;
  }
  const sockets: TcpSocket[] = [];
  for (let i = 0; i + SOCK_DIAG_FIELDS <= flat.length; i += SOCK_DIAG_FIELDS) {
    const ipv4 = flat[i] === 4;
    const bytes = flat.slice(i + 3, i + SOCK_DIAG_FIELDS);
    sockets.push({
      family: ipv4 ? "tcp" : "tcp6",
      localAddress: ipv4 ? bytes.slice(0, 4).join(".") : formatIpv6(bytes),
      localPort: port,
      state: TCP_LISTEN,
      uid: flat[i + 1]!,
      inode: flat[i + 2]!,
    });
  }
  return sockets;
}

/**
 * LISTEN sockets on `port`, any address, IPv4 and IPv6. `procNetDir` selects the network
 * namespace: /proc/net is the reader's own, /proc/<pid>/net another process's.
 */
export function listenersOn(port: number, procNetDir = "/proc/net"): TcpSocket[] {
  const fromKernel = askKernel(port, procNetDir);
  if (fromKernel !== undefined) return fromKernel;
  const result: TcpSocket[] = [];
  for (const table of TABLES) {
    scanListeners(`${procNetDir}/${table}`, (socket) => {
      if (socket.localPort === port) result.push(socket);
      return false;
    });
  }
  return result;
}

/** True iff a LISTEN socket on `port` (tcp or tcp6) is owned by `uid`; stops at the first. */
export function isListening(port: number, uid: number, procNetDir = "/proc/net"): boolean {
  const fromKernel = askKernel(port, procNetDir);
  if (fromKernel !== undefined) return fromKernel.some((socket) => socket.uid === uid);
  return TABLES.some((table) => scanListeners(`${procNetDir}/${table}`, (s) => s.localPort === port && s.uid === uid));
}
