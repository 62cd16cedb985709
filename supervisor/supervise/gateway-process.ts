// The gateway as a process: start it, pass signals to it, stop it and everything it left
// behind, and stop a gateway a previous supervisor left running. Mechanics only: when to
// do any of this is the supervisor's decision (supervisor.ts). Every signal goes through
// a re-proven identity, so a recycled pid is never hit.
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { removeFileDurable, writeFileAtomic } from "../shared/atomic-write.js";
import { log, logConfig } from "../shared/log.js";
import type { NativeAddon } from "../shared/native.js";
import type { Launch } from "../init/init-loop.js";
import type { ExitStatus } from "../init/wait-status.js";
import type { FailedLayer } from "./control-contract.js";
import { wrapGatewayOutput, type WrappedOutput } from "./gateway-output.js";
import { proveIdentity, readIdentity, signalProven, type ProcessIdentity } from "./identity.js";
import { listenersOn } from "./listener.js";
import { PortGuard } from "./port-guard.js";
import { listProcesses, strayTargets } from "./process-tree.js";
import { shortageOf } from "./resources.js";
import { errorMessage } from "../shared/errors.js";

export interface GatewayProcessOptions {
  addon: NativeAddon;
  gatewayUid: number;
  /** In non-root mode the gateway shares its uid with the sandbox user's own processes. */
  killStraysByUid: boolean;
  port: number;
  stopGraceMs: number;
  /** Where the running gateway's identity is kept across a supervisor re-exec. */
  stateFile: string;
}

export type SpawnOutcome =
  | { ok: true; identity: ProcessIdentity }
  | { ok: false; layer: FailedLayer; message: string; resource?: string };

const PORT_RELEASE_MS = 5000;
/** While a gateway drains, how often the requester hears how long is left. */
const DRAIN_REPORT_MS = 10_000;
/** After SIGKILL a process ends at once unless it is stuck in the kernel (D state). */
const EXIT_AFTER_KILL_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class GatewayProcesses {
  private readonly portGuard: PortGuard;
  /** The grace period of the stop under way, while it runs. */
  private grace: { hasten(at: number): void } | undefined;

  constructor(private readonly o: GatewayProcessOptions) {
    // Killing strays by uid is what root mode does; it is also when a squatter may be ended.
    this.portGuard = new PortGuard({ addon: o.addon, port: o.port, gatewayUid: o.gatewayUid, mayEnd: o.killStraysByUid });
  }

  /**
   * Starts the gateway in its own process group and records its identity. A port another
   * uid still holds after the guard dealt with it is a shortage to wait out, not a launch
   * to fail with EADDRINUSE and count.
   */
  spawn(launch: Launch): SpawnOutcome {
    const held = this.portGuard.check().filter((squatter) => squatter.ended.length === 0);
    if (held.length > 0) {
      const uid = held[0]!.socket.uid;
      const message = `port ${this.o.port} is held by a listener of uid ${uid}`;
      return { ok: false, layer: "launch failure", message, resource: `the gateway's port ${this.o.port} (held by uid ${uid})` };
    }
    let pid: number;
    let wrapped: WrappedOutput | undefined;
    try {
      wrapped = logConfig().gatewayOutput === "wrap" ? wrapGatewayOutput(this.o.addon) : undefined;
      pid = this.o.addon.spawnIsolated(launch.file, launch.argv, launch.envp, launch.cwd, false, wrapped?.stdio);
    } catch (error) {
      wrapped?.abandon();
      const errno = (error as { errno?: number }).errno;
      const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0];
      const resource = shortageOf(code);
      const what = errno === constants.errno.ENOENT ? "not found" : resource !== undefined ? "cannot be started" : "cannot be executed";
      const message = `'${launch.label}' ${what}: ${errorMessage(error)}`;
      return resource === undefined ? { ok: false, layer: "launch failure", message } : { ok: false, layer: "launch failure", message, resource };
    }
    wrapped?.start(pid);
    // The start time never changes over the process's life (exec included); the uid is the
    // gateway's as soon as setpriv has switched, which proveIdentity waits for.
    const startTime = readIdentity(pid)?.startTime ?? 0;
    const identity: ProcessIdentity = { pid, startTime, uid: this.o.gatewayUid };
    try {
      writeFileAtomic(this.o.stateFile, `${JSON.stringify(identity)}\n`, { mode: 0o600 });
    } catch (error) {
      log(`cannot record the gateway's identity in ${this.o.stateFile}: ${errorMessage(error)}`);
    }
    return { ok: true, identity };
  }

  /** Who, other than the gateway's uid, listens on its port now: "uid N", or undefined. */
  foreignListener(): string | undefined {
    const others = listenersOn(this.o.port).filter((socket) => socket.uid !== this.o.gatewayUid);
    return others.length > 0 ? `the gateway's port ${this.o.port} (held by uid ${others[0]!.uid})` : undefined;
  }

  /** The gateway is gone: its record must not outlive it. */
  forget(): void {
    removeFileDurable(this.o.stateFile);
  }

  /** Passes a signal on to the gateway's process group, after proving who it is. */
  forward(identity: ProcessIdentity, signal: NodeJS.Signals): void {
    if (!proveIdentity(identity)) return;
    try {
      process.kill(-identity.pid, signal);
    } catch {
      // Gone in between: its exit is on its way through the reaper.
    }
  }

  /**
   * TERM to the group, the grace period (`graceMs`: a drain budget or the short grace), then
   * SIGKILL for whatever of the tree is left. Resolves true when SIGKILL was needed (the
   * gateway did not stop within the grace).
   */
  async stop(identity: ProcessIdentity, exited: Promise<ExitStatus>, progress: (message: string) => void, graceMs = this.o.stopGraceMs): Promise<boolean> {
    if (proveIdentity(identity, { allowAnyUid: true })) {
      try {
        process.kill(-identity.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    }
    const deadline = this.graceDeadline(Date.now() + graceMs, identity.pid, progress);
    const graceful = await Promise.race([exited.then(() => true), deadline.reached.then(() => false)]);
    deadline.cancel();
    if (!graceful) progress(`gateway pid ${identity.pid} still running after ${deadline.budgetMs() / 1000}s: SIGKILL`);
    const killed = this.killTree(identity);
    if (!graceful || killed > 0) progress(`killed ${killed} remaining process(es) of the gateway`);
    // Bounded, so that a process stuck in the kernel cannot wedge a restart or the shutdown.
    const gone = await Promise.race([exited.then(() => true), sleep(EXIT_AFTER_KILL_MS).then(() => false)]);
    if (!gone) progress(`gateway pid ${identity.pid} has not exited ${EXIT_AFTER_KILL_MS / 1000}s after SIGKILL (stuck in the kernel?): going on`);
    if (!(await this.waitPortFree())) progress(`port ${this.o.port} is still in use after ${PORT_RELEASE_MS / 1000}s`);
    return !graceful;
  }

  /** The stop under way gets SIGKILL at most `graceMs` from now (PID 1 is shutting down). */
  hastenStop(graceMs: number): void {
    this.grace?.hasten(Date.now() + graceMs);
  }

  /**
   * Resolves at `at`, or earlier once hastened; while it waits, a progress line at most
   * every DRAIN_REPORT_MS says how much of the drain budget is left.
   */
  private graceDeadline(at: number, pid: number, progress: (message: string) => void): { reached: Promise<void>; cancel(): void; budgetMs(): number } {
    const started = Date.now();
    let deadline = at;
    let timer: NodeJS.Timeout | undefined;
    let resolveReached!: () => void;
    const reached = new Promise<void>((resolve) => (resolveReached = resolve));
    const arm = (): void => {
      clearTimeout(timer);
      const left = deadline - Date.now();
      if (left <= 0) return resolveReached();
      if (left > DRAIN_REPORT_MS) progress(`gateway pid ${pid} is draining, ${Math.ceil(left / 1000)} s left before SIGKILL`);
      timer = setTimeout(arm, Math.min(left, DRAIN_REPORT_MS));
    };
    this.grace = {
      hasten: (sooner) => {
        if (sooner >= deadline) return;
        deadline = sooner;
        arm();
      },
    };
    arm();
    return {
      reached,
      budgetMs: () => deadline - started,
      cancel: () => {
        clearTimeout(timer);
        this.grace = undefined;
      },
    };
  }

  /** A leftover identity from before a re-exec: stopped if it is still that process, never if the pid was recycled. */
  async stopLeftover(): Promise<void> {
    let recorded: ProcessIdentity;
    try {
      recorded = JSON.parse(readFileSync(this.o.stateFile, "utf8")) as ProcessIdentity;
    } catch {
      return;
    }
    removeFileDurable(this.o.stateFile);
    const outcome = signalProven(this.o.addon, recorded, "SIGKILL");
    // After a container restart the record is simply old (/run is not a tmpfs in Docker):
    // the pid names some other process now, which is exactly what must not be signalled.
    if (outcome === "mismatch") {
      log(`recorded gateway pid ${recorded.pid} is now another process (start time or uid differs): not signalled`);
    } else if (outcome === "signalled") {
      log(`stopped leftover gateway pid ${recorded.pid} from an earlier supervisor`);
      this.killTree(recorded);
    }
  }

  /** After the gateway ended by itself: SIGKILL to whatever it left behind; returns how many. */
  killLeftovers(identity: ProcessIdentity): number {
    return this.killTree(identity);
  }

  /** SIGKILL to the gateway's descendants, its group, and (root mode) every process of its uid. */
  private killTree(identity: ProcessIdentity): number {
    const targets = strayTargets({
      processes: listProcesses(),
      rootPid: identity.pid,
      rootStartTime: identity.startTime,
      pgrp: identity.pid,
      uid: this.o.killStraysByUid ? identity.uid : undefined,
      excludePids: [process.pid, 1],
    });
    let killed = 0;
    for (const target of targets) {
      if (signalProven(this.o.addon, target, "SIGKILL") === "signalled") killed++;
    }
    return killed;
  }

  private async waitPortFree(): Promise<boolean> {
    const deadline = Date.now() + PORT_RELEASE_MS;
    while (listenersOn(this.o.port).length > 0) {
      if (Date.now() > deadline) return false;
      await sleep(10);
      this.portGuard.check();
    }
    return true;
  }
}
