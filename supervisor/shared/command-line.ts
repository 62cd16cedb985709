// One command-line layer for both programs (`supervisor` in the container, `sandboxctl` on
// the host): a table of commands, each with its options, arguments and help, read by one
// parser. Pure: argv in, one outcome out, and the text or JSON of help, version and usage
// errors out of that, so every usage error of both programs is decided and tested without a
// process. No dependency: PID 1 parses its command line at every start, and Node's own
// parseArgs words its errors for programmers (`Unknown option '--jsn'. To specify a
// positional argument starting with a '-', place it at the end of the command after '--'`).
//
// Conventions, the same in both programs:
//  - `--name VALUE`, `--name=VALUE`, `-n VALUE`, `-nVALUE`, grouped flags `-tf`; options
//    and arguments in any order; `--` ends the options.
//  - A value is the next word unless that word is `--` or an option the command knows, so
//    `--timeout --json` is a missing value, not a timeout of "--json".
//  - `-h`/`--help` anywhere (before `--`) wins over every other error; `help [COMMAND]`,
//    `version`, `--version`/`-V` (before the command) are built in.
//  - A usage error is one line `PROGRAM: COMMAND: what was wrong, what was expected`, then
//    `Try 'PROGRAM COMMAND --help'.`, exit 2. With `--json` anywhere among the options,
//    every outcome (help, version and usage errors too) is one JSON object with `ok`.

/** The exit status of every usage error, in both programs. */
export const USAGE_EXIT = 2;

export interface OptionSpec {
  /** The long name without dashes: "timeout". */
  name: string;
  /** One letter: "n" for -n. */
  short?: string;
  /** The option takes a value, shown as this word ("SECONDS"); a flag when absent. */
  value?: string;
  /** May be given more than once; every value is kept, in order. */
  repeatable?: boolean;
  /** One line (or a few, separated by \n) for the help. */
  help: string;
}

export interface ArgumentSpec {
  /** As shown in help and errors: "CONTAINER". */
  name: string;
  /** What a good value is, for "missing CONTAINER, expected a container name or id". */
  expected: string;
  optional?: boolean;
  /** Takes every remaining argument. */
  variadic?: boolean;
  /**
   * From this argument on, every word is an argument even if it looks like an option:
   * `supervisor run CMD ARGS...` passes `ls -l` on as it is.
   */
  verbatim?: boolean;
}

export interface CommandSpec {
  name: string;
  /** One line in the program's overview. */
  summary: string;
  /** Usage lines without the program's name ("restart CONTAINER [--json]"); generated when absent. */
  synopsis?: readonly string[];
  /** The paragraphs under the usage line of the command's help. */
  description: string;
  options: readonly OptionSpec[];
  args: readonly ArgumentSpec[];
  /** Groups of options of which at most one may be given: [["json", "quiet"]]. */
  exclusive?: ReadonlyArray<readonly string[]>;
  /** Text after the options: exit statuses, where to read more. */
  footer?: string;
}

export interface ProgramSpec {
  name: string;
  /** "0.1.0". */
  version: string;
  /** Shown after the version in parentheses: "node v22.1.0, linux-x64". */
  versionDetail?: string;
  /** The paragraph under the usage lines of the overview. */
  description: string;
  /** Options every command takes, before or after the command's name (sandboxctl --engine). */
  globalOptions?: readonly OptionSpec[];
  commands: readonly CommandSpec[];
  /** Text at the end of the overview: exit statuses, where to read more. */
  footer?: string;
}

export type OptionValues = Record<string, string | true | string[]>;

export type CommandLine =
  | { kind: "run"; command: string; options: OptionValues; args: string[]; json: boolean }
  | { kind: "help"; command: string | undefined; json: boolean }
  | { kind: "version"; json: boolean }
  | { kind: "usage"; command: string | undefined; message: string; json: boolean };

export type UsageError = Extract<CommandLine, { kind: "usage" }>;

const HELP_OPTION: OptionSpec = { name: "help", short: "h", help: "print this help" };
const VERSION_OPTION: OptionSpec = { name: "version", short: "V", help: "print the version" };
const JSON_OPTION: OptionSpec = { name: "json", help: "print one JSON object" };

const BUILT_IN: readonly CommandSpec[] = [
  {
    name: "help",
    summary: "print the help of COMMAND, or this overview",
    synopsis: ["help [COMMAND]"],
    description: "Print the help of COMMAND, or the overview of all commands.",
    options: [JSON_OPTION],
    args: [{ name: "COMMAND", expected: "a command name", optional: true }],
  },
  {
    name: "version",
    summary: "print the version",
    synopsis: ["version"],
    description: "Print the version.",
    options: [JSON_OPTION],
    args: [],
  },
];

/** A usage error, for the checks a program makes after parsing (a value out of range). */
export function usageError(command: string | undefined, message: string, json: boolean): UsageError {
  return { kind: "usage", command, message, json };
}

/**
 * Pure: edit distance with adjacent transpositions counted as one edit (optimal string
 * alignment), so "stauts" is one edit from "status", like a typing slip.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Pure: the candidate the user most likely meant, or undefined. A unique candidate that
 * starts with the word wins ("--time" → "--timeout"); otherwise the nearest one within a
 * distance that grows with the word (1 edit up to 4 letters, 2 up to 8, then 3), the
 * first in table order on a tie. Leading dashes do not count as letters.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const bare = word.replace(/^-+/, "");
  if (bare.length === 0) return undefined;
  const prefixed = candidates.filter((c) => c.startsWith(word) && c !== word);
  if (bare.length >= 2 && prefixed.length === 1) return prefixed[0];
  const limit = bare.length <= 4 ? 1 : bare.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function quoted(words: readonly string[]): string {
  return words.join(", ");
}

function commandsOf(program: ProgramSpec): readonly CommandSpec[] {
  return [...program.commands, ...BUILT_IN];
}

/** Pure: the spec of a command by name, built-ins included. */
export function findCommand(program: ProgramSpec, name: string): CommandSpec | undefined {
  return commandsOf(program).find((c) => c.name === name);
}

function isBuiltIn(spec: CommandSpec): boolean {
  return BUILT_IN.includes(spec);
}

function isOptionWord(word: string): boolean {
  return word.length > 1 && word.startsWith("-") && word !== "--";
}

interface Scan {
  options: OptionValues;
  args: string[];
  help: boolean;
  json: boolean;
  /** The first thing that was wrong; scanning goes on so that --help and --json still count. */
  error?: string;
}

/**
 * Reads options and arguments of one command (or, with `untilPositional`, the global
 * options before the command, stopping at its name). `known` are the options allowed here.
 */
function scan(words: readonly string[], known: readonly OptionSpec[], verbatimFrom: number | undefined, untilPositional: boolean): Scan & { rest: string[] } {
  return new OptionScanner(words, known, verbatimFrom, untilPositional).run();
}

/** One left-to-right pass over the words; `at` is the word being read. */
class OptionScanner {
  private readonly result: Scan & { rest: string[] } = { options: {}, args: [], help: false, json: false, rest: [] };
  private readonly longNames: string[];
  private at = 0;

  constructor(
    private readonly words: readonly string[],
    private readonly known: readonly OptionSpec[],
    private readonly verbatimFrom: number | undefined,
    private readonly untilPositional: boolean,
  ) {
    this.longNames = known.map((o) => `--${o.name}`);
  }

  run(): Scan & { rest: string[] } {
    const { words, result } = this;
    for (; this.at < words.length; this.at++) {
      const word = words[this.at]!;
      if (this.verbatimFrom !== undefined && result.args.length > this.verbatimFrom) {
        result.args.push(word);
        continue;
      }
      if (word === "--") {
        this.endOfOptions();
        break;
      }
      if (!isOptionWord(word)) {
        if (this.untilPositional) break;
        result.args.push(word);
        continue;
      }
      if (word.startsWith("--")) this.longOption(word);
      else this.shortGroup(word);
    }
    result.rest = words.slice(this.at);
    return result;
  }

  /** "--": the command's arguments follow verbatim; before a command, the command follows. */
  private endOfOptions(): void {
    if (this.untilPositional) {
      this.at += 1;
      return;
    }
    this.result.args.push(...this.words.slice(this.at + 1));
    this.at = this.words.length;
  }

  private longOption(word: string): void {
    const equals = word.indexOf("=");
    const name = equals === -1 ? word.slice(2) : word.slice(2, equals);
    const inline = equals === -1 ? undefined : word.slice(equals + 1);
    if (name === "json") this.result.json = true;
    if (name === "help" && inline === undefined) {
      this.result.help = true;
      return;
    }
    const spec = this.byLong(name);
    if (spec === undefined) return this.fail(this.unknown(`--${name}`));
    if (spec.value === undefined) {
      if (inline !== undefined) this.fail(`--${name} takes no value, expected --${name} alone`);
      else this.set(spec, true);
      return;
    }
    const value = this.valueFor(spec, inline, `--${name}`);
    if (value !== undefined) this.set(spec, value);
  }

  /** Short options, grouped: -tf, -n10, -n 10. */
  private shortGroup(word: string): void {
    for (let j = 1; j < word.length; j++) {
      const letter = word[j]!;
      if (letter === "h") {
        this.result.help = true;
        continue;
      }
      const spec = this.byShort(letter);
      if (spec === undefined) {
        // "-json" is a long option with one dash more often than a group of letters.
        const asLong = suggest(`--${word.slice(1)}`, this.longNames);
        this.fail(
          `unknown option '-${letter}'${word.length > 2 ? ` in '${word}'` : ""}, ${
            asLong !== undefined ? `did you mean '${asLong}'?` : `expected one of ${quoted(this.longNames)}`
          }`,
        );
        return;
      }
      if (spec.value === undefined) {
        this.set(spec, true);
        continue;
      }
      const value = this.valueFor(spec, j + 1 < word.length ? word.slice(j + 1) : undefined, `-${letter}`);
      if (value !== undefined) this.set(spec, value);
      return;
    }
  }

  /** A value for an option: inline, or the next word unless that is an option or "--". */
  private valueFor(spec: OptionSpec, inline: string | undefined, shown: string): string | undefined {
    if (inline !== undefined) return inline;
    const next = this.words[this.at + 1];
    if (next === undefined || next === "--" || this.isKnownOption(next)) {
      this.fail(`missing value for ${shown}, expected ${shown} ${spec.value!}`);
      return undefined;
    }
    this.at += 1;
    return next;
  }

  private set(spec: OptionSpec, value: string | true): void {
    const options = this.result.options;
    if (spec.repeatable && typeof value === "string") {
      const previous = options[spec.name];
      options[spec.name] = [...(Array.isArray(previous) ? previous : []), value];
    } else {
      options[spec.name] = value;
    }
  }

  /** Only the first thing that was wrong is reported; scanning goes on for --help and --json. */
  private fail(message: string): void {
    this.result.error ??= message;
  }

  private unknown(word: string): string {
    const hint = suggest(word.startsWith("--") ? word : `-${word}`, this.longNames);
    const expected = hint !== undefined ? `did you mean '${hint}'?` : `expected one of ${quoted(this.longNames)}`;
    return `unknown option '${word}', ${expected}`;
  }

  private byLong(name: string): OptionSpec | undefined {
    return this.known.find((o) => o.name === name);
  }

  private byShort(letter: string): OptionSpec | undefined {
    return this.known.find((o) => o.short === letter);
  }

  private isKnownOption(word: string): boolean {
    if (word.startsWith("--")) return this.byLong(word.slice(2).split("=")[0]!) !== undefined;
    return isOptionWord(word) && this.byShort(word[1]!) !== undefined;
  }
}

function checkArgs(spec: CommandSpec, args: readonly string[]): string | undefined {
  const needed = spec.args.filter((a) => !a.optional);
  if (args.length < needed.length) {
    const missing = spec.args[args.length]!;
    return `missing ${missing.name}, expected ${missing.expected}`;
  }
  const variadic = spec.args.some((a) => a.variadic);
  if (!variadic && args.length > spec.args.length) {
    const expected = spec.args.length === 0 ? "no arguments" : `only ${spec.args.map((a) => a.name).join(" ")}`;
    return `unexpected argument '${args[spec.args.length]!}', expected ${expected}`;
  }
  return undefined;
}

function checkExclusive(spec: CommandSpec, options: OptionValues): string | undefined {
  for (const group of spec.exclusive ?? []) {
    const given = group.filter((name) => options[name] !== undefined);
    if (given.length > 1) return `${given.map((n) => `--${n}`).join(" and ")} exclude each other, expected at most one`;
  }
  return undefined;
}

/** Pure: what `PROGRAM ARGV...` asks for, or the one usage error. */
export function parseCommandLine(program: ProgramSpec, argv: readonly string[]): CommandLine {
  const globals = program.globalOptions ?? [];
  // Before the command: the global options, --version, and --json (for help and version).
  const before = scan(argv, [...globals, VERSION_OPTION, JSON_OPTION], undefined, true);
  const [name, ...words] = before.rest;
  const json = before.json;

  if (name === undefined) {
    if (before.help) return { kind: "help", command: undefined, json };
    if (before.error !== undefined) return usageError(undefined, before.error, json);
    if (before.options.version === true) return { kind: "version", json };
    const names = commandsOf(program).map((c) => c.name);
    return usageError(undefined, `missing command, expected one of ${quoted(names)}`, json);
  }
  const spec = findCommand(program, name);
  if (spec === undefined) {
    const later = scan(words, [], undefined, false);
    const names = commandsOf(program).map((c) => c.name);
    const hint = suggest(name, names);
    const expected = hint !== undefined ? `did you mean '${hint}'?` : `expected one of ${quoted(names)}`;
    return usageError(undefined, `unknown command '${name}', ${expected}`, json || later.json);
  }
  if (before.help) return { kind: "help", command: spec.name, json };
  if (before.error !== undefined) return usageError(undefined, before.error, json);
  if (before.options.version === true) return { kind: "version", json };
  delete before.options.version;
  if (json && !spec.options.some((o) => o.name === "json")) {
    return usageError(spec.name, "unknown option '--json', this command prints no JSON", json);
  }

  const verbatimFrom = spec.args.findIndex((a) => a.verbatim);
  const known = isBuiltIn(spec) ? spec.options : [...spec.options, ...globals];
  const own = scan(words, known, verbatimFrom === -1 ? undefined : verbatimFrom, false);
  const anyJson = json || own.json;
  if (own.help) return { kind: "help", command: spec.name, json: anyJson };
  const problem = own.error ?? checkArgs(spec, own.args) ?? checkExclusive(spec, own.options);
  if (problem !== undefined) return usageError(spec.name, problem, anyJson);

  if (spec.name === "version") return { kind: "version", json: anyJson };
  if (spec.name === "help") {
    const topic = own.args[0];
    if (topic === undefined) return { kind: "help", command: undefined, json: anyJson };
    if (findCommand(program, topic) !== undefined) return { kind: "help", command: topic, json: anyJson };
    const hint = suggest(topic, commandsOf(program).map((c) => c.name));
    return usageError("help", `unknown command '${topic}', ${hint !== undefined ? `did you mean '${hint}'?` : "expected a command name"}`, anyJson);
  }
  return { kind: "run", command: spec.name, options: { ...before.options, ...own.options }, args: own.args, json: anyJson };
}

// --- text ------------------------------------------------------------------------------

function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.value !== undefined ? ` ${o.value}` : ""}`;
  return o.short !== undefined ? `-${o.short}, ${long}` : `    ${long}`;
}

/** The column where option help starts: after the widest label, at most 26 (then help goes below). */
function optionWidth(options: readonly OptionSpec[]): number {
  return Math.min(26, Math.max(...options.map((o) => optionLabel(o).length)) + 2);
}

/** Two columns: labels, and help from column `width`. */
function optionLines(options: readonly OptionSpec[], width = optionWidth(options)): string {
  const labels = options.map(optionLabel);
  return options
    .map((o, k) => {
      const label = labels[k]!;
      const [first, ...more] = o.help.split("\n");
      const head = label.length + 2 > width ? `  ${label}\n  ${" ".repeat(width)}${first!}` : `  ${label.padEnd(width)}${first!}`;
      return [head, ...more.map((line) => `  ${" ".repeat(width)}${line}`)].join("\n");
    })
    .join("\n");
}

function generatedSynopsis(spec: CommandSpec): string {
  const args = spec.args.map((a) => {
    const word = a.variadic ? `${a.name}...` : a.name;
    return a.optional ? `[${word}]` : word;
  });
  const options = spec.options.map((o) => `[--${o.name}${o.value !== undefined ? ` ${o.value}` : ""}]`);
  return [spec.name, ...args, ...options].join(" ");
}

function synopsisOf(spec: CommandSpec): readonly string[] {
  return spec.synopsis ?? [generatedSynopsis(spec)];
}

/** Pure: the help of one command, or (command undefined) the program's overview. */
export function helpText(program: ProgramSpec, command?: string): string {
  const globals = program.globalOptions ?? [];
  const spec = command === undefined ? undefined : findCommand(program, command);
  if (spec === undefined) {
    const all = commandsOf(program);
    const usage = all.flatMap(synopsisOf).map((line) => `  ${program.name} ${line}`);
    const width = Math.max(...all.map((c) => c.name.length)) + 3;
    const commands = all.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
    const options = [...globals, HELP_OPTION, VERSION_OPTION];
    return [
      `Usage:\n${usage.join("\n")}`,
      program.description,
      `Commands:\n${commands.join("\n")}`,
      `Options:\n${optionLines(options)}`,
      ...(program.footer !== undefined ? [program.footer] : []),
    ]
      .map((block) => block.trimEnd())
      .join("\n\n")
      .concat("\n");
  }
  const [first, ...more] = synopsisOf(spec);
  const usage = [`Usage: ${program.name} ${first!}`, ...more.map((line) => `       ${program.name} ${line}`)].join("\n");
  const own = [...spec.options, HELP_OPTION];
  const shownGlobals = isBuiltIn(spec) ? [] : globals;
  const width = optionWidth([...own, ...shownGlobals]);
  const blocks = [usage, spec.description, `Options:\n${optionLines(own, width)}`];
  if (shownGlobals.length > 0) blocks.push(`Global options:\n${optionLines(shownGlobals, width)}`);
  if (spec.footer !== undefined) blocks.push(spec.footer);
  return blocks.map((block) => block.trimEnd()).join("\n\n").concat("\n");
}

/** Pure: the version line, "sandboxctl 0.1.0 (node v22.1.0)". */
export function versionLine(program: ProgramSpec): string {
  return `${program.name} ${program.version}${program.versionDetail !== undefined ? ` (${program.versionDetail})` : ""}`;
}

export interface Rendered {
  stdout: string;
  stderr: string;
  exit: number;
}

/**
 * Pure: what to print, and the exit status, for an outcome the command line decides alone
 * (help, version, usage error). With --json, one JSON object on stdout and nothing on stderr.
 */
export function render(program: ProgramSpec, outcome: Exclude<CommandLine, { kind: "run" }>): Rendered {
  const json = (value: object, exit: number): Rendered => ({ stdout: `${JSON.stringify(value)}\n`, stderr: "", exit });
  switch (outcome.kind) {
    case "help": {
      const text = helpText(program, outcome.command);
      return outcome.json ? json({ ok: true, help: text }, 0) : { stdout: text, stderr: "", exit: 0 };
    }
    case "version":
      return outcome.json
        ? json({ ok: true, program: program.name, version: program.version, ...(program.versionDetail !== undefined ? { detail: program.versionDetail } : {}) }, 0)
        : { stdout: `${versionLine(program)}\n`, stderr: "", exit: 0 };
    case "usage": {
      const message = `${outcome.command !== undefined ? `${outcome.command}: ` : ""}${outcome.message.replace(/[\r\n]+/g, " ")}`;
      if (outcome.json) return json({ ok: false, layer: "usage", message }, USAGE_EXIT);
      const again = outcome.command !== undefined ? `${program.name} ${outcome.command} --help` : `${program.name} --help`;
      return { stdout: "", stderr: `${program.name}: ${message}\nTry '${again}'.\n`, exit: USAGE_EXIT };
    }
  }
}
