// The control socket PID 1 listens on (SPEC 7). It only carries requests to the supervise
// loop (the handler) and its answers back: it holds no gateway state of its own.
//
// It runs inside PID 1, so nothing a client does may crash it or make it hold resources:
// requests are bounded in size and time, connections in number, every socket error is
// absorbed, a handler failure becomes an answer, and a client that goes away mid-request
// leaves the handler's work to finish undisturbed.
import { chmodSync, lstatSync, mkdirSync, unlinkSync, type Stats } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { dirname } from "node:path";
import type { ControlHandler, ControlResult } from "./gateway-state.js";
import {
  decodeRequest,
  encodeMessage,
  failure,
  MAX_CONNECTIONS,
  MAX_REQUEST_BYTES,
  REQUEST_IDLE_MS,
  type ControlRequest,
  type ServerMessage,
} from "./control-protocol.js";
import { log } from "./log.js";

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

export class ControlServerError extends Error {}

/** A client that stops reading cannot make PID 1 buffer its answers without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** After the final answer, how long a client gets to read it and hang up before it is dropped. */
const LINGER_MS = 2_000;

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? "";
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isDirectory()) return "directory";
  if (st.isFile()) return "regular file";
  return "special file";
}

/** The socket's directory is what keeps other users out: root-only, no symlink, no doubt. */
function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") {
      throw new ControlServerError(`cannot create control socket directory ${dir} (${errorCode(error)})`);
    }
  }
  const st = lstatSync(dir);
  const euid = process.geteuid?.() ?? -1;
  const mode = st.mode & 0o7777;
  if (!st.isDirectory() || st.uid !== euid || mode !== 0o700) {
    const found = st.isDirectory() ? `owner uid ${st.uid}, mode ${mode.toString(8).padStart(4, "0")}` : `a ${kindOf(st)}`;
    throw new ControlServerError(
      `control socket directory ${dir} must be a directory owned by uid ${euid} with mode 0700, found ${found}: remove it or fix it`,
    );
  }
}

function isServed(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socketPath);
    const done = (served: boolean): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(served);
    };
    // A connect to a unix socket nobody listens on fails at once; a slow one is a live server.
    const timer = setTimeout(() => done(true), 1_000);
    probe.once("connect", () => done(true));
    probe.once("error", () => done(false));
  });
}

/** Removes the socket a previous supervisor left behind; refuses to remove anything else. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: Stats;
  try {
    st = lstatSync(socketPath);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return;
    throw new ControlServerError(`cannot inspect control socket path ${socketPath} (${errorCode(error)})`);
  }
  if (!st.isSocket()) {
    throw new ControlServerError(`refusing to replace ${socketPath}: it is a ${kindOf(st)}, not a socket; remove it`);
  }
  if (await isServed(socketPath)) {
    throw new ControlServerError(`another process is already serving control socket ${socketPath}`);
  }
  unlinkSync(socketPath);
}

/** One line per interval at most, so a flood of garbage cannot flood the log. */
class RateLimitedLog {
  private lastAt = -Infinity;
  private suppressed = 0;
  private latest = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (message: string) => void,
    private readonly intervalMs: number,
  ) {}

  note(message: string): void {
    const now = Date.now();
    if (this.suppressed === 0 && now - this.lastAt >= this.intervalMs) {
      this.lastAt = now;
      this.write(message);
      return;
    }
    this.suppressed++;
    this.latest = message;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastAt + this.intervalMs - now)).unref();
  }

  private flush(): void {
    this.timer = undefined;
    const more = this.suppressed - 1;
    this.write(more > 0 ? `${this.latest} (and ${more} more in the last ${this.intervalMs / 1000} s)` : this.latest);
    this.suppressed = 0;
    this.lastAt = Date.now();
  }

  stop(): void {
    if (this.timer !== undefined) this.flush();
    clearTimeout(this.timer);
  }
}

/**
 * Sends the final line and half-closes. The socket is not destroyed at once: a client
 * still writing its request would get EPIPE and could lose the answer. It closes when the
 * client hangs up, or after LINGER_MS.
 */
function endWith(socket: Socket, line: string): void {
  socket.end(line);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once("close", () => clearTimeout(linger));
}

export async function startControlServer(
  socketPath: string,
  handler: ControlHandler,
  options: ControlServerOptions = {},
): Promise<ControlServer> {
  const idleMs = options.idleMs ?? REQUEST_IDLE_MS;
  const maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const limiter = new RateLimitedLog(options.log ?? ((message) => log(message)), options.logIntervalMs ?? 1_000);

  prepareDirectory(dirname(socketPath));
  await removeStaleSocket(socketPath);

  const sockets = new Set<Socket>();
  let serving = 0;

  // One connection: read one request line, answer, close. `finished` guards every write,
  // so a handler that reports progress late or a client that left is harmless.
  function serve(socket: Socket): void {
    let finished = false;
    let received: Buffer[] = [];
    let size = 0;

    const send = (message: ServerMessage): void => {
      if (finished || socket.destroyed || !socket.writable) return;
      if (socket.writableLength > MAX_BUFFERED_BYTES) {
        socket.destroy();
        return;
      }
      try {
        socket.write(encodeMessage(message));
      } catch {
        // A progress message that cannot be encoded is dropped; the final answer still comes.
      }
    };

    const finish = (message: ServerMessage): void => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      if (socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      let line: string;
      try {
        line = encodeMessage(message);
      } catch (error) {
        line = encodeMessage(failure("unavailable", `the supervisor could not encode its answer: ${oneLine(error)}`));
      }
      endWith(socket, line);
    };

    const reject = (reason: string, message: ServerMessage = failure("bad request", reason)): void => {
      stopWaiting();
      limiter.note(`control: rejected request: ${reason}`);
      finish(message);
    };

    const run = (work: () => Promise<ControlResult>): void => {
      let pending: Promise<ControlResult>;
      try {
        pending = work();
      } catch (error) {
        pending = Promise.reject(error);
      }
      Promise.resolve(pending)
        .then(
          (result) => finish({ result }),
          (error: unknown) => finish(failure("unavailable", `the supervisor failed to handle the request: ${oneLine(error)}`)),
        )
        .catch(() => socket.destroy());
    };

    const dispatch = (request: ControlRequest): void => {
      const progress = (message: string): void => send({ progress: String(message) });
      switch (request.op) {
        case "status":
        case "health":
          try {
            finish({ status: handler.status() });
          } catch (error) {
            finish(failure("unavailable", `the supervisor failed to report its status: ${oneLine(error)}`));
          }
          return;
        case "restart": {
          const { timeoutMs, expect } = request;
          return run(() => handler.restart(expect ? { timeoutMs, expect } : { timeoutMs }, progress));
        }
        case "stop":
          return run(() => handler.stop(progress));
      }
    };

    function onData(chunk: Buffer): void {
      const newline = chunk.indexOf(0x0a);
      const lineSize = size + (newline === -1 ? chunk.length : newline);
      if (lineSize > maxRequestBytes) {
        return reject(`request line longer than ${maxRequestBytes} bytes`);
      }
      if (newline === -1) {
        received.push(chunk);
        size = lineSize;
        return;
      }
      const line = Buffer.concat([...received, chunk.subarray(0, newline)]).toString("utf8");
      stopWaiting();
      const decoded = decodeRequest(line);
      if (!decoded.ok) return reject(decoded.message);
      dispatch(decoded.value);
    }

    // Once the request line is in (or refused), anything more is read and dropped: reading
    // on is what lets a hang-up be noticed, and nothing is buffered.
    function stopWaiting(): void {
      if (!waiting) return;
      waiting = false;
      received = [];
      clearTimeout(idle);
      socket.off("data", onData);
      socket.on("data", () => {});
    }

    let waiting = true;
    const idle = setTimeout(() => reject(`no complete request line within ${idleMs / 1000} s`), idleMs);
    socket.on("data", onData);
    socket.once("end", () => {
      if (waiting) reject("connection closed before a complete request line (a request ends with a newline)");
    });
  }

  const server = createServer({ allowHalfOpen: true });
  server.on("connection", (socket) => {
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
    serve(socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw new ControlServerError(`cannot listen on control socket ${socketPath} (${errorCode(error)})`);
  });
  // Accept failures (EMFILE) arrive here; an unhandled "error" would end PID 1.
  server.on("error", (error) => limiter.note(`control: socket error: ${oneLine(error)}`));
  let created: Stats;
  try {
    // The directory is root-only, so nobody can connect in the moment before this chmod.
    chmodSync(socketPath, 0o600);
    created = lstatSync(socketPath);
  } catch (error) {
    server.close();
    throw new ControlServerError(`cannot set mode 0600 on control socket ${socketPath} (${errorCode(error)})`);
  }

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
