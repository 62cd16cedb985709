// The files build.mjs writes from both programs' command tables: bash and zsh completion
// and a manual page, for sandboxctl and for supervisor (dist/completion/, dist/man/).
import { bashCompletion, manPage, zshCompletion } from "../supervisor/shared/command-docs.js";
import { SUPERVISOR_PROGRAM } from "../supervisor/shared/supervisor-spec.js";
import { sandboxctlProgram } from "./command-line.js";

export function commandDocFiles(version: string, date: string): Array<{ path: string; content: string }> {
  const programs = [sandboxctlProgram(version, ""), { ...SUPERVISOR_PROGRAM, version }];
  return programs.flatMap((program) => [
    { path: `completion/${program.name}.bash`, content: bashCompletion(program) },
    { path: `completion/_${program.name}`, content: zshCompletion(program) },
    { path: `man/${program.name}.1`, content: manPage(program, date) },
  ]);
}
