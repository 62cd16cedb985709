// One bounded HTTP GET for a probe: connect, headers and body within `timeoutMs` in total,
// at most `maxBodyBytes` of body kept. No agent and no keep-alive: the socket is destroyed
// before the promise settles, so a PID 1 that probes every few seconds keeps no sockets or
// timers. The gateway is hostile input like any process of the sandbox: a body that never
// ends, a trickle, a flood are all cut at these bounds. Never throws.
import { type ClientRequest, request } from "node:http";
import { errorMessage } from "../shared/errors.js";

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

export function httpGet(url: string, timeoutMs: number, maxBodyBytes = 0): Promise<HttpAnswer> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve({ error: `not a URL: ${url}`, ms: elapsed() });
    }
    if (target.protocol !== "http:") return resolve({ error: `unsupported protocol ${target.protocol} in ${url}: expected http:`, ms: elapsed() });
    let outcome: HttpAnswer | undefined;
    let req: ClientRequest | undefined;
    const settle = (result: Omit<HttpAnswer, "ms">): void => {
      if (outcome !== undefined) return;
      outcome = { ...result, ms: elapsed() };
      clearTimeout(timer);
      req?.destroy();
    };
    // The socket timeout only measures inactivity; this one bounds the whole exchange.
    const timer = setTimeout(() => settle({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    try {
      req = request(target, { method: "GET", agent: false, headers: { connection: "close" }, timeout: timeoutMs });
    } catch (error) {
      settle({ error: errorMessage(error) });
      return resolve(outcome!);
    }
    req.on("timeout", () => settle({ error: `no answer within ${timeoutMs} ms` }));
    req.on("response", (res) => {
      // Destroying a response mid-body emits "error" on it; whatever it says is not wanted.
      res.on("error", () => {});
      const status = res.statusCode ?? 0;
      if (maxBodyBytes <= 0) return settle({ status });
      readBody(res, maxBodyBytes, (body, error) => settle(error === undefined ? { status, body } : { status, error }));
    });
    req.on("error", (error: NodeJS.ErrnoException) => settle({ error: error.code ?? error.message }));
    // "close" comes after the socket is gone: resolving there leaves nothing behind.
    req.on("close", () => {
      settle({ error: "connection closed without a response" });
      resolve(outcome!);
    });
    req.end();
  });
}

function readBody(res: NodeJS.ReadableStream, maxBytes: number, done: (body: string, error?: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) return done("", `body larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  });
  res.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
}
