// `supervisor run` as PID 1 of real Docker containers (amd64, and arm64 under qemu).
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  arm64TestsEnabled,
  docker,
  dockerAvailable,
  ensureTestImage,
  removeContainer,
  runContainer,
  startContainer,
  testImageTag,
  uniqueName,
  waitFor,
} from "../helpers/docker.js";
import { pid1Behaviours } from "../helpers/pid1-behaviours.js";
import { FIXTURES, Started } from "../helpers/pid1.js";

const BUILD_TIMEOUT_MS = 15 * 60_000;
const SUPERVISOR = "/usr/local/bin/supervisor";

// A signal that reaches PID 1 before its handlers exist is dropped by the kernel (PID 1
// ignores signals it has no handler for), so stop only once the child said it is ready.
async function waitUntilReady(name: string): Promise<void> {
  await waitFor(async () => (await docker(["logs", name])).stdout.includes("ready"), 30_000);
}

/** `docker run ... IMAGE <supervisor args>` with the fixtures mounted at /fixtures. */
function startInContainer(image: string, platform: string) {
  return (args: string[], options: { cwd?: string } = {}): Started => {
    const name = uniqueName();
    const child = spawn(
      "docker",
      [
        "run", "--rm", "--name", name, "--network", "none", "--platform", platform,
        "-v", `${FIXTURES}:/fixtures:ro`, ...(options.cwd ? ["-w", options.cwd] : []),
        "--entrypoint", SUPERVISOR, image, ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    return new Started(child, async (signal) => {
      const result = await docker(["kill", "--signal", signal, name]);
      if (result.code !== 0) throw new Error(`docker kill ${name}: ${result.stderr}`);
    });
  };
}

describe.skipIf(!dockerAvailable())("supervisor run as PID 1 of a Docker container (amd64)", () => {
  const image = () => ensureTestImage("amd64");
  it("builds the test image", () => expect(image()).toBe(testImageTag("amd64")), BUILD_TIMEOUT_MS);

  pid1Behaviours({
    start: (args, options) => startInContainer(image(), "linux/amd64")(args, options),
    fixtures: "/fixtures",
    users: [
      { name: "sandbox", uid: 1000, gid: 1000, groups: [1000] },
      { name: "gateway", uid: 1001, gid: 1001, groups: [1001, 1000] },
    ],
  });

  it("ends `docker stop` with the child's own status when the child handles TERM", async () => {
    const name = uniqueName();
    try {
      await startContainer(name, ["-v", `${FIXTURES}:/fixtures:ro`, image(), "/fixtures/trap-signals.sh"]);
      await waitUntilReady(name);
      const stop = await docker(["stop", "-t", "30", name]);
      expect(stop.code).toBe(0);
      const status = await docker(["inspect", "-f", "{{.State.ExitCode}}", name]);
      expect(status.stdout.trim()).toBe("85");
    } finally {
      await removeContainer(name);
    }
  });

  it("ends `docker stop` within the grace period with 137 when the child ignores TERM", async () => {
    const name = uniqueName();
    try {
      await startContainer(name, [
        "-v", `${FIXTURES}:/fixtures:ro`, "--entrypoint", SUPERVISOR, image(),
        "run", "--grace", "2", "--", "/fixtures/ignore-term.sh",
      ]);
      await waitUntilReady(name);
      // Docker's own SIGKILL would come only after 30 s; the supervisor's comes after 2 s.
      const started = Date.now();
      await docker(["stop", "-t", "30", name]);
      expect(Date.now() - started).toBeLessThan(25_000);
      const status = await docker(["inspect", "-f", "{{.State.ExitCode}}", name]);
      expect(status.stdout.trim()).toBe("137");
      const logs = await docker(["logs", name]);
      expect(logs.stderr).toContain("grace period of 2s is over: killing every remaining process");
    } finally {
      await removeContainer(name);
    }
  });
});

describe.skipIf(!arm64TestsEnabled())("supervisor run in an arm64 container (qemu)", () => {
  it("prints its version and reaps orphans while keeping the child's status", async () => {
    const image = ensureTestImage("arm64");
    const version = await runContainer(["--platform", "linux/arm64", "--entrypoint", SUPERVISOR, image, "--version"]);
    expect(version.stdout).toMatch(/^supervisor \S+ \(node v22\.\d+\.\d+, linux-arm64\)$/m);
    const start = startInContainer(image, "linux/arm64");
    const result = await start(["run", "--", "/fixtures/orphans.sh", "200"]).finished;
    expect(result.stdout).toMatch(/orphans=200 zombies=0 /);
    expect(result.status).toBe(7);
  }, BUILD_TIMEOUT_MS);

  it("boots the gateway in an arm64 container and restarts it on request", async () => {
    const image = ensureTestImage("arm64");
    const name = uniqueName();
    try {
      await startContainer(name, ["--platform", "linux/arm64", "-e", "SUPERVISOR_BOOT_GRACE=120", image]);
      await waitFor(async () => (await docker(["exec", name, "supervisor", "health"])).code === 0, 120_000, 500);
      const restart = await docker(["exec", name, "supervisor", "restart", "--timeout", "120"], { timeoutMs: 180_000 });
      expect(restart.code, restart.stderr).toBe(0);
      expect(restart.stdout).toMatch(/^restarted: gateway pid \d+$/m);
    } finally {
      await removeContainer(name);
    }
  }, BUILD_TIMEOUT_MS);
});
