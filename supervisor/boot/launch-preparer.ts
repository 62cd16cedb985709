// Every launch after the first is prepared afresh, and a requested restart checks first that
// one can be (docs/gateway-states.md "Every relaunch"): config re-verified and published for
// the gateway (the config mirror first, in the mutable posture), guards re-staged, the
// gateway command executable. What the config prevents is a config error: the supervisor
// waits for the config to change instead of counting crashes.
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { errorCode, errorMessage } from "../shared/errors.js";
import type { Settings } from "../shared/settings.js";
import type { PreparedLaunch } from "../supervise/gateway-driver.js";
import { commandProblem } from "./command-check.js";
import { CONFIG_FILE, HASH_FILE, verifyConfig, type IntegrityPaths } from "./config-integrity.js";
import type { ConfigMirror } from "./config-mirror.js";
import { publishGatewayConfig, type GatewayConfigPlace } from "./gateway-config.js";
import { stageGuardedEnvironment } from "./guarded-environment.js";
import { buildLaunch, childEnvironment, type LaunchPlan } from "./launch.js";
import { guardSourcesProblem, type GuardOwner } from "./preload-guards.js";

export interface LaunchInputs {
  plan: LaunchPlan;
  settings: Settings;
  paths: IntegrityPaths;
  owner: GuardOwner;
  dropsApplied: boolean;
  place: GatewayConfigPlace;
  mirror: ConfigMirror | undefined;
}

/** A preflight that writes nothing: what a launch now would be refused for. */
export type LaunchCheck = { ok: true } | Extract<PreparedLaunch, { ok: false }>;

export class LaunchPreparer {
  private firstLaunch = true;

  constructor(private readonly inputs: LaunchInputs) {}

  /** The first call returns the launch the boot chain has just prepared. */
  readonly prepare = (): PreparedLaunch => {
    const { plan, settings, paths, owner, dropsApplied, place, mirror } = this.inputs;
    if (!this.firstLaunch) {
      mirror?.sync();
      const again = verifyConfig(paths, settings.posture);
      if (!again.ok) return { ok: false, layer: "config integrity", message: again.reason, configError: true };
      const command = commandProblem(plan.command, childEnvironment(process.env, plan));
      if (command !== undefined) return { ok: false, layer: "launch failure", message: command, configError: true };
      try {
        publishGatewayConfig(place, again.bytes);
        plan.nodeOptions = stageGuardedEnvironment(settings, owner);
      } catch (error) {
        return { ok: false, layer: "guards missing", message: errorMessage(error) };
      }
    }
    this.firstLaunch = false;
    return { ok: true, launch: buildLaunch(plan, process.env, dropsApplied) };
  };

  /** Make before break: would a launch now be possible? Reads only. */
  readonly check = (): LaunchCheck => {
    const { plan, settings, paths, owner } = this.inputs;
    const verdict = verifyConfig(paths, settings.posture, { readOnly: true });
    if (!verdict.ok) return { ok: false, layer: "config integrity", message: verdict.reason, configError: true };
    const command = commandProblem(plan.command, childEnvironment(process.env, plan));
    if (command !== undefined) return { ok: false, layer: "launch failure", message: command, configError: true };
    const guards = guardSourcesProblem(settings.preloadSourceDir, owner);
    if (guards !== undefined) return { ok: false, layer: "guards missing", message: guards };
    return { ok: true };
  };

  /** inode, size and times of the config and its hash: what a config error waits to change. */
  readonly configIdentity = (): string => {
    const { paths } = this.inputs;
    const access = paths.configAs ?? (<T>(work: () => T) => work());
    return [CONFIG_FILE, HASH_FILE]
      .map((name) => {
        try {
          const st = access(() => lstatSync(join(paths.configDir, name), { bigint: true }));
          return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
        } catch (error) {
          return errorCode(error) ?? "unreadable";
        }
      })
      .join("/");
  };
}

