// `supervisor check`: every check of a boot and of a launch, writing nothing
// (docs/supervisor-check.md). For CI, for an image build, and for an operator before a
// restart: the settings, the users and setpriv, the capabilities root mode needs, the legacy
// layout, the config against its hash, anchor and image reference, the guard sources, and
// whether the gateway command can be executed. Unlike boot it goes on after a problem, so one
// run names them all. Exit 0, or 78 with every problem.
import { writeSync } from "node:fs";
import { useNativeFs } from "../shared/dir-fd.js";
import { errorMessage } from "../shared/errors.js";
import { gatewayUidProblem, loadSettings, SettingsError, supervisorUid, withPort, type Settings } from "../shared/settings.js";
import { findUser, type UserEntry } from "../shared/users.js";
import { STATUS } from "../init/exit.js";
import { loadAddonOrExit } from "../init/run.js";
import { findSetpriv } from "../init/step-down.js";
import { checkOwnCapabilities } from "./capability-preflight.js";
import { commandProblem } from "./command-check.js";
import { verifyConfig, type ConfigAccess } from "./config-integrity.js";
import { asUser } from "./effective-user.js";
import { childEnvironment, type LaunchPlan } from "./launch.js";
import { checkLegacyLayout } from "./legacy-layout.js";
import { guardSourcesProblem } from "./preload-guards.js";
import { unwritable, writablePaths } from "./writable-paths.js";
import { DEFAULTS } from "../shared/settings.js";

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
}

/** Runs one check; a check that throws is a problem, never the end of the run. */
function run(results: CheckResult[], check: string, work: () => string | undefined, okDetail: string): void {
  try {
    const problem = work();
    results.push({ check, ok: problem === undefined, detail: problem ?? okDetail });
  } catch (error) {
    results.push({ check, ok: false, detail: errorMessage(error) });
  }
}

interface Context {
  settings: Settings;
  rootMode: boolean;
  sandbox: UserEntry | undefined;
  gateway: UserEntry | undefined;
}

function checkUsers(results: CheckResult[], ctx: Context): void {
  const { settings, rootMode } = ctx;
  run(results, "users", () => {
    if (ctx.sandbox === undefined) return `no user '${settings.sandboxUser}' (sandbox user) in /etc/passwd`;
    if (rootMode && ctx.gateway === undefined) return `no user '${settings.gatewayUser}' (gateway user) in /etc/passwd`;
    return gatewayUidProblem(ctx.gateway?.uid ?? supervisorUid(), ctx.sandbox.uid, rootMode);
  }, `sandbox ${settings.sandboxUser}${rootMode ? `, gateway ${settings.gatewayUser}` : ""}`);
  if (rootMode) run(results, "setpriv", () => (findSetpriv() === undefined ? "setpriv not found (install util-linux)" : undefined), "found");
}

function checkConfig(results: CheckResult[], ctx: Context): void {
  const { settings, rootMode } = ctx;
  const sandbox = ctx.sandbox;
  const configAs: ConfigAccess | undefined =
    rootMode && settings.posture === "mutable" && sandbox !== undefined ? <T>(work: () => T) => asUser(sandbox, work) : undefined;
  const access: ConfigAccess = configAs ?? ((work) => work());
  run(results, "legacy layout", () => {
    const layout = access(() => checkLegacyLayout(settings.configDir, settings.dataDir));
    return layout.ok ? undefined : layout.reason;
  }, `links in ${settings.configDir} stay inside ${settings.dataDir}`);
  run(results, "config", () => {
    const reference = { path: settings.configReference, required: settings.configReference !== DEFAULTS.configReference };
    const verdict = verifyConfig({ configDir: settings.configDir, stateDir: settings.stateDir, reference, ...(configAs ? { configAs } : {}) }, settings.posture, { readOnly: true });
    return verdict.ok ? undefined : verdict.reason;
  }, `${settings.configDir}/openclaw.json can be trusted (${settings.posture} posture)`);
}

function checkLaunch(results: CheckResult[], ctx: Context): void {
  const { settings, rootMode } = ctx;
  const owner = rootMode ? { uid: 0, gid: 0 } : { uid: supervisorUid(), gid: process.getgid!() };
  run(results, "preload guards", () => guardSourcesProblem(settings.preloadSourceDir, owner), `sources in ${settings.preloadSourceDir} are trusted`);
  const command = settings.gatewayCommand.map((arg) => withPort(arg, settings.gatewayPort));
  const plan: LaunchPlan = { command, user: ctx.gateway, nodeOptions: "", extraEnv: {}, cwd: "/" };
  run(results, "gateway command", () => commandProblem(command, childEnvironment(process.env, plan)), `'${command[0]}' can be executed`);
}

export function runChecks(settings: Settings, rootMode: boolean): CheckResult[] {
  const results: CheckResult[] = [];
  const ctx: Context = { settings, rootMode, sandbox: findUser(settings.sandboxUser), gateway: rootMode ? findUser(settings.gatewayUser) : undefined };
  run(results, "writable paths", () => unwritable(writablePaths(settings, rootMode)), "every path the boot writes is writable");
  if (rootMode) {
    run(results, "capabilities", () => {
      const needs = checkOwnCapabilities();
      return needs.ok ? undefined : needs.message;
    }, "what root mode needs is granted");
  }
  checkUsers(results, ctx);
  checkConfig(results, ctx);
  checkLaunch(results, ctx);
  return results;
}

function print(text: string): void {
  writeSync(1, text);
}

/** The command: settings first (nothing else can be checked without them), then everything. */
export function check(json: boolean): number {
  const uid = supervisorUid();
  let settings: Settings;
  try {
    settings = loadSettings(process.env, uid);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    const result = [{ check: "settings", ok: false, detail: error.message }];
    print(json ? `${JSON.stringify({ ok: false, checks: result })}\n` : `problem  settings: ${error.message}\n`);
    return STATUS.refused;
  }
  // The config is read the way the boot reads it: through the addon's *at() calls.
  useNativeFs(loadAddonOrExit());
  const results = [{ check: "settings", ok: true, detail: "valid" }, ...runChecks(settings, uid === 0)];
  const ok = results.every((r) => r.ok);
  if (json) print(`${JSON.stringify({ ok, checks: results })}\n`);
  else print(results.map((r) => `${r.ok ? "ok      " : "problem "} ${r.check}: ${r.detail}\n`).join(""));
  return ok ? 0 : STATUS.refused;
}
