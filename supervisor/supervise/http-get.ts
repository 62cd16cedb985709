// One bounded HTTP GET for a probe: connect, headers and body within `timeoutMs` in total,
// at most `maxBodyBytes` of body kept. No agent and no keep-alive: the socket is destroyed
// before the promise settles, so a PID 1 that probes every few seconds keeps no sockets or
// timers. The gateway is hostile input like any process of the sandbox: a body that never
// ends, a trickle, a flood are all cut at these bounds. Never throws.
//
// HTTP/1.1 over a plain socket rather than node:http: a probe is one request line out and a
// status line, a few headers and a small body in, and node:http's client (its parser,
// agent, request and response streams) cost PID 1 about 0.3 MB for as long as it lives and
// most of each probe's CPU time (docs/startup-and-memory.md).
import { connect, type Socket } from "node:net";
import { errorMessage } from "../shared/errors.js";
import { parseHttpResponse } from "./http-response.js";

export interface HttpAnswer {
  /** The status code, when headers came. */
  status?: number;
  /** The body as text, when `maxBodyBytes` > 0 and it came whole within the bounds. */
  body?: string;
  /** Why there is no answer (ECONNREFUSED, a timeout), or why the body was cut. */
  error?: string;
  /** Time until the outcome was known. */
  ms: number;
}

/** The probe bodies of OpenClaw's contract are a few hundred bytes; this is far beyond them. */
export const MAX_PROBE_BODY_BYTES = 64 * 1024;

/** Status line and headers together: Node's own limit for a server's headers. */
const MAX_HEAD_BYTES = 16 * 1024;

/** Every probe socket reads into this one buffer (reads are copied out at once). */
const READ_BUFFER_BYTES = 16 * 1024;
let readBuffer: Buffer | undefined;

interface Target {
  host: string;
  port: number;
  request: string;
}

function targetOf(url: string): Target | string {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  if (target.protocol !== "http:") return `unsupported protocol ${target.protocol} in ${url}: expected http:`;
  // URL keeps an IPv6 literal in brackets, which connect() does not take.
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  const request = `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`;
  return { host, port: Number(target.port || 80), request };
}

export function httpGet(url: string, timeoutMs: number, maxBodyBytes = 0): Promise<HttpAnswer> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    const target = targetOf(url);
    if (typeof target === "string") return resolve({ error: target, ms: elapsed() });
    let outcome: HttpAnswer | undefined;
    let socket: Socket | undefined;
    const settle = (result: Omit<HttpAnswer, "ms">): void => {
      if (outcome !== undefined) return;
      outcome = { ...result, ms: elapsed() };
      clearTimeout(timer);
      socket?.destroy();
    };
    const timer = setTimeout(() => settle({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const received: Buffer[] = [];
    let size = 0;
    const limit = MAX_HEAD_BYTES + Math.max(0, maxBodyBytes);
    const onData = (length: number, buffer: Uint8Array): boolean => {
      if (outcome !== undefined) return false;
      received.push(Buffer.from(buffer.subarray(0, length)));
      size += length;
      judge(false);
      return true;
    };
    try {
      // Reads land in the shared buffer and only what came is copied out, where Node would
      // give every read of every probe a fresh 64 kB buffer of its own.
      socket = connect({ host: target.host, port: target.port, onread: { buffer: (readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)), callback: onData } });
    } catch (error) {
      settle({ error: errorMessage(error) });
      return resolve(outcome!);
    }
    const judge = (ended: boolean): void => {
      const parsed = parseHttpResponse(Buffer.concat(received, size), { ended, maxHeadBytes: MAX_HEAD_BYTES, maxBodyBytes });
      if (parsed.kind === "invalid") return settle(parsed.status === undefined ? { error: parsed.why } : { status: parsed.status, error: parsed.why });
      if (parsed.kind === "complete") return settle(maxBodyBytes > 0 ? { status: parsed.status, body: parsed.body } : { status: parsed.status });
      if (ended) return settle({ error: "connection closed without a response" });
      // Still incomplete past both bounds: a chunked flood of tiny chunks, say. Nothing more is kept.
      if (size > limit) settle({ error: `response larger than ${limit} bytes without being complete` });
    };
    socket.on("connect", () => socket!.write(target.request));
    socket.on("end", () => judge(true));
    socket.on("error", (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    // "close" comes after the socket is gone: resolving there leaves nothing behind.
    socket.on("close", () => {
      settle({ error: "connection closed without a response" });
      resolve(outcome!);
    });
  });
}
