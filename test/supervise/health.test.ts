// The HTTP probe and the layered health proof (docs/gateway-states.md "What the proof means")
// against real servers. The servers run in child processes, so this process's active resources show
// exactly what a probe leaves behind.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proveHealthy, type ProbeUrls } from "../../supervisor/supervise/health.js";
import { httpGet } from "../../supervisor/supervise/http-get.js";
import { readIdentity } from "../../supervisor/supervise/identity.js";
import { jsonPath, startServer, type TestServer } from "../helpers/http-server.js";
import { waitFor } from "../helpers/processes.js";

const uid = process.getuid!();
let server: TestServer;
let closedPort: number;

beforeAll(async () => {
  server = await startServer();
  const gone = await startServer();
  closedPort = gone.port;
  await gone.stop();
});

afterAll(async () => {
  await server.stop();
});

const resources = (): string[] => process.getActiveResourcesInfo().sort();
const url = (path: string): string => `http://127.0.0.1:${server.port}${path}`;

describe("httpGet", () => {
  it.each([[200], [401], [500], [404], [302]])("reports HTTP %i", async (status) => {
    const result = await httpGet(url(`/${status}`), 2000);
    expect(result).toMatchObject({ status });
    expect(result.error).toBeUndefined();
  });

  it("reads a bounded body when asked for one", async () => {
    expect(await httpGet(url(jsonPath(503, { status: "starting" })), 2000, 1024)).toMatchObject({ status: 503, body: '{"status":"starting"}' });
    const flood = await httpGet(url("/flood"), 2000, 4096);
    expect(flood).toMatchObject({ status: 200, error: "body larger than 4096 bytes" });
    expect(flood.body).toBeUndefined();
  });

  it("has no status when the connection is refused", async () => {
    const result = await httpGet(`http://127.0.0.1:${closedPort}/health`, 2000);
    expect(result).toMatchObject({ error: "ECONNREFUSED" });
    expect(result.status).toBeUndefined();
    expect(result.ms).toBeLessThan(500);
  });

  it.each([["/hang"], ["/trickle"]])("gives up on %s within its timeout", async (path) => {
    const started = performance.now();
    const result = await httpGet(url(path), 300, 1024);
    const took = performance.now() - started;
    expect(result).toMatchObject({ error: "no answer within 300 ms" });
    expect(took).toBeGreaterThanOrEqual(295);
    expect(took).toBeLessThan(450);
  });

  it("leaves no socket or timer behind once it has answered, whatever the outcome", () => {
    // In a clean node process (vitest keeps timers of its own): the active resources after
    // each probe equal those before it, and the process then exits on its own. The first
    // socket makes Node open its stderr handle once, so one probe warms up first.
    const dir = mkdtempSync(join(tmpdir(), "probe-"));
    try {
      const entry = join(dir, "entry.ts");
      writeFileSync(entry, `
        import { httpGet } from ${JSON.stringify(resolve(import.meta.dirname, "../../supervisor/supervise/http-get.ts"))};
        const targets = JSON.parse(process.argv[2]);
        (async () => {
          await httpGet(targets[0], 200, 65536);
          const lines = [];
          for (const target of targets) {
            const before = process.getActiveResourcesInfo().sort().join(",");
            const probe = httpGet(target, 200, 65536);
            const during = process.getActiveResourcesInfo().sort().join(",");
            await probe;
            const after = process.getActiveResourcesInfo().sort().join(",");
            lines.push(JSON.stringify({ target, before, during, after }));
          }
          // Printed at the end: stdout becomes a handle of its own once written to.
          console.log(lines.join("\\n"));
        })();
      `);
      buildSync({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", outfile: join(dir, "probe.cjs"), logLevel: "error" });
      const targets = [url("/200"), url("/500"), url("/hang"), url("/trickle"), url("/flood"), `http://127.0.0.1:${closedPort}/`];
      const out = execFileSync(process.execPath, [join(dir, "probe.cjs"), JSON.stringify(targets)], { encoding: "utf8", timeout: 10_000 });
      const lines = out.trim().split("\n").map((l) => JSON.parse(l) as { target: string; before: string; during: string; after: string });
      expect(lines.map((l) => l.target)).toEqual(targets);
      for (const line of lines) {
        expect(line.during).toContain("TCPSocketWrap");
        expect(line.during).toContain("Timeout");
        expect(line.after).toBe(line.before);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never throws, even for a URL it cannot use", async () => {
    await expect(httpGet("not a url", 100)).resolves.toMatchObject({ error: "not a URL: not a url" });
    await expect(httpGet("https://127.0.0.1:1/", 100)).resolves.toMatchObject({ error: expect.stringMatching(/unsupported protocol https:/) });
  });
});

describe("proveHealthy", () => {
  const urls = (health: string, probes: Partial<ProbeUrls> = {}): ProbeUrls => ({ health, liveness: health, startup: health, readiness: health, ...probes });
  const target = async (path: string) => ({
    identity: await waitFor("server identity", () => readIdentity(server.pid)),
    port: server.port,
    urls: urls(url(path)),
    mode: "http" as const,
    timeoutMs: 1000,
  });

  it("is healthy when the process is live, listens on its port and answers 200 or 401", async () => {
    for (const path of ["/200", "/401"]) {
      const verdict = await proveHealthy(await target(path));
      expect(verdict).toMatchObject({ healthy: true });
      expect(verdict.layer).toBeUndefined();
      expect(verdict.detail).toMatch(new RegExp(`pid ${server.pid} listens on port ${server.port}, GET .* answered ${path.slice(1)} in`));
    }
  });

  it("fails at the identity layer for a process that was replaced", async () => {
    const t = await target("/200");
    const verdict = await proveHealthy({ ...t, identity: { ...t.identity, startTime: t.identity.startTime - 1 } });
    expect(verdict).toEqual({ healthy: false, layer: "identity", detail: expect.stringContaining(`pid ${server.pid}`) });
  });

  it("fails at the listener layer for a live process that listens on nothing (alive but deaf)", async () => {
    const t = await target("/200");
    const verdict = await proveHealthy({ ...t, port: closedPort, urls: urls(`http://127.0.0.1:${closedPort}/`) });
    expect(verdict).toEqual({ healthy: false, layer: "listener", detail: `nothing listens on port ${closedPort}` });
  });

  it.skipIf(uid !== 0)("fails at the listener layer when another uid holds the port", async () => {
    const squatter = await startServer({ host: "0.0.0.0", uid: 65534 });
    try {
      const t = await target("/200");
      const verdict = await proveHealthy({ ...t, port: squatter.port, urls: urls(`http://127.0.0.1:${squatter.port}/200`) });
      expect(verdict).toEqual({
        healthy: false,
        layer: "listener",
        detail: `port ${squatter.port} is held by uid 65534, not by the gateway's uid ${uid}`,
      });
    } finally {
      await squatter.stop();
    }
  });

  it("health mode listener: a proven listener is enough; no listener still fails", async () => {
    const t = await target("/500");
    expect(await proveHealthy({ ...t, mode: "listener" })).toEqual({
      healthy: true,
      detail: `pid ${server.pid} listens on port ${server.port} (health mode listener)`,
    });
    expect(await proveHealthy({ ...t, mode: "listener", port: closedPort })).toMatchObject({ healthy: false, layer: "listener" });
  });

  it("health mode process: alive is enough; a replaced process still fails", async () => {
    const t = await target("/500");
    expect(await proveHealthy({ ...t, mode: "process", port: closedPort })).toEqual({
      healthy: true,
      detail: `pid ${server.pid} is alive (health mode process)`,
    });
    const replaced = { ...t.identity, startTime: t.identity.startTime - 1 };
    expect(await proveHealthy({ ...t, mode: "process", identity: replaced })).toMatchObject({ healthy: false, layer: "identity" });
  });

  it("fails at the http layer when the endpoint answers something else or nothing", async () => {
    expect(await proveHealthy(await target("/500"))).toMatchObject({ healthy: false, layer: "http", detail: expect.stringMatching(/: HTTP 500 \(/) });
    const hang = await proveHealthy({ ...(await target("/hang")), timeoutMs: 100 });
    expect(hang).toMatchObject({ healthy: false, layer: "http", detail: expect.stringMatching(/no answer within 100 ms/) });
  });

  describe("health mode probes: live AND started, judged on the JSON contract", () => {
    const LIVE = { ok: true, status: "live" };
    const probes = async (liveness: string, startup: string, readiness = jsonPath(200, { ready: true, failing: [] })) => ({
      ...(await target("/200")),
      mode: "probes" as const,
      urls: urls(url("/200"), { liveness: url(liveness), startup: url(startup), readiness: url(readiness) }),
    });

    it("is healthy when live and started, and reads readiness alongside", async () => {
      const verdict = await proveHealthy(await probes(jsonPath(200, LIVE), jsonPath(200, { ok: true, status: "started" }), jsonPath(503, { ready: false, failing: ["channel:telegram"] })));
      expect(verdict).toMatchObject({ healthy: true, startup: "started", readiness: { ready: false, failing: ["channel:telegram"] } });
    });

    it("is not healthy while the startup probe says starting or draining, and says which", async () => {
      const starting = await proveHealthy(await probes(jsonPath(200, LIVE), jsonPath(503, { ok: false, status: "starting", pendingReason: "startup-sidecars" })));
      expect(starting).toEqual({ healthy: false, layer: "startup", startup: "starting", detail: "live, but its startup probe says starting (startup-sidecars)" });
      const draining = await proveHealthy(await probes(jsonPath(200, LIVE), jsonPath(503, { ok: false, status: "draining" })));
      expect(draining).toMatchObject({ healthy: false, layer: "startup", startup: "draining" });
    });

    it("never takes a 200 page for a probe answer (a UI that answers every path)", async () => {
      const page = jsonPath(200, "<!doctype html><html>OpenClaw</html>");
      expect(await proveHealthy(await probes(page, page))).toMatchObject({ healthy: false, layer: "liveness", detail: expect.stringContaining("without the liveness contract") });
      expect(await proveHealthy(await probes(jsonPath(200, LIVE), page))).toMatchObject({ healthy: false, layer: "startup", detail: expect.stringContaining("without the startup contract") });
      const unknownReadiness = await proveHealthy(await probes(jsonPath(200, LIVE), jsonPath(200, { status: "started" }), page));
      expect(unknownReadiness).toMatchObject({ healthy: true, readiness: null });
    });

    it("fails at the liveness layer when the liveness probe does not answer", async () => {
      const verdict = await proveHealthy({ ...(await probes("/hang", "/200")), timeoutMs: 100 });
      expect(verdict).toMatchObject({ healthy: false, layer: "liveness", detail: expect.stringMatching(/no answer within 100 ms/) });
    });
  });
});
