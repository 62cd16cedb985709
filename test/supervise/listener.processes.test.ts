// Listener proof against real sockets (docs/gateway-states.md): a LISTEN socket on the port, owned by the uid.
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { isListening, listenersOn, parseProcNetTcp, useSockDiag } from "../../supervisor/supervise/listener.js";
import { startServer } from "../helpers/http-server.js";
import { loadAddon } from "../helpers/native.js";

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

  describe("through sock_diag (the addon PID 1 hands in)", () => {
    const addon = loadAddon();
    /** What the /proc/net text says, with the kernel query off. */
    function fromProcText(port: number) {
      useSockDiag(undefined);
      return listenersOn(port);
    }
    /** What the kernel query says; counts its calls so a silent fallback cannot pass. */
    function fromKernel(port: number) {
      let calls = 0;
      useSockDiag((p) => (calls++, addon.tcpListeners(p)));
      const sockets = listenersOn(port);
      useSockDiag(undefined);
      expect(calls).toBe(1);
      return sockets;
    }

    it("finds the same listeners as /proc/net (family, address, uid, inode), and none once closed", async () => {
      const hosts = ["127.0.0.1", "0.0.0.0", ...(ipv6 ? ["::1", "::"] : [])];
      for (const host of hosts) {
        const { server, port } = await listen(host);
        try {
          const kernel = fromKernel(port);
          expect(kernel).toHaveLength(1);
          expect(kernel).toEqual(fromProcText(port));
        } finally {
          await close(server);
        }
        expect(fromKernel(port)).toEqual([]);
      }
    });

    it.skipIf(uid !== 0)("reports the owner's uid and leaves connected sockets out", async () => {
      const other = await startServer({ host: "127.0.0.1", uid: 65534 });
      const client = connect(other.port, "127.0.0.1");
      await once(client, "connect");
      try {
        expect(fromKernel(other.port).map((s) => s.uid)).toEqual([65534]);
        useSockDiag((p) => addon.tcpListeners(p));
        expect(isListening(other.port, 65534)).toBe(true);
        expect(isListening(other.port, uid)).toBe(false);
      } finally {
        useSockDiag(undefined);
        client.destroy();
        await other.stop();
      }
    });

    it("rejects a port out of range, and falls back to /proc/net for good when the query fails", async () => {
      expect(() => addon.tcpListeners(0)).toThrow(/1 to 65535/);
      expect(() => addon.tcpListeners(65536)).toThrow(/1 to 65535/);
      const { server, port } = await listen("127.0.0.1");
      let calls = 0;
      try {
        useSockDiag(() => {
          calls++;
          throw Object.assign(new Error("sock_diag dump of TCP listeners: EPERM"), { errno: 1 });
        });
        expect(isListening(port, uid)).toBe(true);
        expect(isListening(port, uid)).toBe(true);
        expect(calls).toBe(1);
        // Short of descriptors is passing: the next probe asks the kernel again.
        let transient = 0;
        useSockDiag((p) => {
          if (++transient === 1) throw Object.assign(new Error("sock_diag dump of TCP listeners: EMFILE"), { errno: 24 });
          return addon.tcpListeners(p);
        });
        expect(isListening(port, uid)).toBe(true);
        expect(isListening(port, uid)).toBe(true);
        expect(transient).toBe(2);
      } finally {
        useSockDiag(undefined);
        await close(server);
      }
    });

    it("leaves another namespace's procNetDir to the text tables", async () => {
      const { server, port } = await listen("127.0.0.1");
      let calls = 0;
      try {
        useSockDiag((p) => (calls++, addon.tcpListeners(p)));
        expect(isListening(port, uid, `/proc/${process.pid}/net`)).toBe(true);
        expect(calls).toBe(0);
      } finally {
        useSockDiag(undefined);
        await close(server);
      }
    });
  });
});
