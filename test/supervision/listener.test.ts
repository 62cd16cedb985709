// Listener proof against real sockets (SPEC 4): a LISTEN socket on the port, owned by the uid.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { isListening, listenersOn, parseProcNetTcp } from "../../supervisor/listener.js";
import { startServer } from "./http-server.js";

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

  it("sees IPv6 listeners on ::1 and on the wildcard", async () => {
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
});
