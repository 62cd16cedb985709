// Every command example in docs/ runs here, against the real image, so no example drifts
// from the real output. An example is a ```console block:
//
//   $ docker exec $CTR supervisor health          a command (bash, on the host)
//   healthy: gateway pid ...                      expected output line; "..." matches anything
//   ...                                           alone on a line: any number of lines
//   (exit 1)                                      the expected status (default 0)
//
// $IMAGE is the test image; $CTR a fresh container of it, booted and healthy, created for
// each block that mentions it. Stdout and stderr are compared together, in order.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerAvailable, ensureTestImage, exec, removeContainer, startContainer, uniqueName, waitFor } from "../helpers/docker.js";
import { ROOT } from "../helpers/pid1.js";

interface Step {
  command: string;
  expected: string[];
  status: number;
}

interface Example {
  file: string;
  line: number;
  steps: Step[];
}

export function parseExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```console") continue;
    const example: Example = { file, line: i + 1, steps: [] };
    for (i++; i < lines.length && lines[i]!.trim() !== "```"; i++) {
      const line = lines[i]!;
      if (line.startsWith("$ ")) example.steps.push({ command: line.slice(2), expected: [], status: 0 });
      else if (/^\(exit \d+\)$/.test(line)) example.steps.at(-1)!.status = Number(line.slice(6, -1));
      else example.steps.at(-1)?.expected.push(line);
    }
    examples.push(example);
  }
  return examples;
}

function linePattern(expected: string): RegExp {
  return new RegExp(`^${expected.split("...").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

/** True when the actual lines match the expected ones; "..." alone matches any run of lines. */
export function outputMatches(expected: string[], actual: string[]): boolean {
  if (expected.length === 0) return actual.length === 0;
  const [first, ...rest] = expected;
  if (first === "...") {
    for (let skip = 0; skip <= actual.length; skip++) if (outputMatches(rest, actual.slice(skip))) return true;
    return false;
  }
  return actual.length > 0 && linePattern(first!).test(actual[0]!) && outputMatches(rest, actual.slice(1));
}

const docsDir = join(ROOT, "docs");
const examples = readdirSync(docsDir)
  .filter((name) => name.endsWith(".md"))
  .flatMap((name) => parseExamples(name, readFileSync(join(docsDir, name), "utf8")));

describe("docs example format", () => {
  it("finds examples in the command pages", () => {
    const files = new Set(examples.map((e) => e.file));
    for (const page of ["supervisor-run.md", "supervisor-boot.md", "supervisor-restart.md", "supervisor-status.md", "supervisor-health.md", "supervisor-stop.md"]) {
      expect(files, page).toContain(page);
    }
  });

  it("matches lines with ... wildcards", () => {
    expect(outputMatches(["a ... c", "..."], ["a b c", "x", "y"])).toBe(true);
    expect(outputMatches(["a ... c"], ["a b d"])).toBe(false);
    expect(outputMatches(["x"], ["x", "y"])).toBe(false);
    expect(outputMatches(["...", "y"], ["x", "y"])).toBe(true);
  });
});

describe.skipIf(!dockerAvailable())("docs examples run as written", () => {
  for (const example of examples) {
    it(`${example.file}:${example.line}`, async () => {
      const image = ensureTestImage("amd64");
      const needsContainer = example.steps.some((s) => s.command.includes("$CTR"));
      const ctr = uniqueName("ssv-docs");
      try {
        if (needsContainer) {
          await startContainer(ctr, ["--cap-add", "LINUX_IMMUTABLE", image]);
          await waitFor(async () => (await exec(ctr, ["supervisor", "health"])).code === 0, 30_000, 100);
        }
        for (const step of example.steps) {
          const result = spawnSync("bash", ["-c", `${step.command} 2>&1`], {
            encoding: "utf8",
            env: { ...process.env, IMAGE: image, CTR: ctr },
            timeout: 120_000,
          });
          const actual = result.stdout.replace(/\n$/, "").split("\n").filter((l, i, all) => !(all.length === 1 && l === ""));
          const where = `${example.file}:${example.line} $ ${step.command}\n--- actual:\n${result.stdout}`;
          expect(outputMatches(step.expected, actual), where).toBe(true);
          expect(result.status, where).toBe(step.status);
        }
      } finally {
        if (needsContainer) await removeContainer(ctr);
      }
    }, 180_000);
  }
});
