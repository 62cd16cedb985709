// The gateway's port against a squatter (docs/threat-model.md, attack 5): any user of the container may
// listen on an unprivileged port, so the sandbox user can take the gateway's port in the
// moment a relaunch leaves it free, and the new gateway dies with EADDRINUSE. Before a
// launch and while waiting for the port to be released, a LISTEN socket on the port that
// the gateway's uid does not own is named in a [SECURITY] line with its uid and the pid
// holding it; in root mode that process is ended (SIGKILL through a proven identity).
//
// This only narrows the race. What closes it is making the port privileged:
// net.ipv4.ip_unprivileged_port_start above the port (a namespaced sysctl, safe in
// Kubernetes), with the gateway given CAP_NET_BIND_SERVICE (gatewayNetBindService).
// portProtection reports which of the two a container has.
import { closeSync, opendirSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { log } from "../shared/log.js";
import { readProcess, signalProven, type PidfdSignaller } from "./identity.js";
import { listenersOn, type TcpSocket } from "./listener.js";
import { errorMessage } from "../shared/errors.js";

export const UNPRIVILEGED_PORT_START_FILE = "/proc/sys/net/ipv4/ip_unprivileged_port_start";

export interface PortProtection {
  port: number;
  /** True iff only a process with CAP_NET_BIND_SERVICE may listen on the port. */
  protected: boolean;
  /** net.ipv4.ip_unprivileged_port_start of the container's network namespace; null if unreadable. */
  unprivilegedPortStart: number | null;
}

/** Pure: a port below ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE to listen on. */
export function portProtection(port: number, unprivilegedPortStart: number | null): PortProtection {
  return { port, protected: unprivilegedPortStart !== null && port < unprivilegedPortStart, unprivilegedPortStart };
}

/** Reads the sysctl (a few bytes; a kernel file, not the sandbox user's). */
export function readPortProtection(port: number, file = UNPRIVILEGED_PORT_START_FILE): PortProtection {
  let value: number | null = null;
  try {
    const fd = openSync(file, "r");
    try {
      const buffer = Buffer.alloc(32);
      const text = buffer.toString("latin1", 0, readSync(fd, buffer, 0, buffer.length, 0)).trim();
      if (/^\d+$/.test(text)) value = Number(text);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Kernels before 4.11 have no such sysctl: ports from 1024 up are open to every user.
  }
  return portProtection(port, value);
}

export interface ScanLimits {
  /** Processes of the socket's uid looked into. */
  maxProcesses: number;
  /** File descriptors read in all, so a process holding a million of them cannot stall PID 1. */
  maxDescriptors: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxProcesses: 4096, maxDescriptors: 65536 };

export interface SocketHolders {
  pids: number[];
  /** False when a limit was reached or a process could not be read: the list may be short. */
  complete: boolean;
}

/** Runs `work` with the effective ids of `uid`/`gid`: root without CAP_SYS_PTRACE reads another user's /proc/<pid>/fd only as that user. */
function withEffectiveIds<T>(uid: number, gid: number, work: () => T): T {
  if (process.geteuid?.() !== 0) return work();
  process.setegid!(gid);
  process.seteuid!(uid);
  try {
    return work();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

function parseStatusGid(statusText: string): number | undefined {
  const match = /^Gid:\s+(\d+)/m.exec(statusText);
  return match ? Number(match[1]) : undefined;
}

/**
 * The pids among processes of `uid` that hold the socket `inode` (an fd whose link reads
 * `socket:[inode]`), bounded by `limits`. Excludes PID 1 and the caller.
 */
export function findSocketHolders(inode: number, uid: number, procDir = "/proc", limits: ScanLimits = DEFAULT_SCAN_LIMITS): SocketHolders {
  const target = `socket:[${inode}]`;
  const pids: number[] = [];
  let complete = true;
  let descriptors = 0;
  let processes = 0;
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === 1 || pid === process.pid) continue;
    const entry = readProcess(pid, procDir);
    if (entry === undefined || entry.uid !== uid) continue;
    if (++processes > limits.maxProcesses || descriptors >= limits.maxDescriptors) {
      complete = false;
      break;
    }
    let gid: number | undefined;
    try {
      gid = parseStatusGid(readStatus(procDir, pid));
    } catch {
      continue;
    }
    if (gid === undefined) continue;
    const found = withEffectiveIds(uid, gid, () => {
      let dir;
      try {
        dir = opendirSync(`${procDir}/${pid}/fd`);
      } catch {
        return "unreadable" as const;
      }
      try {
        for (let dirent = dir.readSync(); dirent !== null; dirent = dir.readSync()) {
          if (++descriptors > limits.maxDescriptors) return "limit" as const;
          try {
            if (readlinkSync(`${procDir}/${pid}/fd/${dirent.name}`) === target) return "found" as const;
          } catch {
            // Closed in between.
          }
        }
        return "not-found" as const;
      } finally {
        dir.closeSync();
      }
    });
    if (found === "found") pids.push(pid);
    else if (found !== "not-found") complete = false;
  }
  return { pids, complete };
}

function readStatus(procDir: string, pid: number): string {
  const fd = openSync(`${procDir}/${pid}/status`, "r");
  try {
    const buffer = Buffer.alloc(4096);
    return buffer.toString("latin1", 0, readSync(fd, buffer, 0, buffer.length, 0));
  } finally {
    closeSync(fd);
  }
}

export interface PortGuardOptions {
  addon: PidfdSignaller;
  port: number;
  gatewayUid: number;
  /** Root mode: end a squatter's process. Non-root mode: the squatter may be the same uid as PID 1's gateway; it is only named. */
  mayEnd: boolean;
  procDir?: string;
  procNetDir?: string;
  limits?: ScanLimits;
}

export interface Squatter {
  socket: TcpSocket;
  holders: SocketHolders;
  /** Pids that received SIGKILL. */
  ended: number[];
}

/**
 * Checks the gateway's port for listeners the gateway does not own; each new one is named
 * once in a [SECURITY] line and, in root mode, its process ended. Meant to run only while
 * no gateway of this supervisor listens (before a launch, while the old one's port drains).
 */
export class PortGuard {
  /** Socket inodes already named, so a wait loop does not repeat the line. */
  private readonly named = new Set<number>();

  constructor(private readonly o: PortGuardOptions) {}

  protection(): PortProtection {
    return readPortProtection(this.o.port);
  }

  check(): Squatter[] {
    let listeners: TcpSocket[];
    try {
      listeners = listenersOn(this.o.port, this.o.procNetDir).filter((s) => s.uid !== this.o.gatewayUid);
    } catch (error) {
      log(`port guard: cannot read the listeners on port ${this.o.port}: ${errorMessage(error)}`);
      return [];
    }
    if (listeners.length === 0) {
      this.named.clear();
      return [];
    }
    return listeners.map((socket) => this.deal(socket));
  }

  private deal(socket: TcpSocket): Squatter {
    let holders: SocketHolders;
    try {
      holders = findSocketHolders(socket.inode, socket.uid, this.o.procDir, this.o.limits);
    } catch (error) {
      holders = { pids: [], complete: false };
      log(`port guard: cannot look for the holder of socket ${socket.inode}: ${errorMessage(error)}`);
    }
    const ended: number[] = [];
    // Root's own listeners are the operator's; only another user's process is ended.
    if (this.o.mayEnd && socket.uid !== 0) {
      for (const pid of holders.pids) {
        const entry = readProcess(pid, this.o.procDir);
        if (entry === undefined || entry.uid !== socket.uid) continue;
        try {
          if (signalProven(this.o.addon, { pid, startTime: entry.startTime, uid: entry.uid }, "SIGKILL") === "signalled") ended.push(pid);
        } catch (error) {
          log(`port guard: cannot end pid ${pid}: ${errorMessage(error)}`);
        }
      }
    }
    if (!this.named.has(socket.inode)) {
      this.named.add(socket.inode);
      log(squatterLine(this.o.port, socket, holders, ended, this.o.mayEnd, this.protection()), "[SECURITY]");
    }
    return { socket, holders, ended };
  }
}

/** Pure: the one line that names a squatter and what was done about it. */
export function squatterLine(port: number, socket: TcpSocket, holders: SocketHolders, ended: number[], mayEnd: boolean, protection: PortProtection): string {
  // A socket held only inside a unix socket message (SCM_RIGHTS) is in no process's
  // descriptors: a search of them all can come back empty, and says so.
  const who =
    holders.pids.length > 0
      ? `pid ${holders.pids.join(", pid ")}`
      : holders.complete
        ? "no process of that uid holds it in its descriptors: it may be kept in flight in a unix socket message"
        : "no holding pid found, the search was incomplete (not every process could be read)";
  const done =
    ended.length > 0
      ? `ended pid ${ended.join(", pid ")} (SIGKILL)`
      : socket.uid === 0
        ? "left alone (root's)"
        : mayEnd
          ? "could not end it"
          : "not ended (non-root mode: the supervisor cannot tell or stop the sandbox user's processes)";
  const close = protection.protected
    ? ""
    : `; the port is not protected (ip_unprivileged_port_start=${protection.unprivilegedPortStart ?? "unknown"}): ` +
      `set net.ipv4.ip_unprivileged_port_start=${port + 1} and gatewayNetBindService to close this`;
  return `port ${port}: a listener of uid ${socket.uid} (${who}) holds the gateway's port at ${socket.localAddress}: ${done}${close}`;
}
