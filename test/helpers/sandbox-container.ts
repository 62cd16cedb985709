// Shared by the container tests of `supervisor boot`: containers of the test image,
// observed from outside (docker logs, docker exec, the host's /proc).
import { readFileSync } from "node:fs";
import { afterAll, expect } from "vitest";
import { decodeCapabilityMask } from "../../supervisor/shared/capabilities.js";
import { docker, exec, removeContainer, startContainer, uniqueName, waitFor } from "./docker.js";

export const CONFIG = "/sandbox/.openclaw/openclaw.json";
export const LISTENING = "[test-gateway] listening on 127.0.0.1:18789";

/** Names of containers to remove after the file's tests; call once per test file. */
export function containerTracker(prefix: string): (name?: string) => string {
  const containers: string[] = [];
  afterAll(async () => {
    for (const name of containers) await removeContainer(name);
  });
  return (name = uniqueName(prefix)) => {
    containers.push(name);
    return name;
  };
}

export async function logs(name: string): Promise<string> {
  const result = await docker(["logs", name]);
  return result.stdout + result.stderr;
}

/** Resolves once `text` has appeared `times` times in the container's log. */
export async function waitForLog(name: string, text: string, times = 1, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await logs(name)).split(text).length - 1 >= times, timeoutMs, 100).catch(async (error) => {
    throw new Error(`${(error as Error).message}\n--- logs of ${name}:\n${await logs(name)}`);
  });
}

export async function bootGateway(track: (name?: string) => string, image: string, runArgs: string[] = [], timeoutMs = 30_000): Promise<string> {
  const name = track();
  await startContainer(name, [...runArgs, image]);
  await waitForLog(name, LISTENING, 1, timeoutMs);
  return name;
}

export async function configToken(name: string): Promise<string> {
  const result = await exec(name, ["cat", CONFIG]);
  return (JSON.parse(result.stdout) as { gateway: { auth: { token: string } } }).gateway.auth.token;
}

export async function hostPid(name: string): Promise<number> {
  const result = await docker(["inspect", "-f", "{{.State.Pid}}", name]);
  return Number(result.stdout.trim());
}

/** Host pids of the children of a host process (PID 1 of a container: its gateway). */
export function hostChildren(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

/** Host pid of the gateway: the one child of the container's PID 1. */
export function hostChildPid(pid1: number): number {
  const children = hostChildren(pid1);
  expect(children).toHaveLength(1);
  return children[0]!;
}

export function boundingSet(hostProcessPid: number): Set<string> {
  const status = readFileSync(`/proc/${hostProcessPid}/status`, "utf8");
  return decodeCapabilityMask(/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]!);
}

/**
 * Waits until `readStatus` reports a healthy gateway (other than `notPid`, after a restart);
 * on timeout the error carries the last report and the container's log.
 */
export async function waitForHealthy<S extends { state: string; gateway: { pid: number } | null }>(
  name: string,
  readStatus: (name: string) => Promise<S>,
  notPid?: number,
  timeoutMs = 30_000,
): Promise<S> {
  let last: S | undefined;
  await waitFor(async () => {
    last = await readStatus(name);
    return last.state === "healthy" && last.gateway !== null && last.gateway.pid !== notPid;
  }, timeoutMs, 100).catch(async (error) => {
    throw new Error(`${(error as Error).message}; last status ${JSON.stringify(last)}\n${await logs(name)}`);
  });
  return last!;
}
