// User lookup from /etc/passwd, without NSS: the container's own files are the truth.
import { readFileSync } from "node:fs";

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string): UserEntry[] {
  const users: UserEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 7 || line.startsWith("#")) continue;
    const [name, , uid, gid, , home, shell] = fields as [string, string, string, string, string, string, string];
    if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    users.push({ name, uid: Number(uid), gid: Number(gid), home, shell });
  }
  return users;
}

export function findUser(name: string, passwdFile = "/etc/passwd"): UserEntry | undefined {
  return parsePasswd(readFileSync(passwdFile, "utf8")).find((u) => u.name === name);
}
