// The probe's HTTP/1.x response reader (supervise/http-response.ts) on bytes as a gateway may
// send them: whole, split anywhere, chunked, delimited by length or by the end of the
// connection, and hostile (headers without end, a chunk flood, a lying length).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet } from "../../supervisor/supervise/http-get.js";
import { parseHttpResponse, type ParseLimits } from "../../supervisor/supervise/http-response.js";

const limits = (over: Partial<ParseLimits> = {}): ParseLimits => ({ ended: false, maxHeadBytes: 16_384, maxBodyBytes: 65_536, ...over });
const parse = (text: string, over: Partial<ParseLimits> = {}) => parseHttpResponse(Buffer.from(text, "latin1"), limits(over));

describe("parseHttpResponse", () => {
  it("reads a Content-Length body, and waits for all of it", () => {
    const whole = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}';
    expect(parse(whole)).toEqual({ kind: "complete", status: 200, body: '{"status":"ok"}' });
    // Every split point of the same bytes: incomplete until the last byte, never wrong.
    for (let cut = 0; cut < whole.length; cut++) expect(parse(whole.slice(0, cut)).kind).toBe("more");
  });

  it("decodes a chunked body split anywhere, chunk extensions and trailers included", () => {
    const whole = "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n5;x=y\r\n{\"sta\r\n10\r\ntus\":\"starting\"}\r\n0\r\nX-Trailer: 1\r\n\r\n";
    expect(parse(whole)).toEqual({ kind: "complete", status: 503, body: '{"status":"starting"}' });
    const lastChunkAt = whole.indexOf("0\r\n", whole.indexOf("starting"));
    for (let cut = 0; cut <= lastChunkAt + 1; cut++) expect(parse(whole.slice(0, cut)).kind).toBe("more");
  });

  it("reads a body delimited by the end of the connection only once it has ended", () => {
    const text = "HTTP/1.0 200 OK\r\n\r\nlive";
    expect(parse(text)).toEqual({ kind: "more" });
    expect(parse(text, { ended: true })).toEqual({ kind: "complete", status: 200, body: "live" });
  });

  it("needs only the status line and headers when no body is wanted", () => {
    expect(parse("HTTP/1.1 401 Unauthorized\r\nContent-Length: 99999999\r\n\r\n", { maxBodyBytes: 0 })).toEqual({ kind: "complete", status: 401, body: "" });
  });

  it("says which bound a hostile response broke, with the status when it came", () => {
    expect(parse(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(20_000)}`)).toEqual({ kind: "invalid", why: "response headers larger than 16384 bytes" });
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n")).toEqual({ kind: "invalid", status: 200, why: "body larger than 65536 bytes" });
    const chunk = "4000\r\n" + "x".repeat(0x4000) + "\r\n";
    const flood = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk;
    expect(parse(flood, { maxBodyBytes: 0x5000 })).toEqual({ kind: "invalid", status: 200, why: "body larger than 20480 bytes" });
    expect(parse("HTTP/1.1 200 OK\r\n\r\n" + "z".repeat(70_000))).toEqual({ kind: "invalid", status: 200, why: "body larger than 65536 bytes" });
  });

  it("takes nothing that is not a well-formed HTTP/1.x response for one", () => {
    expect(parse("SSH-2.0-OpenSSH_9.2\r\n\r\n")).toMatchObject({ kind: "invalid", why: expect.stringContaining("not an HTTP response") });
    expect(parse("HTTP/1.1 999 Nope\r\n\r\n")).toMatchObject({ kind: "invalid" });
    expect(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")).toMatchObject({ kind: "invalid", status: 200, why: expect.stringContaining("malformed header line") });
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")).toMatchObject({ kind: "invalid", why: expect.stringContaining("bad Content-Length") });
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")).toMatchObject({ kind: "invalid", why: expect.stringContaining("bad Content-Length") });
    expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")).toMatchObject({ kind: "invalid", why: "malformed chunk size line" });
    expect(parse("HTTP/1.1 100 Continue\r\n\r\n")).toMatchObject({ kind: "invalid", status: 100 });
  });

  it("reports a body cut short by the end of the connection", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", { ended: true })).toEqual({ kind: "invalid", status: 200, why: "connection closed before the body ended" });
  });
});

describe("httpGet against node:http's own server", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith("/chunked")) {
        // No Content-Length and several writes: node:http answers chunked.
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"ok":true,');
        setTimeout(() => res.end(`"status":"live","path":${JSON.stringify(req.url)}}`), 20);
        return;
      }
      if (req.url === "/tiny-chunks") {
        res.writeHead(200);
        let n = 0;
        const t = setInterval(() => (n++ < 20_000 ? res.write("x") : (clearInterval(t), res.end())), 0);
        res.on("close", () => clearInterval(t));
        return;
      }
      res.writeHead(204).end();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it("decodes a chunked JSON body that arrives in parts", async () => {
    expect(await httpGet(`http://127.0.0.1:${port}/chunked?x=1`, 2000, 4096)).toMatchObject({ status: 200, body: '{"ok":true,"status":"live","path":"/chunked?x=1"}' });
  });

  it("sends a request node:http's server takes: the status alone for a status-only probe", async () => {
    expect(await httpGet(`http://127.0.0.1:${port}/other`, 2000)).toMatchObject({ status: 204 });
  });

  it("cuts a body of many tiny chunks at its bound", async () => {
    const answer = await httpGet(`http://127.0.0.1:${port}/tiny-chunks`, 5000, 1024);
    expect(answer.status).toBe(200);
    expect(answer.error).toBe("body larger than 1024 bytes");
    expect(answer.body).toBeUndefined();
  });
});
