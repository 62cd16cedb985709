// The few things an init needs that Node cannot do: reap orphans without touching the
// children libuv waits for, start a child in its own process group that owns the
// terminal, and become a child subreaper when not PID 1.
//
// Exports:
//   reapZombies(exclude: Int32Array) -> number[]  flat [pid, rawWaitStatus, ...]
//   spawnIsolated(file, argv[], envp[], cwd, foreground) -> pid (throws with .errno)
//   setChildSubreaper() -> boolean
//   pidfdSignal(pid, expectedStartTime, signal) -> 0 | 1 | -errno (see pidfd_signal below)
//   dropCapabilities(capabilityNumbers[]) -> 0 | -errno (see drop_capabilities at the end)
// And the file system calls Node lacks, for acting inside a directory the sandbox user can
// write through descriptors instead of paths (never following a swapped-in symlink):
//   openAt(dirFd, path, flags, mode) -> fd        openat(2), O_CLOEXEC always added
//   renameAt(oldDirFd, oldPath, newDirFd, newPath) renameat(2)
//   unlinkAt(dirFd, path, directory)               unlinkat(2), AT_REMOVEDIR when directory
//   getInodeFlags(fd) -> flags                     ioctl FS_IOC_GETFLAGS (what lsattr reads)
//   setInodeFlags(fd, flags)                       ioctl FS_IOC_SETFLAGS (what chattr writes)
// dirFd may be -100 (AT_FDCWD). Each throws an Error with .errno (positive) on failure.
// And what keeps node:crypto out of boot and PID 1's memory flat:
//   sha256Hex(bytes: Uint8Array) -> string         SHA-256 (sha256.c), 64 hex digits
//   randomHex(count) -> string                     count (1-64) bytes of getrandom(2), as hex
//   trimMalloc() -> boolean                        malloc_trim(0): free heap pages back to the kernel
// Loading the addon also fixes malloc's mmap threshold (see init at the end).
#define _GNU_SOURCE
#include <node_api.h>

#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Same numbers on x86_64 and aarch64 (and every other arch since Linux 5.1/5.3).
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "reaper: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

// Reads "/proc/<pid>/stat" and reports state and ppid. The comm field may contain
// spaces and parentheses, so parsing starts after the last ')'.
static int read_state(pid_t pid, char *state, pid_t *ppid) {
  char path[64];
  char buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *close_paren = strrchr(buf, ')');
  if (close_paren == NULL) return -1;
  char st;
  int parent;
  if (sscanf(close_paren + 1, " %c %d", &st, &parent) != 2) return -1;
  *state = st;
  *ppid = (pid_t)parent;
  return 0;
}

static int is_excluded(pid_t pid, const int32_t *exclude, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (exclude[i] == pid) return 1;
  }
  return 0;
}

static napi_value reap_zombies(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const int32_t *exclude = NULL;
  size_t exclude_count = 0;
  if (argc >= 1) {
    napi_typedarray_type type;
    void *data;
    napi_value buffer;
    size_t offset;
    CHECK(napi_get_typedarray_info(env, argv[0], &type, &exclude_count, &data, &buffer, &offset));
    if (type != napi_int32_array) {
      napi_throw_type_error(env, NULL, "reapZombies: expected an Int32Array of pids to leave alone");
      return NULL;
    }
    exclude = data;
  }

  napi_value result;
  CHECK(napi_create_array(env, &result));
  uint32_t out = 0;
  pid_t self = getpid();
  DIR *proc = opendir("/proc");
  if (proc == NULL) return result;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    char *end;
    long number = strtol(entry->d_name, &end, 10);
    if (number <= 0 || *end != '\0') continue;
    pid_t pid = (pid_t)number;
    char state;
    pid_t ppid;
    if (read_state(pid, &state, &ppid) != 0) continue;
    if (state != 'Z' || ppid != self) continue;
    // Children Node spawned are libuv's to wait for: reaping them would steal their
    // exit status and leave libuv's handle waiting forever.
    if (is_excluded(pid, exclude, exclude_count)) continue;
    int status = 0;
    pid_t got;
    do {
      got = waitpid(pid, &status, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got != pid) continue;
    napi_value v;
    CHECK(napi_create_int32(env, pid, &v));
    CHECK(napi_set_element(env, result, out++, v));
    CHECK(napi_create_int32(env, status, &v));
    CHECK(napi_set_element(env, result, out++, v));
  }
  closedir(proc);
  return result;
}

// Copies a JS string into a malloc'd C string.
static char *dup_string(napi_env env, napi_value value) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, value, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static void free_vector(char **v) {
  if (v == NULL) return;
  for (char **p = v; *p != NULL; p++) free(*p);
  free(v);
}

// Copies a JS string array into a NULL-terminated malloc'd vector.
static char **dup_vector(napi_env env, napi_value array) {
  uint32_t len;
  if (napi_get_array_length(env, array, &len) != napi_ok) return NULL;
  char **v = calloc(len + 1, sizeof(char *));
  if (v == NULL) return NULL;
  for (uint32_t i = 0; i < len; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok || (v[i] = dup_string(env, item)) == NULL) {
      free_vector(v);
      return NULL;
    }
  }
  return v;
}

// Runs in the vforked child, on this thread's stack and memory: only system calls, no
// allocation and no return, until execve or _exit.
static void child_exec(int report_fd, const char *file, char **argv, char **envp, const char *cwd,
                       int foreground) {
  int err;
  if (setpgid(0, 0) != 0) goto fail;
  if (foreground && isatty(STDIN_FILENO)) {
    // tcsetpgrp from a background group raises SIGTTOU unless it is blocked; a
    // terminal that is not ours (ENOTTY, ENXIO) is no reason to fail.
    sigset_t ttou;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, NULL);
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) != 0 && errno != ENOTTY && errno != ENXIO) goto fail;
  }
  // Node ignores SIGPIPE and installs handlers; a child must start with defaults.
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  // Node marks its stdio close-on-exec and may have made the shared descriptions
  // non-blocking; the child must inherit blocking stdio (libuv does the same).
  for (int fd = 0; fd <= 2; fd++) {
    fcntl(fd, F_SETFD, 0);
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  if (cwd != NULL && chdir(cwd) != 0) goto fail;
  execve(file, argv, envp);
fail:
  err = errno;
  while (write(report_fd, &err, sizeof err) < 0 && errno == EINTR) {
  }
  _exit(127);
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, error, code;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

static napi_value spawn_isolated(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "spawnIsolated(file, argv, envp, cwd, foreground) needs 5 arguments");
    return NULL;
  }
  bool foreground = false;
  CHECK(napi_get_value_bool(env, args[4], &foreground));
  char *file = dup_string(env, args[0]);
  char **argv = dup_vector(env, args[1]);
  char **envp = dup_vector(env, args[2]);
  char *cwd = dup_string(env, args[3]);
  napi_value result = NULL;
  if (file == NULL || argv == NULL || envp == NULL || cwd == NULL) {
    napi_throw_type_error(env, NULL, "spawnIsolated: arguments must be strings and string arrays");
    goto done;
  }

  // The child reports a failed exec through a close-on-exec pipe: EOF means the exec
  // happened, four bytes are the errno that stopped it.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    result = throw_errno(env, errno, "spawnIsolated: pipe");
    goto done;
  }
  sigset_t all, old;
  sigfillset(&all);
  // No signal handler of Node's may run in the child between fork and exec.
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // vfork, as glibc's posix_spawn does: the child borrows this address space until its
  // exec instead of copying the page tables of a 100 MB process (about half the cost of a
  // launch: 0.6 vs 1.3 ms measured). It is safe because this thread waits for the exec
  // anyway, the child touches only the strings copied above and makes only system calls,
  // and its signal handler table is its own copy (no CLONE_SIGHAND), reset before the
  // mask is lifted.
  pid_t pid = vfork();
  if (pid == 0) {
    close(report[0]);
    child_exec(report[1], file, argv, envp, cwd[0] ? cwd : NULL, foreground);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(report[1]);
  if (pid < 0) {
    close(report[0]);
    result = throw_errno(env, fork_errno, "spawnIsolated: vfork");
    goto done;
  }
  // Also set the group from the parent so a signal forwarded right after we return
  // reaches the child's group even if the child has not run yet.
  setpgid(pid, pid);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == (ssize_t)sizeof child_errno) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result = throw_errno(env, child_errno, file);
    goto done;
  }
  CHECK(napi_create_int32(env, pid, &result));
done:
  free(file);
  free(cwd);
  free_vector(argv);
  free_vector(envp);
  return result;
}

static napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result));
  return result;
}

// Reads state and start time (field 22) of "/proc/<pid>/stat": 0, or -errno (-ESRCH
// when the process is gone, -EIO when the line cannot be parsed).
static int read_start_time(pid_t pid, char *state, unsigned long long *start_time) {
  char path[64];
  char buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? -ESRCH : -errno;
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  // A task that is reaped between open and read makes the read fail with ESRCH.
  if (n < 0) return -err;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0') return -EIO;
  p += 2;
  *state = *p++;
  // Fields 4 .. 21 (ppid .. itrealvalue) are skipped; field 22 is starttime.
  for (int field = 4; field < 22; field++) {
    if (*p != ' ') return -EIO;
    while (*p == ' ') p++;
    while (*p != ' ' && *p != '\0') p++;
  }
  char *end;
  errno = 0;
  unsigned long long value = strtoull(p, &end, 10);
  if (end == p || errno != 0) return -EIO;
  *start_time = value;
  return 0;
}

// Checks that pid still has the expected start time: 0, -ESRCH (gone or a zombie) or
// -EXDEV (the pid now belongs to another process).
static int check_start_time(pid_t pid, unsigned long long expected) {
  char state;
  unsigned long long start_time;
  int rc = read_start_time(pid, &state, &start_time);
  if (rc != 0) return rc;
  if (start_time != expected) return -EXDEV;
  if (state == 'Z' || state == 'X') return -ESRCH;
  return 0;
}

// pidfdSignal(pid, expectedStartTime, signal) signals the process only if it is still the
// one that started at expectedStartTime, without a pid-reuse window:
//   1. pidfd_open(pid) refers to whatever process holds pid now;
//   2. /proc/<pid>/stat is read and its start time compared. A match proves the pidfd
//      refers to the expected process: that process already held pid before step 1 and
//      still held it at step 2, so it held it at step 1;
//   3. pidfd_send_signal reaches that process or, if it has died since, fails with ESRCH;
//      it never reaches a process that took the pid over.
// Returns 0 signalled through a pidfd; 1 signalled with kill(2) after the check because
// pidfd_open is unavailable (ENOSYS: kernel < 5.3; EPERM: a seccomp filter), which leaves
// a window of a few microseconds between check and kill; -ESRCH gone or a zombie; -EXDEV
// the pid belongs to another process (start time differs); any other -errno as returned
// by the kernel (-EPERM not allowed to signal, -EINVAL bad signal number or pid not a
// thread-group leader, -EMFILE out of descriptors).
static napi_value pidfd_signal(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "pidfdSignal(pid, expectedStartTime, signal) needs 3 arguments");
    return NULL;
  }
  int32_t pid;
  double expected_double;
  int32_t sig;
  if (napi_get_value_int32(env, args[0], &pid) != napi_ok || napi_get_value_double(env, args[1], &expected_double) != napi_ok ||
      napi_get_value_int32(env, args[2], &sig) != napi_ok) {
    napi_throw_type_error(env, NULL, "pidfdSignal: pid, expectedStartTime and signal must be numbers");
    return NULL;
  }
  // pid <= 0 would address process groups or every process through kill(2).
  if (pid <= 0 || !(expected_double >= 0 && expected_double <= 9007199254740991.0) ||
      expected_double != (double)(unsigned long long)expected_double) {
    napi_throw_range_error(env, NULL, "pidfdSignal: pid must be > 0 and expectedStartTime a non-negative integer");
    return NULL;
  }
  unsigned long long expected = (unsigned long long)expected_double;

  int rc;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pidfd < 0 && (errno == ENOSYS || errno == EPERM)) {
    rc = check_start_time(pid, expected);
    if (rc == 0) rc = kill(pid, sig) == 0 ? 1 : -errno;
  } else if (pidfd < 0) {
    rc = -errno;
  } else {
    rc = check_start_time(pid, expected);
    if (rc == 0 && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) != 0) rc = -errno;
    close(pidfd);
  }
  napi_value result;
  CHECK(napi_create_int32(env, rc, &result));
  return result;
}

// Reads argument i as an int32 into *out; throws a TypeError naming the call otherwise.
static bool int_arg(napi_env env, napi_value value, int32_t *out, const char *message) {
  if (napi_get_value_int32(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, NULL, message);
  return false;
}

// openAt(dirFd, path, flags, mode) -> fd. The caller passes O_NOFOLLOW (and O_NONBLOCK
// where a FIFO could be planted); O_CLOEXEC is added so no child inherits the descriptor.
static napi_value open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "openAt(dirFd, path, flags, mode): dirFd, flags and mode must be integers, path a string";
  int32_t dir_fd, flags, mode;
  if (argc < 4 || !int_arg(env, args[0], &dir_fd, usage) || !int_arg(env, args[2], &flags, usage) ||
      !int_arg(env, args[3], &mode, usage)) {
    if (argc < 4) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *path = dup_string(env, args[1]);
  if (path == NULL) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int fd;
  do {
    fd = openat(dir_fd, path, flags | O_CLOEXEC, (mode_t)mode);
  } while (fd < 0 && errno == EINTR);
  int err = errno;
  napi_value result = NULL;
  if (fd < 0) result = throw_errno(env, err, "openAt");
  else if (napi_create_int32(env, fd, &result) != napi_ok) close(fd);
  free(path);
  return result;
}

static napi_value rename_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "renameAt(oldDirFd, oldPath, newDirFd, newPath): descriptors must be integers, paths strings";
  int32_t old_dir, new_dir;
  if (argc < 4 || !int_arg(env, args[0], &old_dir, usage) || !int_arg(env, args[2], &new_dir, usage)) {
    if (argc < 4) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *old_path = dup_string(env, args[1]);
  char *new_path = dup_string(env, args[3]);
  napi_value result = NULL;
  if (old_path == NULL || new_path == NULL) napi_throw_type_error(env, NULL, usage);
  else if (renameat(old_dir, old_path, new_dir, new_path) != 0) result = throw_errno(env, errno, "renameAt");
  else napi_get_undefined(env, &result);
  free(old_path);
  free(new_path);
  return result;
}

static napi_value unlink_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "unlinkAt(dirFd, path, directory): dirFd an integer, path a string, directory a boolean";
  int32_t dir_fd;
  bool directory = false;
  if (argc < 3 || !int_arg(env, args[0], &dir_fd, usage)) {
    if (argc < 3) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (napi_get_value_bool(env, args[2], &directory) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *path = dup_string(env, args[1]);
  napi_value result = NULL;
  if (path == NULL) napi_throw_type_error(env, NULL, usage);
  else if (unlinkat(dir_fd, path, directory ? AT_REMOVEDIR : 0) != 0) result = throw_errno(env, errno, "unlinkAt");
  else napi_get_undefined(env, &result);
  free(path);
  return result;
}

// The kernel reads and writes an int through both ioctls, whatever their declared type says.
static napi_value get_inode_flags(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !int_arg(env, args[0], &fd, "getInodeFlags(fd): fd must be an integer")) {
    if (argc < 1) napi_throw_type_error(env, NULL, "getInodeFlags(fd) needs 1 argument");
    return NULL;
  }
  int flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return throw_errno(env, errno, "getInodeFlags");
  napi_value result;
  CHECK(napi_create_int32(env, flags, &result));
  return result;
}

static napi_value set_inode_flags(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "setInodeFlags(fd, flags): fd and flags must be integers";
  int32_t fd, flags;
  if (argc < 2 || !int_arg(env, args[0], &fd, usage) || !int_arg(env, args[1], &flags, usage)) {
    if (argc < 2) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int value = flags;
  if (ioctl(fd, FS_IOC_SETFLAGS, &value) != 0) return throw_errno(env, errno, "setInodeFlags");
  napi_value result;
  CHECK(napi_get_undefined(env, &result));
  return result;
}

// Gives free pages inside malloc's heaps back to the kernel (what is freed in the middle
// of a heap stays resident otherwise). Called after a full garbage collection.
static napi_value trim_malloc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_get_boolean(env, malloc_trim(0) == 1, &result));
  return result;
}

static void to_hex(const uint8_t *bytes, size_t length, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < length; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

static napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_typed = false;
  if (argc >= 1) CHECK(napi_is_typedarray(env, argv[0], &is_typed));
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void *data = NULL;
  if (is_typed) CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (!is_typed || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "sha256Hex(bytes) needs a Uint8Array");
    return NULL;
  }
  uint8_t digest[32];
  char hex[64];
  sha256(data, length, digest);
  to_hex(digest, sizeof digest, hex);
  napi_value result;
  CHECK(napi_create_string_latin1(env, hex, sizeof hex, &result));
  return result;
}

// Unpredictable names for temporary files, from getrandom(2) (no node:crypto at boot).
static napi_value random_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t count = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1 || count > 64) {
    napi_throw_range_error(env, NULL, "randomHex(bytes) needs 1 to 64 bytes");
    return NULL;
  }
  uint8_t bytes[64];
  size_t got = 0;
  while (got < (size_t)count) {
    ssize_t n = getrandom(bytes + got, (size_t)count - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, errno, "randomHex: getrandom");
    }
    got += (size_t)n;
  }
  char hex[128];
  to_hex(bytes, (size_t)count, hex);
  napi_value result;
  CHECK(napi_create_string_latin1(env, hex, (size_t)count * 2, &result));
  return result;
}

static napi_value drop_capabilities(napi_env env, napi_callback_info info);

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reapZombies", NULL, reap_zombies, NULL, NULL, NULL, napi_default, NULL},
      {"spawnIsolated", NULL, spawn_isolated, NULL, NULL, NULL, napi_default, NULL},
      {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_default, NULL},
      {"pidfdSignal", NULL, pidfd_signal, NULL, NULL, NULL, napi_default, NULL},
      {"openAt", NULL, open_at, NULL, NULL, NULL, napi_default, NULL},
      {"renameAt", NULL, rename_at, NULL, NULL, NULL, napi_default, NULL},
      {"unlinkAt", NULL, unlink_at, NULL, NULL, NULL, napi_default, NULL},
      {"getInodeFlags", NULL, get_inode_flags, NULL, NULL, NULL, napi_default, NULL},
      {"setInodeFlags", NULL, set_inode_flags, NULL, NULL, NULL, napi_default, NULL},
      {"dropCapabilities", NULL, drop_capabilities, NULL, NULL, NULL, napi_default, NULL},
      {"trimMalloc", NULL, trim_malloc, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_default, NULL},
      {"randomHex", NULL, random_hex, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  // PID 1 lives as long as the container. glibc raises its mmap threshold (up to 32 MB)
  // each time a large mmapped block is freed, after which such blocks come from the brk
  // heap and fragment it for good: 10-17 MB of growth over a few hundred restarts,
  // measured. A fixed threshold turns that adjustment off; blocks of 64 kB and more are
  // mapped and given back on free.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

// ---- dropCapabilities ----------------------------------------------------------------
// Removes capabilities from the bounding, permitted, effective and inheritable sets (and so
// the ambient set) of every thread of this process, without a new program: what a re-exec
// through `setpriv --bounding-set` gives root, at a fraction of its cost. Capability sets
// belong to threads (PR_CAPBSET_DROP and capset act on the caller only), so each thread
// drops its own in the handler of an otherwise unused real-time signal sent with tgkill,
// thread after thread, until a listing of /proc/self/task names no thread not yet done
// (a thread started meanwhile by one not yet done would have copied the full sets).
// -ETIMEDOUT when a thread does not answer within a second (it blocks the signal): the
// caller must then not trust the result (the boot chain verifies every thread and falls
// back to the re-exec). Needs CAP_SETPCAP.
#include <linux/capability.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static uint64_t drop_mask;
static atomic_int drops_done;
static atomic_int drops_failed;

static int drop_own_capabilities(uint64_t mask) {
  for (int cap = 0; cap < 64; cap++) {
    if (((mask >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -errno;
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) != 0) return -errno;
  for (int i = 0; i < 2; i++) {
    uint32_t keep = ~(uint32_t)(mask >> (32 * i));
    data[i].effective &= keep;
    data[i].permitted &= keep;
    data[i].inheritable &= keep;
  }
  return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

static void drop_in_thread(int sig) {
  (void)sig;
  int saved = errno;
  if (drop_own_capabilities(drop_mask) != 0) atomic_fetch_add(&drops_failed, 1);
  atomic_fetch_add(&drops_done, 1);
  errno = saved;
}

// Signals every listed thread not yet in done[]; returns how many it signalled, or -errno.
static int signal_new_threads(int sig, pid_t *done, int *ndone, int capacity) {
  DIR *dir = opendir("/proc/self/task");
  if (dir == NULL) return -errno;
  pid_t self = (pid_t)syscall(SYS_gettid);
  int sent = 0;
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    pid_t tid = (pid_t)atoi(entry->d_name);
    if (tid <= 0 || tid == self) continue;
    int seen = 0;
    for (int i = 0; i < *ndone && !seen; i++) seen = done[i] == tid;
    if (seen) continue;
    if (*ndone == capacity) { sent = -E2BIG; break; }
    if (syscall(SYS_tgkill, getpid(), tid, sig) != 0) continue;  // gone meanwhile
    done[(*ndone)++] = tid;
    sent++;
  }
  closedir(dir);
  return sent;
}

static int drop_everywhere(uint64_t mask) {
  // A real-time signal nobody handles (Node, libuv and V8 use none of them).
  int sig = -1;
  struct sigaction old;
  for (int candidate = SIGRTMAX; candidate > SIGRTMIN && sig < 0; candidate--) {
    if (sigaction(candidate, NULL, &old) == 0 && old.sa_handler == SIG_DFL) sig = candidate;
  }
  if (sig < 0) return -EBUSY;
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = drop_in_thread;
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_RESTART;
  drop_mask = mask;
  atomic_store(&drops_done, 0);
  atomic_store(&drops_failed, 0);
  if (sigaction(sig, &act, NULL) != 0) return -errno;

  enum { MAX_THREADS = 1024 };
  static pid_t done[MAX_THREADS];
  int ndone = 0, sent = 0, rc = 0;
  for (;;) {
    int n = signal_new_threads(sig, done, &ndone, MAX_THREADS);
    if (n < 0) { rc = n; break; }
    if (n == 0) break;
    sent += n;
    struct timespec pause = {0, 100000};  // 0.1 ms, at most 10000 times
    for (int waited = 0; atomic_load(&drops_done) < sent && waited < 10000; waited++) nanosleep(&pause, NULL);
    if (atomic_load(&drops_done) < sent) { rc = -ETIMEDOUT; break; }
  }
  if (rc == 0 && atomic_load(&drops_failed) > 0) rc = -EPERM;
  if (rc == 0) rc = drop_own_capabilities(mask);
  // SIG_IGN, not the old SIG_DFL: a signal still pending for a late thread is discarded
  // instead of killing the process (the default action of a real-time signal).
  act.sa_handler = SIG_IGN;
  sigaction(sig, &act, NULL);
  return rc;
}

static napi_value drop_capabilities(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t length = 0;
  if (argc < 1 || napi_get_array_length(env, argv[0], &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "dropCapabilities: expected an array of capability numbers");
    return NULL;
  }
  uint64_t mask = 0;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    int32_t cap;
    CHECK(napi_get_element(env, argv[0], i, &item));
    if (napi_get_value_int32(env, item, &cap) != napi_ok || cap < 0 || cap > 63) {
      napi_throw_range_error(env, NULL, "dropCapabilities: capability numbers are 0 to 63");
      return NULL;
    }
    mask |= (uint64_t)1 << cap;
  }
  napi_value result;
  CHECK(napi_create_int32(env, drop_everywhere(mask), &result));
  return result;
}
