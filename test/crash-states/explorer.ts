// The explorer: for each program (the real supervisor, each broken writer) and scenario,
// prepare the scratch root, record one boot, enumerate the crash states of each durable
// write path under the persistence model, and check each distinct state by booting the
// program on it. A state several paths share is booted once and counted for each.
import { copyFileSync, chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE } from "../../supervisor/boot/config-integrity.js";
import { buildBrokenSupervisor, type BrokenWriter } from "./broken-writers.js";
import { checkState, type Expectation, type Outcome, type Verdict, type Version } from "./checker.js";
import { ALL_TARGETS, selects, type DurablePath } from "./durable-paths.js";
import { crashStates, type CrashState, type ModelOptions } from "./persistence.js";
import { bootOn, lastLogLine, type Program } from "./pid1-boot.js";
import { recordBoot, type Recording } from "./recorder.js";
import type { Scenario } from "./scenarios.js";
import { createBase, LAYOUT, removeBase, type Base } from "./scratch-root.js";

export interface Plan {
  scenarios: readonly Scenario[];
  paths: readonly DurablePath[];
}

export interface ExploreOptions {
  /** The supervisor executable under test. */
  binary: string;
  /** The real supervisor's plans: each scenario of a plan on each of its paths. */
  real: readonly Plan[];
  brokenWriters: readonly BrokenWriter[];
  broken: { scenarios: readonly Scenario[]; paths: (writer: BrokenWriter) => readonly DurablePath[] };
  concurrency: number;
  model: ModelOptions;
  progress: (line: string) => void;
}

export interface Violation {
  state: string;
  problems: string[];
}

export interface PathResult {
  program: string;
  scenario: string;
  path: string;
  states: number;
  outcomes: Record<Outcome, number>;
  /** Boots that first completed or rolled back an interrupted config write. */
  finished: number;
  violations: Violation[];
}

export interface ExploreResult {
  real: PathResult[];
  broken: Array<{ writer: BrokenWriter; results: PathResult[] }>;
  /** Boots run to check states (recordings and their setup aside). */
  boots: number;
}

export async function explore(options: ExploreOptions): Promise<ExploreResult> {
  const base = createBase();
  try {
    const binary = join(base.bin, "supervisor");
    copyFileSync(options.binary, binary);
    chmodSync(binary, 0o755);
    const counter = { boots: 0 };
    const real: PathResult[] = [];
    for (const plan of options.real) {
      for (const scenario of plan.scenarios) {
        real.push(...(await exploreScenario(base, { name: "supervisor", argv: [binary] }, scenario, plan.paths, options, counter)));
      }
    }
    const broken: ExploreResult["broken"] = [];
    for (const writer of options.brokenWriters) {
      const program = await buildBrokenSupervisor(writer, join(base.bin, `${writer.name}.cjs`));
      const results: PathResult[] = [];
      for (const scenario of options.broken.scenarios) results.push(...(await exploreScenario(base, program, scenario, options.broken.paths(writer), options, counter)));
      broken.push({ writer, results });
    }
    return { real, broken, boots: counter.boots };
  } finally {
    removeBase(base);
  }
}

async function exploreScenario(
  base: Base,
  program: Program,
  scenario: Scenario,
  paths: readonly DurablePath[],
  options: ExploreOptions,
  counter: { boots: number },
): Promise<PathResult[]> {
  const started = Date.now();
  const dir = join(base.states, `recording-${program.name}-${scenario.name}`);
  let recording: Recording;
  try {
    await scenario.prepare(base, dir, async () => {
      const run = await bootOn(base, dir, program, { posture: scenario.posture });
      if (run.status !== 0) throw new Error(`${scenario.name}: the boot that prepares it exited with ${run.status}: ${lastLogLine(run)}`);
    });
    recording = await recordBoot(base, dir, program, scenario.posture);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const expectation = expectationOf(recording, scenario.posture);
  const perPath = paths.map((path) => ({ path, ...crashStates(recording.pre, recording.ops, (op) => selects(path, op), options.model) }));
  const distinct = new Map<string, CrashState>();
  for (const { states } of perPath) for (const state of states) if (!distinct.has(state.digest)) distinct.set(state.digest, state);
  const largest = Math.max(0, ...perPath.map((p) => p.largestPoint));
  const verdicts = new Map<string, Verdict>();
  const queue = [...distinct.values()];
  await pool(queue, options.concurrency, async (state, i) => {
    verdicts.set(state.digest, await checkState(base, program, expectation, state.tree, `check-${program.name}-${scenario.name}-${i}`));
  });
  counter.boots += queue.length;
  options.progress(
    `${program.name} / ${scenario.name}: ${recording.ops.length} operations recorded, at most ${largest} combinations at one crash point, ` +
      `${distinct.size} distinct crash states booted in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return perPath.map(({ path, states }) => summarise(program.name, scenario.name, path.name, states, verdicts));
}

function summarise(program: string, scenario: string, path: string, states: CrashState[], verdicts: Map<string, Verdict>): PathResult {
  const result: PathResult = { program, scenario, path, states: states.length, outcomes: { old: 0, new: 0, recovered: 0, violation: 0 }, finished: 0, violations: [] };
  for (const state of states) {
    const verdict = verdicts.get(state.digest)!;
    result.outcomes[verdict.outcome]++;
    if (/interrupted-write/.test(verdict.note)) result.finished++;
    if (verdict.outcome === "violation") result.violations.push({ state: state.description, problems: verdict.problems });
  }
  return result;
}

/** Old and new config, and every whole version each target file had during the recorded run. */
export function expectationOf(recording: Recording, posture: Expectation["posture"]): Expectation {
  const configPath = `${LAYOUT.configDir}/${CONFIG_FILE}`;
  const file = (tree: Recording["pre"], path: string) => {
    const id = tree.resolve(path);
    return id === undefined ? undefined : tree.node(id);
  };
  const versions = new Map<string, Version[]>();
  for (const target of ALL_TARGETS) {
    const before = file(recording.pre, target);
    const list: Version[] = [before === undefined ? { absent: true } : { absent: false, data: before.data, mode: before.mode, uid: before.uid, gid: before.gid }];
    for (const { op, names } of recording.ops) {
      if (op.kind === "remove" && names[0] === target) list.push({ absent: true });
      if (op.kind !== "rename" && op.kind !== "create" && op.kind !== "link") continue;
      if ((op.kind === "rename" ? names[1] : names[0]) !== target) continue;
      const node = recording.final.node(op.node);
      list.push({ absent: false, data: node.data, mode: node.mode, uid: node.uid, gid: node.gid });
    }
    versions.set(target, list);
  }
  return {
    posture,
    oldConfig: file(recording.pre, configPath)?.data ?? Buffer.alloc(0),
    newConfig: file(recording.final, configPath)?.data ?? Buffer.alloc(0),
    versions,
  };
}

/** Runs work over items, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
