// Orphan reaping: an init inherits every orphan of the container and must collect its
// exit status, or the zombies fill the process table. Only zombies whose parent is this
// process are waited for, and never one libuv waits for (see reap_if_orphan).
//
//   reapZombies(exclude: Int32Array) -> number[]  flat [pid, rawWaitStatus, ...]
//   setChildSubreaper() -> boolean                when not PID 1, orphans come here anyway
#define _GNU_SOURCE
#include "addon.h"
#include "proc-stat.h"

#include <dirent.h>
#include <errno.h>
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
    int status = 0;
    if (reap_if_orphan(pid, self, exclude, exclude_count, &status) != 0) continue;
    napi_value v;
    CHECK(napi_create_int32(env, pid, &v));
    CHECK(napi_set_element(env, result, out++, v));
    CHECK(napi_create_int32(env, status, &v));
    CHECK(napi_set_element(env, result, out++, v));
  }
  closedir(proc);
  return result;
}

napi_value set_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_get_boolean(env, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, &result));
  return result;
}
