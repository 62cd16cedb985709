// The control socket PID 1 listens on (docs/architecture.md, control). It only carries requests to the supervise
// loop (the handler) and its answers back: it holds no gateway state of its own and never
// signals the gateway itself.
//
// It runs inside PID 1, so nothing a client does may crash it or make it hold resources:
// requests are bounded in size and time (connection.ts), connections in number, every
// socket error is absorbed, and a handler failure becomes an answer (dispatch.ts).
import { chmodSync, lstatSync, unlinkSync, type Stats } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { log } from "../shared/log.js";
import type { ControlHandler } from "../supervise/control-contract.js";
import { endWith, serveConnection, type Answer } from "./connection.js";
import { dispatch } from "./dispatch.js";
import { encodeMessage, failure, MAX_CONNECTIONS, MAX_REQUEST_BYTES, REQUEST_IDLE_MS } from "./protocol.js";
import { RateLimitedLog } from "./rate-limited-log.js";
import { ControlServerError, prepareDirectory, removeStaleSocket } from "./socket-file.js";
import { errorReason, firstLine } from "../shared/errors.js";

export interface ControlServer {
  readonly socketPath: string;
  /** Stops listening, drops open connections and removes the socket file. */
  close(): Promise<void>;
}

export interface ControlServerOptions {
  /** How long a connection may take to deliver its request line (default 5 s). */
  idleMs?: number;
  maxRequestBytes?: number;
  maxConnections?: number;
  /** At most one line per this interval about rejected requests (default 1 s). */
  logIntervalMs?: number;
  log?: (message: string) => void;
}

export async function startControlServer(
  socketPath: string,
  handler: ControlHandler,
  options: ControlServerOptions = {},
): Promise<ControlServer> {
  const limiter = new RateLimitedLog(options.log ?? ((message) => log(message)), options.logIntervalMs ?? 1_000);
  prepareDirectory(dirname(socketPath));
  await removeStaleSocket(socketPath);

  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true });
  server.on("connection", admitter(handler, options, limiter, sockets));
  await listen(server, socketPath);
  // Accept failures (EMFILE) arrive here; an unhandled "error" would end PID 1.
  server.on("error", (error) => limiter.note(`control: socket error: ${firstLine(error)}`));
  const created = restrictSocket(server, socketPath);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        limiter.stop();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        try {
          const st = lstatSync(socketPath);
          if (st.ino === created.ino && st.dev === created.dev) unlinkSync(socketPath);
        } catch {
          // Already gone.
        }
      }),
  };
}

/** Each new connection is served, or answered "busy" once maxConnections are open. */
function admitter(handler: ControlHandler, options: ControlServerOptions, limiter: RateLimitedLog, sockets: Set<Socket>): (socket: Socket) => void {
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const limits = { idleMs: options.idleMs ?? REQUEST_IDLE_MS, maxRequestBytes: options.maxRequestBytes ?? MAX_REQUEST_BYTES, rejected: limiter };
  const answer: Answer = (request, progress) => dispatch(handler, request, progress);
  let serving = 0;
  return (socket) => {
    sockets.add(socket);
    socket.on("error", () => {
      // ECONNRESET, EPIPE: the client went away; "close" follows and cleans up.
    });
    socket.once("close", () => sockets.delete(socket));
    if (serving >= maxConnections) {
      limiter.note(`control: rejected request: busy (${maxConnections} connections already open)`);
      socket.on("data", () => {});
      endWith(socket, encodeMessage(failure("busy", `the supervisor is already serving ${maxConnections} control requests; try again`)));
      return;
    }
    serving++;
    socket.once("close", () => serving--);
    serveConnection(socket, limits, answer);
  };
}

async function listen(server: Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw new ControlServerError(`cannot listen on control socket ${socketPath} (${errorReason(error)})`);
  });
}

/** Mode 0600; returns the socket file's identity, so close() removes only its own file. */
function restrictSocket(server: Server, socketPath: string): Stats {
  try {
    // The directory is root-only, so nobody can connect in the moment before this chmod.
    chmodSync(socketPath, 0o600);
    return lstatSync(socketPath);
  } catch (error) {
    server.close();
    throw new ControlServerError(`cannot set mode 0600 on control socket ${socketPath} (${errorReason(error)})`);
  }
}
