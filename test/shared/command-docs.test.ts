// Completion scripts and manual pages come from the command tables: run the bash completion
// in a real bash, render the manual page with the real man, and check both name what the
// parser accepts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandDocFiles } from "../../host-cli/command-doc-files.js";
import { sandboxctlProgram } from "../../host-cli/command-line.js";

const files = new Map(commandDocFiles("9.9.9", "2026-12-04").map((f) => [f.path, f.content]));
const dir = mkdtempSync(join(tmpdir(), "command-docs-"));

/** What bash completes for the words typed so far (the last one is being typed). */
function complete(words: string[]): string[] {
  const script = join(dir, "sandboxctl.bash");
  writeFileSync(script, files.get("completion/sandboxctl.bash")!);
  const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _sandboxctl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync("bash", ["-c", line], { encoding: "utf8" });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split("\n").filter(Boolean);
}

describe("completion and manual pages from the command tables", () => {
  it("bash completes commands, each command's own options, and not after an option that takes a value", () => {
    expect(complete(["sandboxctl", "re"])).toEqual(["restart"]);
    expect(complete(["sandboxctl", "st"]).sort()).toEqual(["start", "status", "stop"]);
    expect(complete(["sandboxctl", "status", "--f"]).sort()).toEqual(["--filter", "--full"]);
    expect(complete(["sandboxctl", "--engine", "docker", "restart", "--par"])).toEqual(["--parallel"]);
    expect(complete(["sandboxctl", "logs", "--since", ""])).toEqual([]);
    // Every option the parser knows for a command is offered.
    for (const command of sandboxctlProgram("x", "").commands) {
      const offered = complete(["sandboxctl", command.name, "--"]);
      for (const option of command.options) expect(offered, `${command.name} --${option.name}`).toContain(`--${option.name}`);
    }
  });

  it("zsh completion names every command with its summary", () => {
    const zsh = files.get("completion/_sandboxctl")!;
    expect(zsh.startsWith("#compdef sandboxctl\n")).toBe(true);
    for (const command of sandboxctlProgram("x", "").commands) expect(zsh).toContain(`'${command.name}:`);
    expect(files.get("completion/_supervisor")).toContain("'restart:");
  });

  it("the manual pages render with man, with every command and option", () => {
    for (const program of ["sandboxctl", "supervisor"]) {
      const page = join(dir, `${program}.1`);
      writeFileSync(page, files.get(`man/${program}.1`)!);
      const result = spawnSync("man", ["-l", "-P", "cat", page], { encoding: "utf8", env: { ...process.env, MANWIDTH: "100", LC_ALL: "C" } });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toMatch(new RegExp(`^${program.toUpperCase()}\\(1\\)`));
      expect(result.stdout).toContain("COMMANDS");
      if (program === "sandboxctl") {
        expect(result.stdout).toContain("--parallel N");
        expect(result.stdout).toContain("sandboxctl restart --all [--filter FILTER]...");
      }
    }
  });
});
