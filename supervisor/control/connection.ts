// One control connection: read one bounded request line within a time limit, hand the
// decoded request on, write progress lines and exactly one final line, close. `finished`
// guards every write, so a handler that reports progress late or a client that left is
// harmless, and a client that goes away mid-request leaves the work to finish undisturbed.
import type { Socket } from "node:net";
import { oneLine } from "./dispatch.js";
import type { RateLimitedLog } from "./rate-limited-log.js";
import {
  decodeRequest,
  encodeMessage,
  failure,
  type ControlRequest,
  type FinalMessage,
  type ServerMessage,
} from "./protocol.js";

/** A client that stops reading cannot make PID 1 buffer its answers without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** After the final answer, how long a client gets to read it and hang up before it is dropped. */
const LINGER_MS = 2_000;

export interface ConnectionLimits {
  /** How long a connection may take to deliver its request line. */
  idleMs: number;
  maxRequestBytes: number;
  /** Where rejected requests are noted (rate-limited). */
  rejected: RateLimitedLog;
}

export type Answer = (request: ControlRequest, progress: (message: string) => void) => Promise<FinalMessage>;

/**
 * Sends the final line and half-closes. The socket is not destroyed at once: a client
 * still writing its request would get EPIPE and could lose the answer. It closes when the
 * client hangs up, or after LINGER_MS.
 */
export function endWith(socket: Socket, line: string): void {
  socket.end(line);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once("close", () => clearTimeout(linger));
}

export function serveConnection(socket: Socket, limits: ConnectionLimits, answer: Answer): void {
  let finished = false;
  let received: Buffer[] = [];
  let size = 0;
  let waiting = true;

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

  const reject = (reason: string): void => {
    stopWaiting();
    limits.rejected.note(`control: rejected request: ${reason}`);
    finish(failure("bad request", reason));
  };

  const onData = (chunk: Buffer): void => {
    const newline = chunk.indexOf(0x0a);
    const lineSize = size + (newline === -1 ? chunk.length : newline);
    if (lineSize > limits.maxRequestBytes) {
      return reject(`request line longer than ${limits.maxRequestBytes} bytes`);
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
    answer(decoded.value, (message) => send({ progress: String(message) }))
      .then(finish)
      .catch(() => socket.destroy());
  };

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

  const idle = setTimeout(() => reject(`no complete request line within ${limits.idleMs / 1000} s`), limits.idleMs);
  socket.on("data", onData);
  socket.once("end", () => {
    if (waiting) reject("connection closed before a complete request line (a request ends with a newline)");
  });
}
