// The gateway's own output, wrapped (SUPERVISOR_LOG_GATEWAY_OUTPUT=wrap, JSON logs only):
// every line it writes becomes one JSON object on the same stream of PID 1, so a log
// pipeline can tell its lines from the supervisor's (`"source":"gateway"`). By default the
// gateway writes straight to the container's stdout and stderr and PID 1 is not in the way.
//
// Never the gateway's bottleneck: its stdout and stderr are pipes of 1 MiB that PID 1 reads
// as data comes. Never unbounded in PID 1: a line longer than MAX_LINE_BYTES is cut (the
// rest up to its newline is skipped), and one asynchronous write per stream is in flight
// (in libuv's thread pool, so a stalled log reader never blocks PID 1's event loop) while at
// most MAX_QUEUED_BYTES wait; lines beyond that are dropped and counted, and one line says
// how many once the writer has caught up.
import { closeSync, write } from "node:fs";
import { Socket } from "node:net";
import { log } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";

export const MAX_LINE_BYTES = 16 * 1024;
export const MAX_QUEUED_BYTES = 1024 * 1024;

type Stream = "stdout" | "stderr";

/** Splits a byte stream into lines of at most `maxBytes` (a longer one is cut: `cut` true). */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Past the cut of an overlong line: skipping to its newline. */
  private skipping = false;

  constructor(
    private readonly onLine: (line: string, cut: boolean) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.skipping) this.take(chunk.subarray(start, end));
      if (newline === -1) return;
      if (!this.skipping) this.emit(false);
      this.skipping = false;
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (!this.skipping && this.size > 0) this.emit(false);
    this.skipping = false;
  }

  private take(bytes: Buffer): void {
    const room = this.maxBytes - this.size;
    if (bytes.length <= room) {
      if (bytes.length > 0) this.parts.push(bytes);
      this.size += bytes.length;
      return;
    }
    this.parts.push(bytes.subarray(0, room));
    this.size += room;
    this.emit(true);
    this.skipping = true;
  }

  private emit(cut: boolean): void {
    const line = Buffer.concat(this.parts, this.size).toString("utf8").replace(/\r$/, "");
    this.parts = [];
    this.size = 0;
    this.onLine(line, cut);
  }
}

/** One asynchronous write at a time to `fd`; at most `maxQueued` bytes wait, the rest is dropped and counted. */
export class QueuedWriter {
  private queue: string[] = [];
  private queued = 0;
  private writing = false;
  private closed = false;
  private dropped = { lines: 0, bytes: 0 };

  constructor(
    private readonly fd: number,
    private readonly onDropped: (lines: number, bytes: number) => void,
    private readonly maxQueued = MAX_QUEUED_BYTES,
  ) {}

  write(text: string): void {
    if (this.closed) return;
    const bytes = Buffer.byteLength(text);
    if (this.queued + bytes > this.maxQueued) {
      this.dropped.lines++;
      this.dropped.bytes += bytes;
      return;
    }
    this.queue.push(text);
    this.queued += bytes;
    this.pump();
  }

  private pump(): void {
    if (this.writing || this.closed) return;
    if (this.queue.length === 0) {
      if (this.dropped.lines > 0) {
        const { lines, bytes } = this.dropped;
        this.dropped = { lines: 0, bytes: 0 };
        this.onDropped(lines, bytes);
      }
      return;
    }
    const chunk = Buffer.from(this.queue.join(""));
    this.queue = [];
    this.queued = 0;
    this.writing = true;
    this.writeAll(chunk, 0);
  }

  private writeAll(chunk: Buffer, offset: number): void {
    write(this.fd, chunk, offset, chunk.length - offset, null, (error, written) => {
      if (error) {
        // Nobody reads PID 1's output any more: nothing to write to, nothing to report.
        this.closed = true;
        this.queue = [];
        return;
      }
      if (offset + written < chunk.length) return this.writeAll(chunk, offset + written);
      this.writing = false;
      this.pump();
    });
  }
}

const writers: Partial<Record<Stream, QueuedWriter>> = {};

/** PID 1's own stream, shared by every gateway it launches. */
function writerFor(stream: Stream): QueuedWriter {
  return (writers[stream] ??= new QueuedWriter(stream === "stdout" ? 1 : 2, (lines, bytes) =>
    log(`gateway output: ${lines} line(s), ${bytes} bytes dropped: PID 1's ${stream} did not keep up`, {
      level: "warn",
      event: "gateway.output-dropped",
      fields: { stream, lines, bytes },
    }),
  ));
}

/** Pure: the JSON line of one line of the gateway's output. */
export function gatewayLine(line: string, cut: boolean, stream: Stream, pid: number, now: Date): string {
  const record: Record<string, unknown> = { time: now.toISOString(), level: "info", event: "gateway.output", source: "gateway", stream, pid, message: line };
  if (cut) record.cut = true;
  return `${JSON.stringify(record)}\n`;
}

/** The pipes of one launch: their write ends go to the gateway, their read ends are read here. */
export interface WrappedOutput {
  /** The gateway's stdout and stderr. */
  stdio: [number, number];
  /** The gateway started: stop holding its ends, read ours. */
  start(pid: number): void;
  /** The launch did not happen: close everything. */
  abandon(): void;
}

export function wrapGatewayOutput(addon: NativeAddon): WrappedOutput {
  const out = addon.outputPipe();
  let err: [number, number];
  try {
    err = addon.outputPipe();
  } catch (error) {
    out.forEach(closeQuietly);
    throw error;
  }
  return {
    stdio: [out[1], err[1]],
    start(pid) {
      closeQuietly(out[1]);
      closeQuietly(err[1]);
      readLines(out[0], "stdout", pid);
      readLines(err[0], "stderr", pid);
    },
    abandon() {
      [...out, ...err].forEach(closeQuietly);
    },
  };
}

function readLines(fd: number, stream: Stream, pid: number): void {
  const writer = writerFor(stream);
  const lines = new LineSplitter((line, cut) => writer.write(gatewayLine(line, cut, stream, pid, new Date())));
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.on("data", (chunk: Buffer) => lines.push(chunk));
  // The last of the gateway's processes closed its end (or the read failed): done.
  socket.on("end", () => lines.end());
  socket.on("error", () => socket.destroy());
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
