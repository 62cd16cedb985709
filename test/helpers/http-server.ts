// A raw HTTP server in a child process, so the test process holds no server-side sockets
// and its active handles show only what a probe leaves behind. GET /<status> answers that
// status; /json/<status>/<base64url body> answers that status with that body; /hang accepts
// and never answers; /trickle sends a header line every 50 ms forever; /flood sends a body
// that never ends.
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";

const SERVER = `
const net = require("node:net");
const server = net.createServer((socket) => {
  socket.on("error", () => {});
  socket.once("data", (data) => {
    const path = String(data).split(" ")[1] || "/";
    if (path === "/hang") return;
    if (path === "/trickle") {
      socket.write("HTTP/1.1 200 OK\\r\\n");
      const t = setInterval(() => socket.write("X-Slow: 1\\r\\n"), 50);
      socket.on("close", () => clearInterval(t));
      return;
    }
    if (path === "/flood") {
      socket.write("HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\n");
      const chunk = Buffer.alloc(16384, 120);
      const t = setInterval(() => socket.write(chunk), 1);
      socket.on("close", () => clearInterval(t));
      return;
    }
    const json = /^\\/json\\/(\\d+)\\/([A-Za-z0-9_-]*)$/.exec(path);
    if (json) {
      const body = Buffer.from(json[2], "base64url");
      socket.end("HTTP/1.1 " + json[1] + " X\\r\\nContent-Type: application/json\\r\\nContent-Length: " + body.length + "\\r\\nConnection: close\\r\\n\\r\\n" + body);
      return;
    }
    const status = Number(path.slice(1)) || 200;
    socket.end("HTTP/1.1 " + status + " X\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok");
  });
});
server.listen(0, process.argv[1], () => process.stdout.write(server.address().port + "\\n"));
`;

export interface TestServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(options: { host?: string; uid?: number } = {}): Promise<TestServer> {
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.uid };
  const child = spawn(process.execPath, ["-e", SERVER, options.host ?? "127.0.0.1"], { stdio: ["ignore", "pipe", "inherit"], ...ids });
  const [line] = (await once(child.stdout as Readable, "data")) as [Buffer];
  const exited = once(child, "exit");
  return {
    pid: child.pid!,
    port: Number(String(line).trim()),
    async stop() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** The path at which the server answers `status` with `body` (JSON.stringify'd unless a string). */
export function jsonPath(status: number, body: unknown): string {
  return `/json/${status}/${Buffer.from(typeof body === "string" ? body : JSON.stringify(body)).toString("base64url")}`;
}
