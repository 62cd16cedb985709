// Listener proof against real sockets (docs/gateway-states.md): a LISTEN socket on the port, owned by the uid.
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { isListening, listenersOn, parseProcNetTcp } from "../../supervisor/supervise/listener.js";
import { startServer } from "../helpers/http-server.js";

const uid = process.getuid!();

async function listen(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port };
}

async function close(server: Server): Promise<void> {
  server.close();
  await once(server, "close");
}

describe("listener proof", () => {
  it("sees a loopback listener of its own uid, and nothing once it is closed", async () => {
    const { server, port } = await listen("127.0.0.1");
    expect(listenersOn(port)).toEqual([expect.objectContaining({ family: "tcp", localAddress: "127.0.0.1", localPort: port, state: "0A", uid })]);
    expect(isListening(port, uid)).toBe(true);
    expect(isListening(port, uid + 1)).toBe(false);
    await close(server);
    expect(isListening(port, uid)).toBe(false);
    expect(listenersOn(port)).toEqual([]);
  });

  // Docker disables IPv6 in containers by default.
  const ipv6 = existsSync("/proc/net/tcp6") && readFileSync("/proc/sys/net/ipv6/conf/lo/disable_ipv6", "utf8").trim() === "0";
  it.skipIf(!ipv6)("sees IPv6 listeners on ::1 and on the wildcard", async () => {
    for (const host of ["::1", "::"]) {
      const { server, port } = await listen(host);
      try {
        expect(listenersOn(port)).toEqual([expect.objectContaining({ family: "tcp6", localAddress: host, localPort: port, uid })]);
        expect(isListening(port, uid)).toBe(true);
      } finally {
        await close(server);
      }
    }
  });

  it("does not count connected sockets on the port, only the listener", async () => {
    const { server, port } = await listen("127.0.0.1");
    const client = connect(port, "127.0.0.1");
    await once(client, "connect");
    // close() stops listening at once; the accepted connection stays up until the client goes.
    const closed = once(server, "close");
    server.close();
    try {
      const onPort = parseProcNetTcp(readFileSync("/proc/net/tcp", "latin1")).filter((s) => s.localPort === port);
      expect(onPort.map((s) => s.state)).toEqual(["01"]);
      expect(listenersOn(port)).toEqual([]);
    } finally {
      client.destroy();
      await closed;
    }
  });

  it.skipIf(uid !== 0)("attributes a listener to the uid that owns it, not to whoever asks", async () => {
    const other = await startServer({ host: "0.0.0.0", uid: 65534 });
    try {
      expect(isListening(other.port, 65534)).toBe(true);
      expect(isListening(other.port, uid)).toBe(false);
    } finally {
      await other.stop();
    }
    expect(isListening(other.port, 65534)).toBe(false);
  });

  it("reads another network namespace's tables through procNetDir", async () => {
    const { server, port } = await listen("127.0.0.1");
    try {
      expect(isListening(port, uid, `/proc/${process.pid}/net`)).toBe(true);
      expect(() => isListening(port, uid, "/nonexistent")).toThrow(/ENOENT/);
    } finally {
      await close(server);
    }
  });

  it("reads the listeners at the head of a table and stops at the first connection", () => {
    // Lines of 150 bytes as the kernel pads them, so records straddle the 512-byte reads.
    const line = (sl: number, port: number, state: string, uid: number) =>
      `${String(sl).padStart(4)}: 0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${1000 + sl} 1 0000000000000000 100 0 0 10 0`.padEnd(149) + "\n";
    const dir = mkdtempSync(join(tmpdir(), "procnet-"));
    try {
      writeFileSync(join(dir, "tcp"), [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode".padEnd(149) + "\n",
        line(0, 18789, "0A", 999),
        line(1, 18789, "03", 999), // Linux < 4.4 lists pending connections under their listener
        line(2, 8080, "0A", 0),
        line(3, 18789, "0A", 1000),
        line(4, 18789, "01", 999), // the connections: the kernel never lists a listener after them
        line(5, 9999, "0A", 999),
      ].join(""));
      expect(listenersOn(18789, dir).map((s) => [s.uid, s.inode])).toEqual([[999, 1000], [1000, 1003]]);
      expect(isListening(18789, 1000, dir)).toBe(true);
      expect(isListening(8080, 0, dir)).toBe(true);
      expect(listenersOn(9999, dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
