// Shell completion (bash, zsh) and manual pages, generated from a program's command table
// (command-line.ts's ProgramSpec): the same table that parses the command line and prints
// --help, so none of them can drift from the others. Pure; build.mjs writes the files.
import type { CommandSpec, OptionSpec, ProgramSpec } from "./command-line.js";

const optionWords = (options: readonly OptionSpec[]): string[] =>
  options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);

/** Options that take a value, which the completion must not treat as the next word's option. */
const valued = (options: readonly OptionSpec[]): string[] => options.filter((o) => o.value !== undefined).flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);

/** The function name a shell may use: letters, digits, underscores. */
const ident = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, "_");

/** Pure: a bash completion script (`complete -F`): commands, then each command's options. */
export function bashCompletion(program: ProgramSpec): string {
  const fn = `_${ident(program.name)}_complete`;
  const global = program.globalOptions ?? [];
  const cases = program.commands
    .map((c) => `    ${c.name}) opts="${[...optionWords(c.options), ...optionWords(global), "--help"].join(" ")}" ;;`)
    .join("\n");
  const takesValue = [...new Set([...program.commands.flatMap((c) => valued(c.options)), ...valued(global)])].join("|");
  return `# bash completion for ${program.name} ${program.version}; generated from its command table.
# Install: copy to /etc/bash_completion.d/${program.name} (or source it from ~/.bashrc).
${fn}() {
  local cur prev cmd opts i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${takesValue || "--no-such-option"}) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${program.commands.map((c) => c.name).join(" ")} ${optionWords(global).join(" ")} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    ${takesValue || "--no-such-option"}) return ;;
  esac
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  fi
}
complete -o default -F ${fn} ${program.name}
`;
}

const zshQuote = (text: string): string => text.replace(/\n/g, " ").replace(/[[\]:'\\]/g, (ch) => (ch === "'" ? "'\\''" : `\\${ch}`));

function zshOptions(options: readonly OptionSpec[]): string[] {
  return options.map((o) => {
    const arg = o.value !== undefined ? `:${o.value.toLowerCase()}:` : "";
    const names = o.short ? `{-${o.short},--${o.name}}` : `--${o.name}`;
    return `'${o.repeatable ? "*" : ""}${names}[${zshQuote(o.help)}]${arg}'`;
  });
}

/** Pure: a zsh completion function (`#compdef`): commands with their summaries, and options. */
export function zshCompletion(program: ProgramSpec): string {
  const name = program.name;
  const commands = program.commands.map((c) => `    '${c.name}:${zshQuote(c.summary)}'`).join("\n");
  const perCommand = program.commands
    .map((c) => `      ${c.name})\n        _arguments ${[...zshOptions(c.options), ...zshOptions(program.globalOptions ?? []), "'*::argument:_default'"].join(" \\\n          ")}\n        ;;`)
    .join("\n");
  return `#compdef ${name}
# zsh completion for ${name} ${program.version}; generated from its command table.
# Install: copy as _${name} into a directory of $fpath.
_${ident(name)}() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands '${name} command' commands
    return
  fi
  case "$words[2]" in
${perCommand}
  esac
}
_${ident(name)} "$@"
`;
}

/** roff: a backslash or a leading dot or quote would be read as markup. */
const roff = (text: string): string => text.replace(/\\/g, "\\e").replace(/^([.'])/gm, "\\&$1").replace(/-/g, "\\-");

function manCommand(program: ProgramSpec, c: CommandSpec): string {
  const synopsis = (c.synopsis ?? [c.name]).map((line) => `.B ${roff(`${program.name} ${line}`)}\n.br`).join("\n");
  const options = c.options.map((o) => `.TP\n.B ${roff(`${o.short ? `-${o.short}, ` : ""}--${o.name}${o.value ? ` ${o.value}` : ""}`)}\n${roff(o.help)}`).join("\n");
  return `.SS ${roff(c.name)}\n${synopsis}\n.PP\n${roff(c.description)}\n${options}${c.footer ? `\n.PP\n${roff(c.footer)}` : ""}`;
}

/** Pure: the manual page (roff, section 1) of the program and every command. */
export function manPage(program: ProgramSpec, date: string): string {
  const global = (program.globalOptions ?? []).map((o) => `.TP\n.B ${roff(`--${o.name}${o.value ? ` ${o.value}` : ""}`)}\n${roff(o.help)}`).join("\n");
  return `.TH ${program.name.toUpperCase()} 1 "${date}" "${program.name} ${program.version}" "User Commands"
.SH NAME
${program.name} \\- ${roff(program.commands.length > 0 ? program.description.split("\n")[0]! : program.name)}
.SH SYNOPSIS
${program.commands.map((c) => `.B ${roff(`${program.name} ${c.name}`)}\n.RI [ options ]\n.br`).join("\n")}
.SH DESCRIPTION
${roff(program.description)}
${global ? `.SH GLOBAL OPTIONS\n${global}\n` : ""}.SH COMMANDS
${program.commands.map((c) => manCommand(program, c)).join("\n")}
${program.footer ? `.SH NOTES\n${roff(program.footer)}\n` : ""}`;
}
