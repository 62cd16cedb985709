// What the sandbox user's shells see (docs/supervisor-boot.md, steps 4 and 5): the token env file, the proxy env
// file that /etc/profile.d and /etc/bash.bashrc source, and a marker block in the user's
// own .bashrc/.profile for shells that skip the system files.
import { closeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { writeFileAtomicAt } from "../shared/atomic-write.js";
import { openDirectory, readFileBounded } from "../shared/dir-fd.js";
import { errorMessage, errorReason } from "../shared/errors.js";

export const PROXY_ENV_FILE = "nemoclaw-proxy-env.sh";
const MARKER_BEGIN = "# >>> sandbox-supervisor gateway token >>>";
const MARKER_END = "# <<< sandbox-supervisor gateway token <<<";
/**
 * Dotfiles are the sandbox user's: anything larger is not read at all (PID 1 under a
 * memory limit must not load a 400 MB sparse ~/.profile, docs/threat-model.md, attack 6) and its marker
 * block is left as it is: shells still get the token through /etc/profile.d.
 */
export const MAX_DOTFILE_BYTES = 1024 * 1024;
const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * A shell line that sources path only when it is owned by root or by the shell's own user,
 * writable by no one else (the last two mode digits without the write bit), and no
 * symlink: a root shell never runs a file the sandbox user planted or owns (docs/threat-model.md,
 * attack 3). The same rule as image/files/etc/profile.d/nemoclaw-proxy-env.sh.
 */
export function sourceIfTrusted(path: string): string {
  const q = shellQuote(path);
  return `case "$(stat -c '%u:%a' -- ${q} 2>/dev/null)" in 0:*[0145][0145] | "$(id -u)":*[0145][0145]) [ -f ${q} ] && [ ! -L ${q} ] && . ${q} ;; esac`;
}

/** The proxy env script: sources the token file, exports NODE_OPTIONS and proxy settings. */
export function proxyEnvScript(tokenFile: string, nodeOptions: string, env: NodeJS.ProcessEnv): string {
  const lines = [
    "# Written by sandbox-supervisor at every boot; sourced by login and interactive shells.",
    sourceIfTrusted(tokenFile),
    `export NODE_OPTIONS=${shellQuote(nodeOptions)}`,
  ];
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (value !== undefined) lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

export function markerBlock(tokenFile: string): string {
  return `${MARKER_BEGIN}\n${sourceIfTrusted(tokenFile)}\n${MARKER_END}\n`;
}

/**
 * The file's text with our marker block removed (every copy), and the rest untouched. A
 * block runs from a BEGIN line to the first END after it. One forward scan: a file of
 * BEGIN lines with no END (docs/threat-model.md, attack 2) costs one pass, not one pass per line.
 */
export function withoutMarkerBlock(text: string): string {
  const begin = `${MARKER_BEGIN}\n`;
  const parts: string[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(begin, from);
    if (start === -1) break;
    const end = text.indexOf(MARKER_END, start + begin.length);
    // No END after this BEGIN means none after any later BEGIN either: nothing more to remove.
    if (end === -1) break;
    parts.push(text.slice(from, start));
    from = end + MARKER_END.length;
    if (text[from] === "\n") from++;
  }
  parts.push(text.slice(from));
  return parts.join("");
}

export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * Puts (or, with block undefined, removes) the marker block in one dotfile of the user's.
 * The home is opened once without following a symlink and the dotfile is read and
 * replaced relative to it: never through a symlink, never a FIFO or device, never more
 * than MAX_DOTFILE_BYTES. Returns a one-line problem, or undefined when done.
 */
export function updateDotfile(path: string, block: string | undefined, owner: FileOwner): string | undefined {
  let homeFd: number;
  try {
    homeFd = openDirectory(dirname(path));
  } catch (error) {
    return `${dirname(path)}: ${errorReason(error)}`;
  }
  try {
    return updateDotfileAt(homeFd, basename(path), path, block, owner);
  } finally {
    closeSync(homeFd);
  }
}

function updateDotfileAt(homeFd: number, name: string, path: string, block: string | undefined, owner: FileOwner): string | undefined {
  let text = "";
  let mode = 0o644;
  let read;
  try {
    read = readFileBounded({ dirFd: homeFd, name }, MAX_DOTFILE_BYTES, (st) => st.uid === owner.uid);
  } catch (error) {
    return `${path}: ${errorReason(error)}`;
  }
  switch (read.kind) {
    case "missing":
      if (block === undefined) return undefined;
      break;
    case "symlink":
      return `${path} is a symlink, not a regular file; left alone`;
    case "not-regular":
      return read.stat.isFile() ? `${path} is not owned by uid ${owner.uid}; left alone` : `${path} is not a regular file; left alone`;
    case "too-large":
      return `${path} is ${read.stat.size} bytes, over the ${MAX_DOTFILE_BYTES}-byte cap; not read, left alone`;
    case "file":
      mode = read.stat.mode & 0o7777;
      text = read.bytes.toString("utf8");
  }
  const base = withoutMarkerBlock(text);
  const next = block === undefined ? base : `${base}${base === "" || base.endsWith("\n") ? "" : "\n"}${block}`;
  if (next === text) return undefined;
  try {
    writeFileAtomicAt(homeFd, name, next, { mode, uid: owner.uid, gid: owner.gid }, path);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

export function dotfiles(home: string): string[] {
  return [join(home, ".bashrc"), join(home, ".profile")];
}
