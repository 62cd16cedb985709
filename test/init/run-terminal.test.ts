// `supervisor run` on a terminal (a real pty from node-pty): the child's process group owns
// the terminal, so Ctrl-C and job control reach the child, not the supervisor.
import * as pty from "node-pty";
import { describe, expect, it } from "vitest";
import { supervisorBinary } from "../helpers/pid1.js";

function runOnTerminal(command: string): { output: () => string; exited: Promise<number>; write: (s: string) => void } {
  const term = pty.spawn("unshare", ["--pid", "--fork", "--mount-proc", supervisorBinary(), "run", "--", "sh", "-c", command], {
    cols: 100,
    rows: 20,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  let output = "";
  term.onData((data) => (output += data));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  return { output: () => output, exited, write: (s) => term.write(s) };
}

async function waitForText(get: () => string, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!get().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in: ${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("supervisor run on a terminal", () => {
  it("makes the child's process group the terminal's foreground group", async () => {
    const run = runOnTerminal('echo "fg=$(ps -o tpgid= -p $$ | tr -d " ") pg=$(ps -o pgid= -p $$ | tr -d " ")"');
    expect(await run.exited).toBe(0);
    const match = /fg=(\d+) pg=(\d+)/.exec(run.output());
    expect(match, run.output()).not.toBeNull();
    expect(match![1]).toBe(match![2]);
    expect(match![2]).not.toBe("1");
  });

  it("delivers Ctrl-C to the child, which decides the status", async () => {
    const run = runOnTerminal('trap "echo got-INT; exit 3" INT; echo ready; while :; do sleep 0.1; done');
    await waitForText(run.output, "ready");
    run.write("\x03");
    expect(await run.exited).toBe(3);
    expect(run.output()).toContain("got-INT");
  });
});
