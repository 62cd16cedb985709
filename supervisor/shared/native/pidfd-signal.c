// pidfdSignal(pid, expectedStartTime, signal) -> 0 | 1 | -errno: signals a process the
// supervisor knows by pid and start time, never a process that has taken its pid over.
#define _GNU_SOURCE
#include "addon.h"
#include "proc-stat.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

// Same numbers on x86_64 and aarch64 (and every other arch since Linux 5.1/5.3).
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// Checks that pid still has the expected start time: 0, -ESRCH (gone or a zombie) or
// -EXDEV (the pid now belongs to another process).
static int check_start_time(pid_t pid, unsigned long long expected) {
  struct proc_stat ps;
  int rc = read_proc_stat(pid, &ps);
  if (rc != 0) return rc;
  if (ps.start_time != expected) return -EXDEV;
  if (ps.state == 'Z' || ps.state == 'X') return -ESRCH;
  return 0;
}

// The signal goes out without a pid-reuse window:
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
static int signal_if_same(pid_t pid, unsigned long long expected, int sig) {
  int rc;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
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
  return rc;
}

napi_value pidfd_signal(napi_env env, napi_callback_info info) {
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
  int rc = signal_if_same(pid, (unsigned long long)expected_double, sig);
  napi_value result;
  CHECK(napi_create_int32(env, rc, &result));
  return result;
}
