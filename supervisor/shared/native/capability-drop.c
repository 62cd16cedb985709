// dropCapabilities(capabilityNumbers[]) -> 0 | -errno.
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
#define _GNU_SOURCE
#include "addon.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

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

napi_value drop_capabilities(napi_env env, napi_callback_info info) {
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
