// Linux capability sets as /proc/<pid>/status shows them, and the boot chain's rules about
// which of them must go.
import { readFileSync } from "node:fs";

/** Capability names by bit number (linux/capability.h), as setpriv and capsh spell them. */
export const CAPABILITY_NAMES = [
  "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
  "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
  "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
  "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
  "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
  "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** Dropped from PID 1's own bounding set at boot (docs/supervisor-boot.md, step 1). */
export const SUPERVISOR_DROPS: readonly CapabilityName[] = [
  "sys_admin", "sys_ptrace", "net_raw", "dac_override", "sys_chroot", "fsetid", "setfcap",
  "mknod", "audit_write", "net_bind_service",
];

/** Removed from the bounding set of every launched child by setpriv (docs/supervisor-boot.md, step 6). */
export const CHILD_BOUNDING_DROPS: readonly CapabilityName[] = ["setuid", "setgid", "fowner", "chown", "kill"];

/** None of these may remain in a launched child's bounding set (docs/supervisor-boot.md, step 6). */
export const CHILD_MUST_NOT_HAVE: readonly CapabilityName[] = [
  "sys_admin", "sys_ptrace", "net_raw", "net_bind_service", "dac_override", "fowner", "setuid", "setgid",
];

/** Names of the bits set in a hex mask such as CapBnd's "000001ffffffffff". */
export function decodeCapabilityMask(hex: string): Set<string> {
  const mask = BigInt(`0x${hex.trim()}`);
  const names = new Set<string>();
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.add(CAPABILITY_NAMES[bit] ?? `cap_${bit}`);
  }
  return names;
}

export interface CapabilitySets {
  effective: Set<string>;
  permitted: Set<string>;
  bounding: Set<string>;
}

/** Parses the Cap* lines of a /proc/<pid>/status text. */
export function parseStatusCapabilities(statusText: string): CapabilitySets {
  const field = (name: string): Set<string> => {
    const match = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m").exec(statusText);
    if (!match) throw new Error(`no ${name} line in /proc status`);
    return decodeCapabilityMask(match[1]!);
  };
  return { effective: field("CapEff"), permitted: field("CapPrm"), bounding: field("CapBnd") };
}

export function readCapabilities(pid: number | "self" = "self"): CapabilitySets {
  return parseStatusCapabilities(readFileSync(`/proc/${pid}/status`, "utf8"));
}

/** Which of `wanted` are present in `set`, in the order of `wanted`. */
export function presentIn(set: Set<string>, wanted: readonly string[]): string[] {
  return wanted.filter((name) => set.has(name));
}
