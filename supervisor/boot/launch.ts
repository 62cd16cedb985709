// Boot step 6: the prepared launch of the gateway (or of a one-shot command) as an
// unprivileged user, and the check of the real child's capabilities once it runs.
import { readFileSync } from "node:fs";
import { CHILD_BOUNDING_DROPS, CHILD_MUST_NOT_HAVE, presentIn, readCapabilities, parseStatusCapabilities, type CapabilityName } from "../shared/capabilities.js";
import { envArray } from "../init/child-command.js";
import { realFileProbe, resolveCommand } from "../init/resolve-command.js";
import type { Launch } from "../init/init-loop.js";
import { stepDownArgv, userEnvironment } from "../init/step-down.js";
import { log } from "../shared/log.js";
import type { UserEntry } from "../shared/users.js";

/** Variables that are the supervisor's business only and never reach a child. */
const PRIVATE_VARIABLES = /^(SUPERVISOR_|OPENCLAW_GATEWAY_TOKEN$|NODE_OPTIONS$)/;

/** Set only in the gateway's environment: the preload guards act only where it is "1". */
export const GATEWAY_MARKER = "NEMOCLAW_GATEWAY";

export interface LaunchPlan {
  command: string[];
  /** Step down to this user (root mode), or run as the supervisor's own user. */
  user?: UserEntry;
  setpriv?: string;
  nodeOptions: string;
  /** Extra variables (the gateway marker; the token in non-root mode). */
  extraEnv: Record<string, string>;
  cwd: string;
  /** Capabilities the child gets as ambient ones: the gateway's net_bind_service (gatewayNetBindService). */
  ambient?: readonly CapabilityName[];
  /** Removed from the child's bounding set besides CHILD_BOUNDING_DROPS: what PID 1 kept for the gateway alone. */
  extraDrops?: readonly CapabilityName[];
}

/** What PID 1 keeps of its own must-drop capabilities, for the gateway alone. */
export function keptForGateway(gatewayNetBindService: boolean): CapabilityName[] {
  return gatewayNetBindService ? ["net_bind_service"] : [];
}

/** Whether setpriv can shrink the child's bounding set: it needs CAP_SETPCAP. */
export function canDropChildCapabilities(): boolean {
  return readCapabilities().effective.has("setpcap");
}

/**
 * Must-drop capabilities a child launched now would keep (predicted from PID 1's sets),
 * except `allowed` (kept on purpose for the gateway; every other child drops them).
 */
export function predictedResidual(dropsApplied: boolean, allowed: readonly string[] = []): string[] {
  const bounding = new Set(readCapabilities().bounding);
  if (dropsApplied) for (const cap of [...CHILD_BOUNDING_DROPS, ...allowed]) bounding.delete(cap);
  return presentIn(bounding, CHILD_MUST_NOT_HAVE);
}

export function childEnvironment(base: NodeJS.ProcessEnv, plan: LaunchPlan): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!PRIVATE_VARIABLES.test(key)) env[key] = value;
  const withUser = plan.user ? userEnvironment(env, plan.user) : env;
  return { ...withUser, NODE_OPTIONS: plan.nodeOptions, ...plan.extraEnv };
}

export function buildLaunch(plan: LaunchPlan, base: NodeJS.ProcessEnv, dropBounding: boolean): Launch {
  const env = envArray(childEnvironment(base, plan));
  if (plan.user === undefined) {
    // No setpriv in between (non-root mode): the PATH lookup is ours, with execvp's rules.
    const childEnv = childEnvironment(base, plan);
    const resolved = resolveCommand(plan.command[0]!, childEnv.PATH, realFileProbe);
    const file = "file" in resolved ? resolved.file : plan.command[0]!;
    return { file, argv: plan.command, envp: env, cwd: plan.cwd, label: plan.command[0]! };
  }
  const argv = stepDownArgv(
    plan.setpriv!,
    { user: plan.user, dropBounding: dropBounding ? [...CHILD_BOUNDING_DROPS, ...(plan.extraDrops ?? [])] : [], ambient: plan.ambient },
    plan.command,
  );
  return { file: plan.setpriv!, argv, envp: env, cwd: plan.cwd, label: plan.command[0]! };
}

function statusText(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The must-drop capabilities in the real child's bounding set, read from /proc once setpriv
 * has handed over to the command (its comm is no longer "setpriv"). Undefined if the child
 * is already gone.
 */
export async function childResidualCapabilities(pid: number, timeoutMs = 2000, allowed: readonly string[] = []): Promise<string[] | undefined> {
  const deadline = Date.now() + timeoutMs;
  let text = statusText(pid);
  while (text !== undefined && /^Name:\s*setpriv$/m.test(text) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    text = statusText(pid);
  }
  if (text === undefined) return undefined;
  return presentIn(parseStatusCapabilities(text).bounding, CHILD_MUST_NOT_HAVE).filter((cap) => !allowed.includes(cap));
}

/** Logs the capabilities the real child kept; resolves with them (undefined if it is gone). */
export async function reportChildCapabilities(role: string, pid: number, allowed: readonly string[] = []): Promise<string[] | undefined> {
  const kept = await childResidualCapabilities(pid, undefined, allowed);
  if (kept === undefined) return undefined;
  if (kept.length === 0) log(`capabilities: ${role} pid ${pid} has none of the must-drop capabilities in its bounding set`);
  else log(`capabilities: ${role} pid ${pid} keeps ${kept.map((c) => `cap_${c}`).join(", ")} in its bounding set`, "[SECURITY]");
  return kept;
}
