// OpenClaw's restart handoff (docs/cli/gateway/restart-and-supervision.md of OpenClaw,
// "External supervisors"): without OPENCLAW_NO_RESPAWN, a gateway that restarts itself exits
// 0 after writing a bounded handoff, and the external supervisor asks the same runtime
// whether that exit was the restart it asked for:
//   <command> capabilities --json                     protocol and operations it supports
//   <command> consume --expected-pid PID --json       {"status":"accepted",...} or none/rejected
// An accepted handoff is deleted before it is answered, so it cannot be replayed. The CLI
// starts slowly (OpenClaw's whole CLI: 6 s of CPU, 10-40 s on a loaded host), so it runs
// only when such an exit happens, with a generous bound, and capabilities once per PID 1.
// The answers are the gateway user's output: bounded, parsed as hostile input.
import type { Launch } from "../init/init-loop.js";
import { firstLine } from "../shared/errors.js";
import { ANSWER_JSON_LIMITS, parseBoundedJson } from "../shared/bounded-json.js";
import { isObject } from "../shared/json.js";

export const HANDOFF_PROTOCOL = "openclaw.gateway.restart-handoff";
export const HANDOFF_PROTOCOL_VERSION = 1;
const MAX_OUTPUT_BYTES = 64 * 1024;

export interface HandoffVerdict {
  accepted: boolean;
  detail: string;
}

function parse(stdout: string): Record<string, unknown> | undefined {
  const parsed = parseBoundedJson(stdout, ANSWER_JSON_LIMITS);
  return parsed.ok && isObject(parsed.value) ? parsed.value : undefined;
}

/** Pure: undefined when the runtime speaks protocol 1 with consume, else why not. */
export function judgeCapabilities(stdout: string): string | undefined {
  const answer = parse(stdout);
  if (answer === undefined) return "capabilities did not answer JSON";
  if (answer.protocol !== HANDOFF_PROTOCOL) return `capabilities name protocol ${JSON.stringify(answer.protocol)}, expected ${HANDOFF_PROTOCOL}`;
  if (answer.protocolVersion !== HANDOFF_PROTOCOL_VERSION) return `capabilities name protocol version ${JSON.stringify(answer.protocolVersion)}, expected ${HANDOFF_PROTOCOL_VERSION}`;
  if (!Array.isArray(answer.operations) || !answer.operations.includes("consume")) return "capabilities do not include consume";
  return undefined;
}

/** Pure: whether `consume` accepted a handoff of exactly `expectedPid`. */
export function judgeConsume(stdout: string, expectedPid: number): HandoffVerdict {
  const answer = parse(stdout);
  if (answer === undefined) return { accepted: false, detail: "consume did not answer JSON" };
  const status = String(answer.status);
  const reason = typeof answer.reason === "string" ? `/${answer.reason}` : "";
  if (status !== "accepted") return { accepted: false, detail: `consume answered ${status}${reason}`.slice(0, 200) };
  const handoff = isObject(answer.handoff) ? answer.handoff : {};
  if (handoff.pid !== expectedPid) return { accepted: false, detail: `consume accepted a handoff of pid ${JSON.stringify(handoff.pid)}, expected ${expectedPid}` };
  const why = [handoff.reason, handoff.source].filter((part) => typeof part === "string").join(", ");
  return { accepted: true, detail: why.slice(0, 200) || "no reason given" };
}

/** Runs one handoff command (argv built by the boot chain, as the gateway user); resolves with its stdout. */
async function run(launch: Launch, timeoutMs: number): Promise<{ stdout: string } | { error: string }> {
  const { execFile } = await import("node:child_process");
  const env = Object.fromEntries(launch.envp.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
  return new Promise((resolve) => {
    execFile(
      launch.file,
      launch.argv.slice(1),
      { env, cwd: launch.cwd, timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, killSignal: "SIGKILL" },
      (error, stdout) => {
        // consume answers JSON with a non-zero status too (invalid pid 2, store unavailable 1).
        if (error && !stdout) resolve({ error: firstLine(error) });
        else resolve({ stdout: String(stdout) });
      },
    );
  });
}

/** Asks the gateway's runtime, once per supervisor, then for each exit 0: was it a restart? */
export class RestartHandoff {
  private capable: Promise<string | undefined> | undefined;

  constructor(
    private readonly launchFor: (args: string[]) => Launch,
    private readonly timeoutMs: number,
  ) {}

  async consume(pid: number): Promise<HandoffVerdict> {
    this.capable ??= run(this.launchFor(["capabilities", "--json"]), this.timeoutMs).then((out) =>
      "error" in out ? `capabilities failed: ${out.error}` : judgeCapabilities(out.stdout),
    );
    const refusal = await this.capable;
    // A runtime that failed to answer may answer next time; one that refused will not.
    if (refusal?.startsWith("capabilities failed")) this.capable = undefined;
    if (refusal !== undefined) return { accepted: false, detail: refusal };
    const out = await run(this.launchFor(["consume", "--expected-pid", String(pid), "--json"]), this.timeoutMs);
    return "error" in out ? { accepted: false, detail: `consume failed: ${out.error}` } : judgeConsume(out.stdout, pid);
  }
}
