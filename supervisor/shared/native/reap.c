// Orphan reaping: an init inherits every orphan of the container and must collect its
// exit status, or the zombies fill the process table. Only zombies whose parent is this
// process are waited for, and never one libuv waits for (see reap_if_orphan). The
// candidates are this process's own children, read from each of its threads' children
// file: never a walk of all of /proc, which thousands of idle processes of the sandbox user
// would make cost as much as they like at every burst of exits.
//
//   reapZombies(exclude: Int32Array) -> number[]  flat [pid, rawWaitStatus, ...]
//   setChildSubreaper() -> boolean                when not PID 1, orphans come here anyway
#define _GNU_SOURCE
#include "addon.h"
#include "proc-stat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_excluded(pid_t pid, const int32_t *exclude, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (exclude[i] == pid) return 1;
  }
  return 0;
}

// Waits for pid only when it is our zombie: waitpid(-1) would also take the children
// libuv is about to wait for. 0 with the raw wait status in *status, or -1 when pid is
// not ours to reap (or is gone).
static int reap_if_orphan(pid_t pid, pid_t self, const int32_t *exclude, size_t exclude_count, int *status) {
  struct proc_stat ps;
  if (read_proc_stat(pid, &ps) != 0) return -1;
  if (ps.state != 'Z' || ps.ppid != self) return -1;
  // Children Node spawned are libuv's to wait for: reaping them would steal their
  // exit status and leave libuv's handle waiting forever.
  if (is_excluded(pid, exclude, exclude_count)) return -1;
  pid_t got;
  do {
    got = waitpid(pid, status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  return got == pid ? 0 : -1;
}

struct reaped {
  napi_env env;
  napi_value result;
  uint32_t out;
  pid_t self;
  const int32_t *exclude;
  size_t exclude_count;
};

static int reap_one(struct reaped *r, pid_t pid) {
  int status = 0;
  if (reap_if_orphan(pid, r->self, r->exclude, r->exclude_count, &status) != 0) return 0;
  napi_value v;
  if (napi_create_int32(r->env, pid, &v) != napi_ok || napi_set_element(r->env, r->result, r->out++, v) != napi_ok) return -1;
  if (napi_create_int32(r->env, status, &v) != napi_ok || napi_set_element(r->env, r->result, r->out++, v) != napi_ok) return -1;
  return 0;
}

// The pids in one thread's children file, read in chunks: a pid split between two chunks
// is carried over, so any number of children is read with a fixed buffer.
static int reap_children_of(struct reaped *r, const char *tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%s/children", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[4096];
  long pid = 0;
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++) {
      if (buffer[i] >= '0' && buffer[i] <= '9') {
        pid = pid * 10 + (buffer[i] - '0');
      } else if (pid > 0) {
        if (reap_one(r, (pid_t)pid) != 0) goto failed;
        pid = 0;
      }
    }
  }
  if (pid > 0 && reap_one(r, (pid_t)pid) != 0) goto failed;
  close(fd);
  return 0;
failed:
  close(fd);
  return -1;
}

napi_value reap_zombies(napi_env env, napi_callback_info info) {
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

  struct reaped r = { env, NULL, 0, getpid(), exclude, exclude_count };
  CHECK(napi_create_array(env, &r.result));
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == NULL) return r.result;
  struct dirent *entry;
  while ((entry = readdir(tasks)) != NULL) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    if (reap_children_of(&r, entry->d_name) != 0) {
      closedir(tasks);
      napi_throw_error(env, NULL, "reapZombies: cannot build the result");
      return NULL;
    }
  }
  closedir(tasks);
  return r.result;
}

napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result));
  return result;
}
