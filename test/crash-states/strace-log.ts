// Reads the log `strace -f -qq -xx --decode-pids=pidns -o FILE` writes: one system call per
// line, prefixed by the thread id. -xx prints every string as \xHH escapes, so a string never
// holds a quote, comma or bracket that could confuse the split; -s large enough keeps every
// written byte (a string strace cut short ends in `"...`, which is refused, not guessed at).
// A call that blocked is split over two lines (`<unfinished ...>`, `<... name resumed>`)
// and joined back here, in the order the calls returned.

export interface Syscall {
  /** Line of the log where the call completed, for error messages. */
  line: number;
  tid: number;
  name: string;
  /** Arguments split at top-level commas, strace's comments removed. */
  args: string[];
  /** The return value; undefined for "?". Fork-like calls: the child's id as strace sees it. */
  result: number | undefined;
  /** Set when the call failed. */
  errno?: string;
  /** The call as strace printed it (strings shortened), for reports. */
  text: string;
}

export class StraceLogError extends Error {}

const HEAD = /^(\d+)\s+(.*)$/;
const UNFINISHED = " <unfinished ...>";
const RESUMED = /^<\.\.\. ([\w]+) resumed>(.*)$/;
const RESULT = /^=\s+(-?\d+|0x[0-9a-f]+|\?)(?:\s+(E[A-Z0-9]+)\b.*?)?(?:\s+\/\* (\d+) in strace's PID NS \*\/)?(?:\s+\(.*\))?\s*$/;

/**
 * Every completed call of the log, in the order they returned. Throws on a line it cannot
 * read. `root`, when given, is left out of the paths in each call's text.
 */
export function parseStraceLog(text: string, root?: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<number, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === "") continue;
    const head = HEAD.exec(raw);
    if (head === null) throw new StraceLogError(`strace log line ${i + 1}: expected '<tid> <call>', got ${JSON.stringify(raw.slice(0, 80))}`);
    const tid = Number(head[1]);
    let body = head[2]!;
    if (body.startsWith("+++") || body.startsWith("---")) continue;
    const resumed = RESUMED.exec(body);
    if (resumed !== null) {
      const start = pending.get(tid);
      if (start === undefined) throw new StraceLogError(`strace log line ${i + 1}: ${resumed[1]} resumed without its start`);
      pending.delete(tid);
      body = start + resumed[2]!;
    }
    if (body.endsWith(UNFINISHED)) {
      pending.set(tid, body.slice(0, -UNFINISHED.length));
      continue;
    }
    calls.push(parseCall(tid, body, i + 1, root));
  }
  return calls;
}

function parseCall(tid: number, body: string, line: number, root: string | undefined): Syscall {
  const open = body.indexOf("(");
  const name = body.slice(0, open);
  if (open <= 0 || !/^\w+$/.test(name)) throw new StraceLogError(`strace log line ${line}: expected a call, got ${JSON.stringify(body.slice(0, 80))}`);
  const close = matchingParen(body, open, line);
  const args = splitArgs(body.slice(open + 1, close), line);
  const result = RESULT.exec(body.slice(close + 1).trim());
  if (result === null) throw new StraceLogError(`strace log line ${line}: cannot read the result of ${name}: ${JSON.stringify(body.slice(close + 1, close + 80))}`);
  const value = result[1] === "?" ? undefined : Number(result[1]);
  const child = result[3] === undefined ? undefined : Number(result[3]);
  const call: Syscall = { line, tid, name, args, result: child ?? value, text: shorten(`${name}(${args.join(", ")}) = ${result[1]}`, root) };
  if (result[2] !== undefined) call.errno = result[2];
  return call;
}

function matchingParen(body: string, open: number, line: number): number {
  let depth = 0;
  let quoted = false;
  for (let i = open; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new StraceLogError(`strace log line ${line}: unbalanced parentheses`);
}

/** Splits an argument list at top-level commas; drops strace's /* comments *\/. */
export function splitArgs(list: string, line = 0): string[] {
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quoted) {
      current += c;
      if (c === "\\") current += list[++i] ?? "";
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === "/" && list[i + 1] === "*") {
      const end = list.indexOf("*/", i + 2);
      if (end === -1) throw new StraceLogError(`strace log line ${line}: unterminated comment`);
      i = end + 1;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    if (c === "," && depth === 0) {
      args.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim() !== "" || args.length > 0) args.push(current.trim());
  return args;
}

/** The bytes of a string argument as -xx prints it ("\x2f\x74"). Refuses a string strace cut short. */
export function decodeString(arg: string | undefined): Buffer {
  if (arg === undefined || !arg.startsWith('"')) throw new StraceLogError(`expected a string argument, got ${JSON.stringify(arg)}`);
  if (arg.endsWith('"...')) throw new StraceLogError("strace cut a string short: raise its -s limit");
  const inner = arg.slice(1, -1);
  if (!/^(\\x[0-9a-f]{2})*$/.test(inner)) throw new StraceLogError(`expected a -xx string, got ${JSON.stringify(arg.slice(0, 40))}`);
  return Buffer.from(inner.replace(/\\x/g, ""), "hex");
}

export function decodePath(arg: string | undefined): string {
  return decodeString(arg).toString("utf8");
}

/** A numeric argument: decimal, octal (0600), hex, or AT_FDCWD. */
export function parseNumber(arg: string | undefined): number {
  if (arg === "AT_FDCWD") return -100;
  if (arg === undefined || !/^-?(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/.test(arg)) throw new StraceLogError(`expected a number, got ${JSON.stringify(arg)}`);
  if (/^0[0-7]+$/.test(arg)) return parseInt(arg, 8);
  return Number(arg);
}

/** The names in a flag argument such as O_WRONLY|O_CREAT|0x80000. */
export function flagNames(arg: string | undefined): Set<string> {
  return new Set((arg ?? "").split("|").map((flag) => flag.trim()));
}

/** The value of `key=` inside a struct argument ({flags=O_RDONLY, mode=0600}), or undefined. */
export function structField(arg: string | undefined, key: string): string | undefined {
  return new RegExp(`(?:^|[{ ,])${key}=([^,}]+)`).exec(arg ?? "")?.[1];
}

/** Decoded strings in the text, the root left out of paths, each cut to 40 characters, so a report stays one line. */
function shorten(text: string, root: string | undefined): string {
  return text.replace(/"((?:\\x[0-9a-f]{2})*)"/g, (_, hex: string) => {
    let decoded = Buffer.from(hex.replace(/\\x/g, ""), "hex").toString("utf8");
    if (root !== undefined && decoded === root) decoded = "/";
    else if (root !== undefined && decoded.startsWith(`${root}/`)) decoded = decoded.slice(root.length);
    return JSON.stringify(decoded.length > 40 ? `${decoded.slice(0, 40)}…` : decoded);
  });
}
