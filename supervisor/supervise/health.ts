// Is the gateway healthy (docs/gateway-states.md "What the proof means")? Three layers, cheapest first: the
// process is still the one launched, it holds a LISTEN socket on its port, and its HTTP
// health endpoint answers 200 or 401. A health mode stops after the first (process) or the
// second (listener) for gateways without HTTP.
import { type ClientRequest, request } from "node:http";
import type { ProcessIdentity } from "./identity.js";
import { proveIdentity } from "./identity.js";
import { isListening, listenersOn } from "./listener.js";
import { shortageOf } from "./resources.js";
import type { HealthMode } from "../shared/settings.js";
import { errorMessage, errorReason } from "../shared/errors.js";

export interface ProbeResult {
  ok: boolean;
  status?: number;
  error?: string;
  /** Time until the outcome was known (response headers, error or timeout). */
  ms: number;
}

/** 401 counts: the gateway answers, it only wants its token (docs/configuration.md, healthUrl). */
const HEALTHY_STATUS = new Set([200, 401]);

/**
 * GET `url` over plain HTTP within `timeoutMs` in total (connect, headers, slow trickle).
 * No agent and no keep-alive: the socket is destroyed before the promise settles, so a
 * PID 1 that probes every few seconds keeps no sockets or timers. Never throws.
 */
export function probeHealth(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ ok: false, error: `not a URL: ${url}`, ms: elapsed() });
      return;
    }
    if (target.protocol !== "http:") {
      resolve({ ok: false, error: `unsupported protocol ${target.protocol} in ${url}: expected http:`, ms: elapsed() });
      return;
    }
    let outcome: ProbeResult | undefined;
    let req: ClientRequest | undefined;
    const settle = (result: Omit<ProbeResult, "ms">): void => {
      if (outcome !== undefined) return;
      outcome = { ...result, ms: elapsed() };
      clearTimeout(timer);
      req?.destroy();
    };
    // The socket timeout only measures inactivity; this one bounds the whole exchange.
    const timer = setTimeout(() => settle({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    try {
      req = request(target, { method: "GET", agent: false, headers: { connection: "close" }, timeout: timeoutMs });
    } catch (error) {
      settle({ ok: false, error: errorMessage(error) });
      resolve(outcome!);
      return;
    }
    req.on("timeout", () => settle({ ok: false, error: `no answer within ${timeoutMs} ms` }));
    req.on("response", (res) => {
      // Destroying a response mid-body emits "error" on it; nobody wants that body.
      res.on("error", () => {});
      const status = res.statusCode ?? 0;
      settle({ ok: HEALTHY_STATUS.has(status), status });
    });
    req.on("error", (error: NodeJS.ErrnoException) => settle({ ok: false, error: error.code ?? error.message }));
    // "close" comes after the socket is gone: resolving there leaves nothing behind.
    req.on("close", () => {
      settle({ ok: false, error: "connection closed without a response" });
      resolve(outcome!);
    });
    req.end();
  });
}

export interface HealthTarget {
  identity: ProcessIdentity;
  port: number;
  url: string;
  /** http when absent. */
  mode?: HealthMode;
  timeoutMs: number;
  procDir?: string;
  procNetDir?: string;
}

export interface HealthVerdict {
  healthy: boolean;
  /** The probe could not run for want of a resource of PID 1's own: nothing is known. */
  unknown?: true;
  layer?: "identity" | "listener" | "http";
  detail: string;
}

function couldNotRun(what: string, error: unknown): HealthVerdict {
  const code = errorReason(error);
  const short = shortageOf(code);
  return { healthy: false, unknown: true, detail: `PID 1 could not ${what} (${short ?? code})` };
}

/**
 * Identity, listener and HTTP proof. A proof PID 1 cannot make (a /proc read or a socket
 * refused for want of descriptors, ports or buffers) is "unknown", never "unhealthy".
 * Never throws.
 */
export async function proveHealthy(target: HealthTarget): Promise<HealthVerdict> {
  try {
    return await proveHealthyLayers(target);
  } catch (error) {
    return couldNotRun("read /proc", error);
  }
}

async function proveHealthyLayers(target: HealthTarget): Promise<HealthVerdict> {
  const { identity, port, url, timeoutMs } = target;
  if (!proveIdentity(identity, { procDir: target.procDir })) {
    return { healthy: false, layer: "identity", detail: `pid ${identity.pid} (start time ${identity.startTime}) is gone or was replaced` };
  }
  if (target.mode === "process") return { healthy: true, detail: `pid ${identity.pid} is alive (health mode process)` };
  if (!isListening(port, identity.uid, target.procNetDir)) {
    const others = [...new Set(listenersOn(port, target.procNetDir).map((socket) => socket.uid))];
    return {
      healthy: false,
      layer: "listener",
      detail: others.length === 0
        ? `nothing listens on port ${port}`
        : `port ${port} is held by uid ${others.join(", ")}, not by the gateway's uid ${identity.uid}`,
    };
  }
  if (target.mode === "listener") return { healthy: true, detail: `pid ${identity.pid} listens on port ${port} (health mode listener)` };
  const probe = await probeHealth(url, timeoutMs);
  if (!probe.ok && probe.status === undefined && shortageOf(probe.error) !== undefined) {
    return { healthy: false, unknown: true, detail: `PID 1 could not open a socket for GET ${url} (${shortageOf(probe.error)})` };
  }
  if (!probe.ok) {
    const answer = probe.status === undefined ? probe.error : `HTTP ${probe.status}`;
    return { healthy: false, layer: "http", detail: `GET ${url}: ${answer} (${probe.ms} ms)` };
  }
  return { healthy: true, detail: `pid ${identity.pid} listens on port ${port}, GET ${url} answered ${probe.status} in ${probe.ms} ms` };
}
