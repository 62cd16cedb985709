// The one reader of /proc/<pid>/stat, for the reaper (state, parent) and the pidfd check
// (state, start time).
#ifndef SANDBOX_SUPERVISOR_PROC_STAT_H
#define SANDBOX_SUPERVISOR_PROC_STAT_H
#include <sys/types.h>

struct proc_stat {
  char state;                     // field 3: R, S, D, Z, X, ...
  pid_t ppid;                     // field 4
  unsigned long long start_time;  // field 22, clock ticks after boot
};

#pragma GCC visibility push(hidden)
// 0, or -errno: -ESRCH when the process is gone, -EIO when the line cannot be parsed.
int read_proc_stat(pid_t pid, struct proc_stat *out);
#pragma GCC visibility pop

#endif
