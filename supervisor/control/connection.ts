// One control connection: read one bounded request line within a time limit, hand the
// decoded request on, write progress lines and exactly one final line, close. `finished`
// guards every write, so a handler that reports progress late or a client that left is
// harmless, and a client that goes away mid-request leaves the work to finish undisturbed.
import type { Socket } from "node:net";
import { firstLine } from "../shared/errors.js";
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
  new ControlConnection(socket, limits, answer).start();
}

class ControlConnection {
  private finished = false;
  private received: Buffer[] = [];
  private size = 0;
  private waiting = true;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly answer: Answer,
  ) {}

  start(): void {
    this.idle = setTimeout(() => this.reject(`no complete request line within ${this.limits.idleMs / 1000} s`), this.limits.idleMs);
    this.socket.on("data", this.onData);
    this.socket.once("end", () => {
      if (this.waiting) this.reject("connection closed before a complete request line (a request ends with a newline)");
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    const newline = chunk.indexOf(0x0a);
    const lineSize = this.size + (newline === -1 ? chunk.length : newline);
    if (lineSize > this.limits.maxRequestBytes) {
      return this.reject(`request line longer than ${this.limits.maxRequestBytes} bytes`);
    }
    if (newline === -1) {
      this.received.push(chunk);
      this.size = lineSize;
      return;
    }
    const line = Buffer.concat([...this.received, chunk.subarray(0, newline)]).toString("utf8");
    this.stopWaiting();
    const decoded = decodeRequest(line);
    if (!decoded.ok) return this.reject(decoded.message);
    this.answer(decoded.value, (message) => this.send({ progress: String(message) }))
      .then((final) => this.finish(final))
      .catch(() => this.socket.destroy());
  };

  /** A progress line; dropped once the answer is sent, or when the client stops reading. */
  private send(message: ServerMessage): void {
    const socket = this.socket;
    if (this.finished || socket.destroyed || !socket.writable) return;
    if (socket.writableLength > MAX_BUFFERED_BYTES) {
      socket.destroy();
      return;
    }
    try {
      socket.write(encodeMessage(message));
    } catch {
      // A progress message that cannot be encoded is dropped; the final answer still comes.
    }
  }

  /** The one final line, then the half-close. */
  private finish(message: ServerMessage): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.idle);
    if (this.socket.destroyed || !this.socket.writable) {
      this.socket.destroy();
      return;
    }
    let line: string;
    try {
      line = encodeMessage(message);
    } catch (error) {
      line = encodeMessage(failure("unavailable", `the supervisor could not encode its answer: ${firstLine(error)}`));
    }
    endWith(this.socket, line);
  }

  private reject(reason: string): void {
    this.stopWaiting();
    this.limits.rejected.note(`control: rejected request: ${reason}`);
    this.finish(failure("bad request", reason));
  }

  // Once the request line is in (or refused), anything more is read and dropped: reading
  // on is what lets a hang-up be noticed, and nothing is buffered.
  private stopWaiting(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.received = [];
    clearTimeout(this.idle);
    this.socket.off("data", this.onData);
    this.socket.on("data", () => {});
  }
}
