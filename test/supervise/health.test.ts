// The HTTP probe and the three-layer health proof (docs/gateway-states.md "What the proof means") against real
// servers. The servers run in child processes, so this process's active resources show
// exactly what a probe leaves behind.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeHealth, proveHealthy } from "../../supervisor/supervise/health.js";
import { readIdentity } from "../../supervisor/supervise/identity.js";
import { startServer, type TestServer } from "../helpers/http-server.js";
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

describe("probeHealth", () => {
  it.each([
    [200, true],
    [401, true],
    [500, false],
    [404, false],
    [302, false],
  ])("HTTP %i is ok=%s", async (status, ok) => {
    const result = await probeHealth(url(`/${status}`), 2000);
    expect(result).toMatchObject({ ok, status });
    expect(result.error).toBeUndefined();
  });

  it("is not ok when the connection is refused", async () => {
    const result = await probeHealth(`http://127.0.0.1:${closedPort}/health`, 2000);
    expect(result).toMatchObject({ ok: false, error: "ECONNREFUSED" });
    expect(result.ms).toBeLessThan(500);
  });

  it.each([["/hang"], ["/trickle"]])("gives up on %s within its timeout", async (path) => {
    const started = performance.now();
    const result = await probeHealth(url(path), 300);
    const took = performance.now() - started;
    expect(result).toMatchObject({ ok: false, error: "no answer within 300 ms" });
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
        import { probeHealth } from ${JSON.stringify(resolve(import.meta.dirname, "../../supervisor/supervise/health.ts"))};
        const targets = JSON.parse(process.argv[2]);
        (async () => {
          await probeHealth(targets[0], 200);
          const lines = [];
          for (const target of targets) {
            const before = process.getActiveResourcesInfo().sort().join(",");
            const probe = probeHealth(target, 200);
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
      const targets = [url("/200"), url("/500"), url("/hang"), url("/trickle"), `http://127.0.0.1:${closedPort}/`];
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
    await expect(probeHealth("not a url", 100)).resolves.toMatchObject({ ok: false, error: "not a URL: not a url" });
    await expect(probeHealth("https://127.0.0.1:1/", 100)).resolves.toMatchObject({ ok: false, error: expect.stringMatching(/unsupported protocol https:/) });
  });
});

describe("proveHealthy", () => {
  const target = async (path: string) => ({
    identity: await waitFor("server identity", () => readIdentity(server.pid)),
    port: server.port,
    url: url(path),
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
    const verdict = await proveHealthy({ ...t, port: closedPort, url: `http://127.0.0.1:${closedPort}/` });
    expect(verdict).toEqual({ healthy: false, layer: "listener", detail: `nothing listens on port ${closedPort}` });
  });

  it.skipIf(uid !== 0)("fails at the listener layer when another uid holds the port", async () => {
    const squatter = await startServer({ host: "0.0.0.0", uid: 65534 });
    try {
      const t = await target("/200");
      const verdict = await proveHealthy({ ...t, port: squatter.port, url: `http://127.0.0.1:${squatter.port}/200` });
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
});
