// Fault injection: a child that writes in a loop is SIGKILLed at a random moment, once it
// has said "ready"; the caller then checks that what it left on disk is whole.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** Runs `node script args`, kills it 0 to maxDelayMs after "ready"; resolves with its stdout. */
export async function runAndKillAtRandom(script: string, args: string[], maxDelayMs = 30): Promise<string> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const exited = new Promise<void>((done) => child.on("exit", () => done()));
  await new Promise<void>((ready) =>
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) ready();
    }),
  );
  await sleep(Math.random() * maxDelayMs);
  child.kill("SIGKILL");
  await exited;
  return out;
}
