// The two container engines sandboxctl speaks to, as the tests drive them: the same calls
// (run a container of the test image, exec, inspect, remove) through the docker or the
// podman CLI, so one suite of sandboxctl tests runs against both.
//
// Podman gets the test image from Docker (`docker save | podman load`, the way images move
// between the two on a host), reloaded only when Docker's image id changed. Podman on the
// test hosts needs /etc/containers/containers.conf with runtime = "runc", cgroup_manager =
// "cgroupfs" and default_ulimits = [] (test/container/prepare-host.sh writes it).
import { spawnSync } from "node:child_process";
import { ensureTestImage, runCli, uniqueName, waitFor, type RunResult } from "../helpers/docker.js";

export type EngineName = "docker" | "podman";

export interface TestEngine {
  name: EngineName;
  /** The engine's CLI with `args`; never throws for a non-zero exit. */
  cli(args: readonly string[], input?: string): Promise<RunResult>;
  /** The test image's name in this engine. */
  image(): string;
  /** `run -d --network none --name NAME ARGS...`; returns the name. */
  start(name: string, args: readonly string[]): Promise<string>;
  exec(name: string, command: readonly string[]): Promise<RunResult>;
  logs(name: string): Promise<string>;
  remove(name: string): Promise<void>;
}

function cli(engine: EngineName, args: readonly string[], input?: string, timeoutMs = 180_000): Promise<RunResult> {
  return runCli(engine, args, { timeoutMs, ...(input !== undefined ? { input } : {}) });
}

/** Why podman cannot run the tests here, or undefined when it can. */
export function podmanMissing(): string | undefined {
  const version = spawnSync("podman", ["--version"], { encoding: "utf8", timeout: 20_000 });
  if (version.error !== undefined || version.status !== 0) return "podman is not installed (apt-get install podman; see test/container/prepare-host.sh)";
  const info = spawnSync("podman", ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { encoding: "utf8", timeout: 60_000 });
  if (info.status !== 0) return `podman info failed: ${(info.stderr ?? "").trim().split("\n")[0] ?? ""}`;
  return undefined;
}

function imageId(engine: EngineName, image: string): string {
  const result = spawnSync(engine, ["image", "inspect", "--format", "{{.Id}}", image], { encoding: "utf8", timeout: 60_000 });
  return result.status === 0 ? result.stdout.trim().replace(/^sha256:/, "") : "";
}

let podmanImage: string | undefined;

/** The test image in podman: Docker's, loaded when podman lacks it or has another one. */
function podmanTestImage(): string {
  if (podmanImage !== undefined) return podmanImage;
  const tag = ensureTestImage("amd64");
  const name = `localhost/${tag}`;
  const wanted = imageId("docker", tag);
  if (imageId("podman", name) !== wanted) {
    const load = spawnSync("sh", ["-c", 'docker save "$1" | podman load', "sh", tag], { encoding: "utf8", timeout: 600_000 });
    if (load.status !== 0) throw new Error(`docker save ${tag} | podman load failed: ${load.stderr}`);
    if (imageId("podman", name) !== wanted) throw new Error(`podman has no ${name} with id ${wanted} after loading it`);
  }
  return (podmanImage = name);
}

export function testEngine(name: EngineName): TestEngine {
  const engine: TestEngine = {
    name,
    cli: (args, input) => cli(name, args, input),
    image: () => (name === "docker" ? ensureTestImage("amd64") : podmanTestImage()),
    async start(container, args) {
      // podman runs a HEALTHCHECK through systemd timers, which this host does not have.
      const extra = name === "podman" ? ["--no-healthcheck"] : [];
      const result = await cli(name, ["run", "-d", "--name", container, "--network", "none", ...extra, ...args]);
      if (result.code !== 0) throw new Error(`${name} run -d ${container} failed (${String(result.code)}): ${result.stderr.trim()}`);
      return container;
    },
    exec: (container, command) => cli(name, ["exec", container, ...command]),
    async logs(container) {
      const result = await cli(name, ["logs", container]);
      return result.stdout + result.stderr;
    },
    async remove(container) {
      // podman rm waits 10 s for a PID 1 that ignores TERM (sleep) unless told not to.
      await cli(name, ["rm", "--force", ...(name === "podman" ? ["--time", "0"] : []), container], undefined, 60_000);
    },
  };
  return engine;
}

/** Names of containers to remove after the file's tests. */
export function tracker(engine: TestEngine, prefix: string): { next(): string; removeAll(): Promise<void> } {
  const names: string[] = [];
  return {
    next() {
      const name = uniqueName(prefix);
      names.push(name);
      return name;
    },
    async removeAll() {
      for (const name of names.splice(0)) await engine.remove(name);
    },
  };
}

export async function waitForLogIn(engine: TestEngine, name: string, text: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await engine.logs(name)).includes(text), timeoutMs, 100).catch(async (error) => {
    throw new Error(`${(error as Error).message}\n--- logs of ${name}:\n${await engine.logs(name)}`);
  });
}
