// What the sandbox user's shells see (SPEC 1, 3.4, 3.5): the token env file, the proxy env
// file that /etc/profile.d and /etc/bash.bashrc source, and a marker block in the user's
// own .bashrc/.profile for shells that skip the system files.
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../shared/atomic-write.js";

export const TOKEN_ENV_FILE = "nemoclaw-gateway-token.env";
export const PROXY_ENV_FILE = "nemoclaw-proxy-env.sh";
const MARKER_BEGIN = "# >>> sandbox-supervisor gateway token >>>";
const MARKER_END = "# <<< sandbox-supervisor gateway token <<<";
const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** The proxy env script: sources the token file, exports NODE_OPTIONS and proxy settings. */
export function proxyEnvScript(tokenFile: string, nodeOptions: string, env: NodeJS.ProcessEnv): string {
  const lines = [
    "# Written by sandbox-supervisor at every boot; sourced by login and interactive shells.",
    `[ -r ${shellQuote(tokenFile)} ] && . ${shellQuote(tokenFile)}`,
    `export NODE_OPTIONS=${shellQuote(nodeOptions)}`,
  ];
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (value !== undefined) lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

export function markerBlock(tokenFile: string): string {
  return `${MARKER_BEGIN}\n[ -r ${shellQuote(tokenFile)} ] && . ${shellQuote(tokenFile)}\n${MARKER_END}\n`;
}

/** The file's text with our marker block removed (every copy), and the rest untouched. */
export function withoutMarkerBlock(text: string): string {
  const pattern = new RegExp(`${escape(MARKER_BEGIN)}\\n[\\s\\S]*?${escape(MARKER_END)}\\n?`, "g");
  return text.replace(pattern, "");
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export interface FileOwner {
  uid: number;
  gid: number;
}

/**
 * Puts (or, with block undefined, removes) the marker block in one dotfile of the user's.
 * Never writes through a symlink. Returns a one-line problem, or undefined when done.
 */
export function updateDotfile(path: string, block: string | undefined, owner: FileOwner): string | undefined {
  let text = "";
  let mode = 0o644;
  try {
    const st = lstatSync(path);
    if (!st.isFile()) return `${path} is not a regular file; left alone`;
    if (st.uid !== owner.uid) return `${path} is not owned by uid ${owner.uid}; left alone`;
    mode = st.mode & 0o7777;
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return `${path}: ${(error as NodeJS.ErrnoException).code}`;
    if (block === undefined) return undefined;
  }
  const base = withoutMarkerBlock(text);
  const next = block === undefined ? base : `${base}${base === "" || base.endsWith("\n") ? "" : "\n"}${block}`;
  if (next === text) return undefined;
  try {
    writeFileAtomic(path, next, { mode, uid: owner.uid, gid: owner.gid });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function dotfiles(home: string): string[] {
  return [join(home, ".bashrc"), join(home, ".profile")];
}
