// OpenClaw's three probes as a contract (docs/gateway/health.md of OpenClaw): what each
// answer means, judged on the status code AND the JSON body, because OpenClaw's UI answers
// any unknown path with 200 and a page. Pure: the gateway's answer in, a judgement out.
//
//   /healthz   200 {"ok":true,"status":"live"}                          the process serves
//   /startupz  200 {"status":"started"} | 503 {"status":"starting", "pendingReason"} | 503 {"status":"draining"}
//   /readyz    200 {"ready":true,"failing":[]} | 503 {"ready":false,"failing":["..."]}
import { ANSWER_JSON_LIMITS, parseBoundedJson } from "../shared/bounded-json.js";
import { isObject } from "../shared/json.js";

export type StartupPhase = "starting" | "started" | "draining";

export type Liveness = { live: true } | { live: false; why: string };
/** uptimeMs: how long this run of the gateway has been up, when it says (OpenClaw does for local callers). */
export type Startup = { phase: StartupPhase; pending?: string; uptimeMs?: number } | { phase: "unknown"; why: string };
export interface Readiness {
  ready: boolean;
  /** The subsystems the gateway names as failing (at most MAX_FAILING, each cut to MAX_NAME chars). */
  failing: string[];
}

const MAX_FAILING = 20;
const MAX_NAME = 100;

function parseObject(body: string | undefined): Record<string, unknown> | undefined {
  if (body === undefined) return undefined;
  const parsed = parseBoundedJson(body, ANSWER_JSON_LIMITS);
  return parsed.ok && isObject(parsed.value) ? parsed.value : undefined;
}

/** A short, printable piece of what the gateway said, for a log line. */
function shown(text: unknown): string {
  const line = String(text).replace(/[\u0000-\u001f\u007f]/g, " ");
  return line.length > MAX_NAME ? `${line.slice(0, MAX_NAME)}...` : line;
}

export function judgeLiveness(status: number, body: string | undefined): Liveness {
  const json = parseObject(body);
  if (status === 200 && json?.ok === true) return { live: true };
  if (json === undefined) return { live: false, why: `HTTP ${status} without the liveness contract (expected JSON {"ok":true})` };
  return { live: false, why: `HTTP ${status} ${shown(JSON.stringify(json))}` };
}

export function judgeStartup(status: number, body: string | undefined): Startup {
  const json = parseObject(body);
  const phase = json?.status;
  const uptime = typeof json?.uptimeMs === "number" && Number.isFinite(json.uptimeMs) && json.uptimeMs >= 0 ? { uptimeMs: json.uptimeMs } : {};
  if (status === 200 && phase === "started") return { phase: "started", ...uptime };
  if (status === 503 && (phase === "starting" || phase === "draining")) {
    const pending = typeof json?.pendingReason === "string" ? shown(json.pendingReason) : undefined;
    return pending === undefined ? { phase } : { phase, pending };
  }
  return { phase: "unknown", why: `HTTP ${status} without the startup contract (expected {"status":"started"|"starting"|"draining"})` };
}

/** Undefined when the answer is not the readiness contract: readiness is then unknown. */
export function judgeReadiness(status: number, body: string | undefined): Readiness | undefined {
  const json = parseObject(body);
  if (json === undefined || typeof json.ready !== "boolean" || !Array.isArray(json.failing)) return undefined;
  if ((status === 200) !== json.ready || (status !== 200 && status !== 503)) return undefined;
  const failing = json.failing.slice(0, MAX_FAILING).map(shown);
  return { ready: json.ready, failing };
}
