// The command line of `npm run crash-states` (test/crash-states/crash-states.mjs runs this).
// Exit 0 only when the supervisor shows no violation and every broken writer is caught.
import { existsSync } from "node:fs";
import { arch, availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BROKEN_WRITERS } from "./broken-writers.js";
import { DURABLE_PATHS, durablePath } from "./durable-paths.js";
import { explore, type ExploreOptions, type Plan } from "./explorer.js";
import { DEFAULT_MODEL } from "./persistence.js";
import { report, totals } from "./report.js";
import { SCENARIOS, scenario } from "./scenarios.js";
import { REPO } from "./scratch-root.js";

const USAGE = `Usage: npm run crash-states -- [--short] [--scenario NAME]... [--path NAME]... [--concurrency N]

Records each durable write path of a real 'supervisor boot', enumerates every state a crash
can leave under the persistence model of docs/crash-states.md, boots the supervisor on each,
and does the same with two broken writers, which must be caught.

  --short          the subset npm test runs: a restart's config, anchor and token paths, a
                   first boot's anchor path, and
                   each broken writer on the path it breaks first
  --scenario NAME  only this scenario (${SCENARIOS.map((s) => s.name).join(", ")}); repeatable
  --path NAME      only this path (${DURABLE_PATHS.map((p) => p.name).join(", ")}); repeatable
  --concurrency N  boots at a time (default: up to 2)`;

type Selection = Pick<ExploreOptions, "real" | "broken">;

/** The subset the test suite runs: small, and still catches both broken writers. */
export const SHORT: Selection = {
  real: [
    { scenarios: [scenario("restart")], paths: ["config", "anchor", "token"].map(durablePath) },
    // The first boot creates the state directory: the path its durability bug hid on.
    { scenarios: [scenario("first-boot")], paths: ["anchor"].map(durablePath) },
  ],
  broken: { scenarios: [scenario("restart")], paths: (writer) => [durablePath(writer.breaks)] },
};

export const FULL: Selection = {
  real: [{ scenarios: SCENARIOS, paths: DURABLE_PATHS }],
  broken: { scenarios: [scenario("restart")], paths: () => DURABLE_PATHS },
};

export function supervisorExecutable(): string {
  const file = process.env.SUPERVISOR_BIN ?? join(REPO, `dist/supervisor-linux-${arch()}`);
  if (!existsSync(file)) throw new Error(`${file} does not exist: run 'node build.mjs' first`);
  return file;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        short: { type: "boolean" },
        scenario: { type: "string", multiple: true },
        path: { type: "string", multiple: true },
        concurrency: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return fail(`${(error as Error).message.split("\n")[0]}; try --help`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    if (process.getuid?.() !== 0) throw new Error("must run as root: it mounts a scratch root and boots the supervisor as PID 1 of new namespaces");
    const concurrency = values.concurrency === undefined ? Math.min(2, availableParallelism()) : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error(`--concurrency '${values.concurrency}': expected a whole number from 1 to 64`);
    const plan = values.short ? SHORT : FULL;
    // A --scenario or --path makes one plan: the named ones, crossed with all of the other kind.
    const real: readonly Plan[] =
      values.scenario === undefined && values.path === undefined
        ? plan.real
        : [{ scenarios: values.scenario?.map(scenario) ?? SCENARIOS, paths: values.path?.map(durablePath) ?? DURABLE_PATHS }];
    const started = Date.now();
    const result = await explore({
      binary: supervisorExecutable(),
      real,
      brokenWriters: BROKEN_WRITERS,
      broken: plan.broken,
      concurrency,
      model: DEFAULT_MODEL,
      progress: (line) => console.log(line),
    });
    console.log(report(result, (Date.now() - started) / 1000).join("\n"));
    const t = totals(result);
    return t.violations === 0 && t.caught === t.writers ? 0 : 1;
  } catch (error) {
    return fail((error as Error).message);
  }
}

function fail(message: string): number {
  console.error(`crash-states: ${message}`);
  return 2;
}
