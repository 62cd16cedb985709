// Is the gateway healthy (docs/gateway-states.md "What the proof means")? Layers, cheapest
// first: the process is still the one launched, it holds a LISTEN socket on its port, then
// HTTP: in the probes mode OpenClaw's liveness and startup probes (healthy means live AND
// started) with readiness read alongside, in the http mode one endpoint answering 200 or 401.
// A health mode stops after the first (process) or the second (listener) layer for gateways
// without HTTP.
import { errorReason } from "../shared/errors.js";
import { httpGet, MAX_PROBE_BODY_BYTES, type HttpAnswer } from "./http-get.js";
import { proveIdentity, type ProcessIdentity } from "./identity.js";
import { isListening, listenersOn } from "./listener.js";
import { judgeLiveness, judgeReadiness, judgeStartup, type Readiness, type StartupPhase } from "./probe-contracts.js";
import { shortageOf } from "./resources.js";
import type { HealthMode } from "../shared/settings.js";

/** 401 counts: the gateway answers, it only wants its token (docs/configuration.md, healthUrl). */
const HEALTHY_STATUS = new Set([200, 401]);

/** Where the HTTP layer asks: one URL (http mode), or the three probes (probes mode). */
export interface ProbeUrls {
  health: string;
  liveness: string;
  startup: string;
  readiness: string;
}

export interface HealthTarget {
  identity: ProcessIdentity;
  port: number;
  urls: ProbeUrls;
  /** http when absent. */
  mode?: HealthMode;
  timeoutMs: number;
  procDir?: string;
  procNetDir?: string;
}

export type HealthLayer = "identity" | "listener" | "http" | "liveness" | "startup";

export interface HealthVerdict {
  healthy: boolean;
  /** The probe could not run for want of a resource of PID 1's own: nothing is known. */
  unknown?: true;
  layer?: HealthLayer;
  detail: string;
  /** Probes mode, once the gateway is live: what its startup probe said. */
  startup?: StartupPhase;
  /** Probes mode, once started: its readiness; null when the answer was not the contract. */
  readiness?: Readiness | null;
  /** Probes mode, once started: how long this run of the gateway has been up, when it says. */
  uptimeMs?: number;
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
  const { identity, port } = target;
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
  if (target.mode === "http") return proveHealthEndpoint(target);
  return proveProbes(target);
}

/** A socket PID 1 could not open proves nothing about the gateway. */
function shortOfSockets(url: string, answer: HttpAnswer): HealthVerdict | undefined {
  if (answer.status !== undefined) return undefined;
  const short = shortageOf(answer.error);
  return short === undefined ? undefined : { healthy: false, unknown: true, detail: `PID 1 could not open a socket for GET ${url} (${short})` };
}

function noAnswer(url: string, answer: HttpAnswer): string {
  return `GET ${url}: ${answer.error ?? `HTTP ${answer.status}`} (${answer.ms} ms)`;
}

/** http mode: the one endpoint answers 200 or 401. */
async function proveHealthEndpoint(target: HealthTarget): Promise<HealthVerdict> {
  const { identity, port } = target;
  const url = target.urls.health;
  const answer = await httpGet(url, target.timeoutMs);
  const short = shortOfSockets(url, answer);
  if (short !== undefined) return short;
  if (answer.status === undefined || !HEALTHY_STATUS.has(answer.status)) return { healthy: false, layer: "http", detail: noAnswer(url, answer) };
  return { healthy: true, detail: `pid ${identity.pid} listens on port ${port}, GET ${url} answered ${answer.status} in ${answer.ms} ms` };
}

/** probes mode: live, then started; readiness is read once started, for the status only. */
async function proveProbes(target: HealthTarget): Promise<HealthVerdict> {
  const { identity, port, urls, timeoutMs } = target;
  const live = await httpGet(urls.liveness, timeoutMs, MAX_PROBE_BODY_BYTES);
  const liveShort = shortOfSockets(urls.liveness, live);
  if (liveShort !== undefined) return liveShort;
  if (live.status === undefined) return { healthy: false, layer: "liveness", detail: noAnswer(urls.liveness, live) };
  const liveness = judgeLiveness(live.status, live.body);
  if (!liveness.live) return { healthy: false, layer: "liveness", detail: `GET ${urls.liveness}: ${liveness.why}` };
  const started = await httpGet(urls.startup, timeoutMs, MAX_PROBE_BODY_BYTES);
  const startShort = shortOfSockets(urls.startup, started);
  if (startShort !== undefined) return startShort;
  if (started.status === undefined) return { healthy: false, layer: "startup", detail: noAnswer(urls.startup, started) };
  const startup = judgeStartup(started.status, started.body);
  if (startup.phase === "unknown") return { healthy: false, layer: "startup", detail: `GET ${urls.startup}: ${startup.why}` };
  if (startup.phase !== "started") {
    const pending = startup.pending === undefined ? "" : ` (${startup.pending})`;
    return { healthy: false, layer: "startup", startup: startup.phase, detail: `live, but its startup probe says ${startup.phase}${pending}` };
  }
  const ready = await httpGet(urls.readiness, timeoutMs, MAX_PROBE_BODY_BYTES);
  const readiness = ready.status === undefined ? null : (judgeReadiness(ready.status, ready.body) ?? null);
  return {
    healthy: true,
    startup: "started",
    readiness,
    ...(startup.uptimeMs !== undefined ? { uptimeMs: startup.uptimeMs } : {}),
    detail: `pid ${identity.pid} listens on port ${port}, live and started (${live.ms + started.ms} ms)`,
  };
}
