// Writes into a user's own files are done with that user's effective ids and only that
// user's group: root (which has no CAP_DAC_OVERRIDE after boot step 1) may not write into
// the user's directories anyway, and a symlink or hard link planted by the user then leads
// nowhere the user could not already write. Root's supplementary groups (root is in group
// sandbox, and may be in others) are set aside too, so no group of root's lends access.
// The real and saved ids stay 0, so root comes back afterwards.
import type { UserEntry } from "../shared/users.js";

export function asUser<T>(user: Pick<UserEntry, "uid" | "gid">, work: () => T): T {
  if (process.geteuid!() !== 0) return work();
  const groups = process.getgroups!();
  process.setgroups!([user.gid]);
  process.setegid!(user.gid);
  process.seteuid!(user.uid);
  try {
    return work();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}
