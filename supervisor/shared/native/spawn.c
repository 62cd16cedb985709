// spawnIsolated(file, argv[], envp[], cwd, foreground[, [outFd, errFd]]) -> pid (throws with
// .errno): starts a child in its own process group, optionally owning the terminal, which
// child_process cannot do (its `detached` also makes a new session, and nothing gives the
// terminal). An exec failure is thrown here rather than reported as an exit 127 later.
// outFd and errFd, when given, become the child's stdout and stderr (the gateway's output
// wrapped by PID 1); otherwise it inherits the supervisor's.
//
// outputPipe() -> [readFd, writeFd]: a close-on-exec pipe for that, of 1 MiB when the
// kernel allows, so a burst of output waits in the pipe rather than in the writer.
#define _GNU_SOURCE
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct spawn_request {
  char *file;
  char **argv;
  char **envp;
  char *cwd;  // "" for the supervisor's own
  bool foreground;
  int out_fd;  // -1: inherit
  int err_fd;  // -1: inherit
};

// false with an exception pending; what was copied before the failure is still in req
// for free_request.
static bool read_request(napi_env env, napi_callback_info info, struct spawn_request *req) {
  size_t argc = 6;
  napi_value args[6];
  CHECK_OR_FALSE(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "spawnIsolated(file, argv, envp, cwd, foreground[, stdio]) needs 5 arguments");
    return false;
  }
  bool foreground = false;
  CHECK_OR_FALSE(napi_get_value_bool(env, args[4], &foreground));
  req->foreground = foreground;
  req->out_fd = -1;
  req->err_fd = -1;
  napi_valuetype stdio_type = napi_undefined;
  if (argc >= 6) CHECK_OR_FALSE(napi_typeof(env, args[5], &stdio_type));
  if (stdio_type != napi_undefined) {
    napi_value out, err;
    bool is_array = false;
    CHECK_OR_FALSE(napi_is_array(env, args[5], &is_array));
    if (!is_array || napi_get_element(env, args[5], 0, &out) != napi_ok || napi_get_element(env, args[5], 1, &err) != napi_ok ||
        napi_get_value_int32(env, out, &req->out_fd) != napi_ok || napi_get_value_int32(env, err, &req->err_fd) != napi_ok ||
        req->out_fd < 0 || req->err_fd < 0) {
      napi_throw_type_error(env, NULL, "spawnIsolated: stdio must be [outFd, errFd], two open descriptors");
      return false;
    }
  }
  req->file = dup_string(env, args[0]);
  req->argv = dup_vector(env, args[1]);
  req->envp = dup_vector(env, args[2]);
  req->cwd = dup_string(env, args[3]);
  if (req->file == NULL || req->argv == NULL || req->envp == NULL || req->cwd == NULL) {
    napi_throw_type_error(env, NULL, "spawnIsolated: arguments must be strings and string arrays");
    return false;
  }
  return true;
}

static void free_request(struct spawn_request *req) {
  free(req->file);
  free(req->cwd);
  free_vector(req->argv);
  free_vector(req->envp);
}

// In the vforked child: tcsetpgrp from a background group raises SIGTTOU unless it is
// blocked (the mask is reset before exec anyway); a terminal that is not ours (ENOTTY,
// ENXIO) is no reason to fail.
static int take_terminal(void) {
  if (!isatty(STDIN_FILENO)) return 0;
  sigset_t ttou;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, NULL);
  if (tcsetpgrp(STDIN_FILENO, getpgrp()) != 0 && errno != ENOTTY && errno != ENXIO) return -1;
  return 0;
}

// Node ignores SIGPIPE and installs handlers; a child must start with defaults.
static void reset_signals(void) {
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
}

// Node marks its stdio close-on-exec and may have made the shared descriptions
// non-blocking; the child must inherit blocking stdio (libuv does the same).
static void inheritable_blocking_stdio(void) {
  for (int fd = 0; fd <= 2; fd++) {
    fcntl(fd, F_SETFD, 0);
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
}

// Runs in the vforked child, on this thread's stack and memory: only system calls, no
// allocation and no return, until execve or _exit.
static void child_exec(int report_fd, const struct spawn_request *req) {
  int err;
  if (setpgid(0, 0) != 0) goto fail;
  if (req->foreground && take_terminal() != 0) goto fail;
  reset_signals();
  // dup2 clears close-on-exec on the copy: the pipe's write ends become fds 1 and 2.
  if (req->out_fd >= 0 && dup2(req->out_fd, STDOUT_FILENO) < 0) goto fail;
  if (req->err_fd >= 0 && dup2(req->err_fd, STDERR_FILENO) < 0) goto fail;
  inheritable_blocking_stdio();
  if (req->cwd[0] != '\0' && chdir(req->cwd) != 0) goto fail;
  execve(req->file, req->argv, req->envp);
fail:
  err = errno;
  while (write(report_fd, &err, sizeof err) < 0 && errno == EINTR) {
  }
  _exit(127);
}

// The child's pid, or -errno when vfork failed. Closes the write end of report in the
// parent, so that its read sees EOF once the child has exec'd.
static pid_t fork_exec(const struct spawn_request *req, int report[2]) {
  sigset_t all, old;
  sigfillset(&all);
  // No signal handler of Node's may run in the child between fork and exec.
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // vfork, as glibc's posix_spawn does: the child borrows this address space until its
  // exec instead of copying the page tables of a 100 MB process (about half the cost of a
  // launch: 0.6 vs 1.3 ms measured). It is safe because this thread waits for the exec
  // anyway, the child touches only the strings copied by read_request and makes only
  // system calls, and its signal handler table is its own copy (no CLONE_SIGHAND), reset
  // before the mask is lifted.
  pid_t pid = vfork();
  if (pid == 0) {
    close(report[0]);
    child_exec(report[1], req);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(report[1]);
  return pid < 0 ? -fork_errno : pid;
}

// EOF on the report pipe means the exec happened; four bytes are the errno that stopped
// it, and the child that reported it has exited with 127 and is reaped here, since the
// caller never learns its pid.
static napi_value await_exec(napi_env env, pid_t pid, int report_fd, const char *file) {
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report_fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report_fd);
  if (n == (ssize_t)sizeof child_errno) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return throw_errno(env, child_errno, file);
  }
  napi_value result;
  CHECK(napi_create_int32(env, pid, &result));
  return result;
}

static napi_value launch(napi_env env, const struct spawn_request *req) {
  // Close-on-exec, so that a successful exec closes the child's end by itself.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return throw_errno(env, errno, "spawnIsolated: pipe");
  pid_t pid = fork_exec(req, report);
  if (pid < 0) {
    close(report[0]);
    return throw_errno(env, -pid, "spawnIsolated: vfork");
  }
  // Also set the group from the parent so a signal forwarded right after we return
  // reaches the child's group even if the child has not run yet.
  setpgid(pid, pid);
  return await_exec(env, pid, report[0], req->file);
}

napi_value spawn_isolated(napi_env env, napi_callback_info info) {
  struct spawn_request req = {0};
  napi_value result = NULL;
  if (read_request(env, info, &req)) result = launch(env, &req);
  free_request(&req);
  return result;
}

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

napi_value output_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, errno, "outputPipe: pipe");
  // Best effort: 1 MiB is the default pipe-max-size; the default 64 kB is kept otherwise.
  (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
  napi_value result, read_end, write_end;
  if (napi_create_array_with_length(env, 2, &result) != napi_ok || napi_create_int32(env, fds[0], &read_end) != napi_ok ||
      napi_create_int32(env, fds[1], &write_end) != napi_ok || napi_set_element(env, result, 0, read_end) != napi_ok ||
      napi_set_element(env, result, 1, write_end) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    return NULL;
  }
  return result;
}
