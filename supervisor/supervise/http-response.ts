// Reads an HTTP/1.x response from the bytes received so far (http-get.ts): the status line,
// the headers that frame the body (Content-Length, Transfer-Encoding: chunked, or the end
// of the connection), and the body within its bound. The bytes come from the gateway, a
// process of the sandbox: anything malformed is a verdict, never an exception.

export type ParsedResponse =
  | { kind: "more" }
  | { kind: "invalid"; status?: number; why: string }
  | { kind: "complete"; status: number; body: string };

export interface ParseLimits {
  /** The connection has ended (or nothing more will be read): what is here is all there is. */
  ended: boolean;
  maxHeadBytes: number;
  /** 0: only the status is wanted, the body is not read. */
  maxBodyBytes: number;
}

const HEAD_END = Buffer.from("\r\n\r\n");
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: .*)?$/;

export function parseHttpResponse(bytes: Buffer, limits: ParseLimits): ParsedResponse {
  const headEnd = bytes.subarray(0, limits.maxHeadBytes + HEAD_END.length).indexOf(HEAD_END);
  if (headEnd < 0) {
    if (bytes.length > limits.maxHeadBytes) return { kind: "invalid", why: `response headers larger than ${limits.maxHeadBytes} bytes` };
    return { kind: "more" };
  }
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) return { kind: "invalid", why: `not an HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}` };
  const status = Number(match[1]);
  if (limits.maxBodyBytes <= 0) return { kind: "complete", status, body: "" };
  if (status < 200) return { kind: "invalid", status, why: `interim response ${status}, not a final one` };
  if (status === 204 || status === 304) return { kind: "complete", status, body: "" };
  const body = bytes.subarray(headEnd + HEAD_END.length);
  const framing = framingOf(headerLines);
  if (typeof framing === "object") return { kind: "invalid", status, why: framing.why };
  const decoded = framing === "chunked" ? dechunk(body, limits.maxBodyBytes) : delimited(body, framing, limits.maxBodyBytes);
  if (decoded === "more") {
    return limits.ended ? { kind: "invalid", status, why: "connection closed before the body ended" } : { kind: "more" };
  }
  if (!Buffer.isBuffer(decoded)) return { kind: "invalid", status, why: decoded.why };
  if (framing === "until-close" && !limits.ended) return { kind: "more" };
  return { kind: "complete", status, body: decoded.toString("utf8") };
}

type Framing = number | "chunked" | "until-close";

function framingOf(headerLines: string[]): Framing | { why: string } {
  let length: number | undefined;
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return { why: `malformed header line ${JSON.stringify(line.slice(0, 80))}` };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding" && value.toLowerCase().split(",").pop()!.trim() === "chunked") return "chunked";
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== Number(value))) return { why: `bad Content-Length ${JSON.stringify(value.slice(0, 40))}` };
      length = Number(value);
    }
  }
  return length ?? "until-close";
}

type Decoded = Buffer | "more" | { why: string };

const tooLarge = (maxBytes: number): Decoded => ({ why: `body larger than ${maxBytes} bytes` });

function delimited(body: Buffer, framing: number | "until-close", maxBytes: number): Decoded {
  if (framing === "until-close") return body.length > maxBytes ? tooLarge(maxBytes) : body;
  if (framing > maxBytes) return tooLarge(maxBytes);
  return body.length < framing ? "more" : body.subarray(0, framing);
}

/** Transfer-Encoding: chunked, decoded up to the last chunk; trailers are not read. */
function dechunk(body: Buffer, maxBytes: number): Decoded {
  const parts: Buffer[] = [];
  let total = 0;
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    if (lineEnd < 0) return body.length - at > 64 ? { why: "malformed chunk size line" } : "more";
    const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(body.subarray(at, lineEnd).toString("latin1"));
    if (size === null) return { why: "malformed chunk size line" };
    const length = parseInt(size[1]!, 16);
    if (length === 0) return Buffer.concat(parts, total);
    total += length;
    if (total > maxBytes) return tooLarge(maxBytes);
    const dataStart = lineEnd + 2;
    if (body.length < dataStart + length + 2) return "more";
    parts.push(body.subarray(dataStart, dataStart + length));
    at = dataStart + length + 2;
  }
}
