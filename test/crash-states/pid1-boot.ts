// `supervisor boot -- /bin/true` as PID 1 of fresh PID and mount namespaces, on one state
// directory bind-mounted at the scratch root, with the scratch passwd and group over the
// host's (the boot reads /etc/passwd itself, and setpriv's --init-groups reads /etc/group).
// Root gets its supplementary groups from that group file, as a container's process does
// (the mutable posture writes through root's membership of group sandbox).
// The boot runs without CAP_LINUX_IMMUTABLE, as under Docker's defaults, so the config
// lock is skipped and inode flags stay out of the states; and without the capabilities
// boot step 1 drops, so the program under test never needs its re-exec fallback (the
// broken writers run as a bundle under node, which has no executable of its own to re-exec).
// Optionally under strace, which then records every file-system call of the run.
import { spawn } from "node:child_process";
import type { Posture } from "../../supervisor/shared/settings.js";
import type { Base } from "./scratch-root.js";

export interface Program {
  /** For reports: "supervisor", or the broken writer's name. */
  name: string;
  /** What runs as PID 1 before `boot`: the executable, or node and a bundle. */
  argv: string[];
}

export interface BootRun {
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class BootSetupError extends Error {}

const DROPPED = "-linux_immutable,-sys_admin,-sys_ptrace,-net_raw,-dac_override,-sys_chroot,-fsetid,-setfcap,-mknod,-audit_write,-net_bind_service";
const SETUP_FAILED = 120;
const SCRIPT = [
  "umask 022",
  `mount --bind "$1" "$2" && mount --bind "$3" /etc/passwd && mount --bind "$4" /etc/group || { echo "crash-states: cannot bind-mount the scratch root" >&2; exit ${SETUP_FAILED}; }`,
  "shift 4",
  `exec setpriv --reuid=0 --regid=0 --init-groups --bounding-set=${DROPPED} -- "$@" boot -- /bin/true`,
].join("\n");

/** Every call that can change a file, a name, a descriptor table or the ids files are made with. */
export const TRACED = [
  "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
  "write", "pwrite64", "writev", "pwritev", "pwritev2", "fsync", "fdatasync", "sync", "syncfs",
  "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir", "mkdir", "mkdirat", "mknod", "mknodat",
  "link", "linkat", "symlink", "symlinkat", "truncate", "ftruncate", "fallocate", "copy_file_range", "sendfile", "splice",
  "chmod", "fchmod", "fchmodat", "chown", "lchown", "fchown", "fchownat", "ioctl",
  "clone", "clone3", "fork", "vfork", "execve", "execveat", "chdir", "fchdir", "umask",
  "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
].join(",");

export interface BootOptions {
  posture: Posture;
  /** Write an strace log of the run here. */
  straceLog?: string;
  timeoutMs?: number;
}

export function bootOn(base: Base, stateDir: string, program: Program, options: BootOptions): Promise<BootRun> {
  const unshare = ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", SCRIPT, "sh", stateDir, base.root, base.passwd, base.group, ...program.argv];
  const strace = ["strace", "-f", "-qq", "--decode-pids=pidns", "-s", String(64 << 20), "-xx", "-e", "signal=none", "-e", `trace=${TRACED}`, "-o"];
  const argv = options.straceLog === undefined ? unshare : [...strace, options.straceLog, ...unshare];
  const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", SUPERVISOR_CONFIG: base.settings(options.posture), SUPERVISOR_LOG_LEVEL: "info" };
  return new Promise((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: "/", env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, "SIGKILL");
    }, options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      fail(new BootSetupError(`cannot run ${argv[0]}: ${error.message} (the explorer needs strace, unshare and setpriv)`));
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      if (status === SETUP_FAILED && stderr.includes("crash-states: cannot bind-mount")) {
        fail(new BootSetupError(`cannot set up the scratch root (run as root, with mount namespaces): ${stderr.trim().split("\n")[0]}`));
      } else done({ status, stdout, stderr, timedOut });
    });
  });
}

/** The line a refused boot ends with: its last [SECURITY] or [supervisor] line. */
export function lastLogLine(run: BootRun): string {
  return run.stderr.split("\n").filter((l) => /^\[(SECURITY|supervisor)\] /.test(l)).at(-1) ?? run.stderr.trim().split("\n").at(-1) ?? "";
}
