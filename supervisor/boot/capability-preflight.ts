// Before boot step 1 (root mode): the capabilities the chain cannot work without, checked
// against PID 1's effective set, so a restricted deployment (`--cap-drop ALL`, Kubernetes'
// restricted profile) is refused with one line naming what to add, not a raw EPERM halfway
// through. Pure apart from reading /proc/self/status.
import { readCapabilities } from "../shared/capabilities.js";

/** Why each is needed; the chain fails without any of them. */
export const ROOT_MODE_NEEDS: Readonly<Record<string, string>> = {
  setuid: "step down to the gateway and sandbox users",
  setgid: "step down to the gateway and sandbox users",
  chown: "give the config and the staged files their owners",
  fowner: "set the modes of the sandbox user's config directory and dotfiles",
  kill: "stop the gateway user's processes",
};

// CAP_SETPCAP and CAP_LINUX_IMMUTABLE are wanted, not needed: without them boot goes on and
// its step 1 and config lock lines name the protection that is off.
export type Preflight = { ok: true } | { ok: false; message: string };

const flag = (cap: string): string => cap.toUpperCase();

/** Pure: what the effective set lacks of the needs, as one line with the fix. */
export function preflight(effective: ReadonlySet<string>): Preflight {
  const missing = Object.keys(ROOT_MODE_NEEDS).filter((cap) => !effective.has(cap));
  if (missing.length === 0) return { ok: true };
  const needs = Object.keys(ROOT_MODE_NEEDS).map(flag).join(" ");
  return {
    ok: false,
    message:
      `capabilities: root mode needs ${needs}; missing ${missing.map(flag).join(" ")} ` +
      `(docker run ${missing.map((cap) => `--cap-add ${flag(cap)}`).join(" ")}, or run as a non-root user)`,
  };
}

export function checkOwnCapabilities(): Preflight {
  return preflight(readCapabilities().effective);
}
