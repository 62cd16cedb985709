import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listenersOn } from "../../supervisor/supervise/listener.js";
import { findSocketHolders, portProtection, readPortProtection, squatterLine } from "../../supervisor/supervise/port-guard.js";

const socket = { family: "tcp" as const, localAddress: "127.0.0.1", localPort: 18789, state: "0A", uid: 1000, inode: 42 };

describe("port protection", () => {
  it("is protected only below ip_unprivileged_port_start", () => {
    expect(portProtection(18789, 1024)).toEqual({ port: 18789, protected: false, unprivilegedPortStart: 1024 });
    expect(portProtection(18789, 18789).protected).toBe(false);
    expect(portProtection(18789, 18790).protected).toBe(true);
    expect(portProtection(18789, null).protected).toBe(false);
  });

  it("reads the sysctl, and an unreadable one as unknown", () => {
    const dir = mkdtempSync(join(tmpdir(), "sysctl-"));
    writeFileSync(join(dir, "start"), "18790\n");
    expect(readPortProtection(18789, join(dir, "start"))).toEqual({ port: 18789, protected: true, unprivilegedPortStart: 18790 });
    expect(readPortProtection(18789, join(dir, "none"))).toEqual({ port: 18789, protected: false, unprivilegedPortStart: null });
    rmSync(dir, { recursive: true });
  });

  it("names the squatter's uid and pid, what was done, and the setting that closes it", () => {
    const open = portProtection(18789, 1024);
    expect(squatterLine(18789, socket, { pids: [77], complete: true }, [77], true, open)).toBe(
      "port 18789: a listener of uid 1000 (pid 77) holds the gateway's port at 127.0.0.1: ended pid 77 (SIGKILL); " +
        "the port is not protected (ip_unprivileged_port_start=1024): set net.ipv4.ip_unprivileged_port_start=18790 and gatewayNetBindService to close this",
    );
    expect(squatterLine(18789, socket, { pids: [], complete: false }, [], false, portProtection(18789, 18790))).toBe(
      "port 18789: a listener of uid 1000 (no holding pid found, the search was incomplete (not every process could be read)) holds the gateway's port at 127.0.0.1: " +
        "not ended (non-root mode: the supervisor cannot tell or stop the sandbox user's processes)",
    );
  });
});

describe.skipIf(process.getuid?.() !== 0)("finding the process that holds a listening socket", () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((child) => child.kill("SIGKILL")));

  async function listenAs(uid: number): Promise<{ child: ChildProcess; port: number }> {
    const child = spawn(process.execPath, ["-e", "const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port))"], {
      uid,
      gid: uid,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const port = await new Promise<number>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    return { child, port };
  }

  it("finds another user's listener by its socket inode (as that user: root has no CAP_SYS_PTRACE in the container)", async () => {
    const { child, port } = await listenAs(65534);
    const [listener] = listenersOn(port);
    expect(listener?.uid).toBe(65534);
    expect(findSocketHolders(listener!.inode, 65534)).toEqual({ pids: [child.pid], complete: true });
    expect(process.geteuid!()).toBe(0);
    // Looked for among the wrong uid's processes: not found.
    expect(findSocketHolders(listener!.inode, 65533).pids).toEqual([]);
  });

  it("stops at its bound and says the answer may be incomplete", async () => {
    const { port } = await listenAs(65534);
    const [listener] = listenersOn(port);
    expect(findSocketHolders(listener!.inode, 65534, "/proc", { maxProcesses: 4096, maxDescriptors: 1 }).complete).toBe(false);
  });
});
