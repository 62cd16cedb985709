// /proc/<pid>/stat, read with one read(2) so that its fields belong to one moment.
#define _GNU_SOURCE
#include "proc-stat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The comm field (2) may hold spaces and parentheses, so fields are counted from the last
// ')'; from there on they are single-space separated numbers or the state letter.
static int parse_proc_stat(char *line, struct proc_stat *out) {
  char *p = strrchr(line, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0') return -EIO;
  p += 2;
  char state = *p++;
  long ppid = -1;
  // Fields 4 .. 21 (ppid .. itrealvalue) are stepped over, ppid read on the way; p ends
  // on the space before field 22, starttime.
  for (int field = 4; field < 22; field++) {
    if (*p != ' ') return -EIO;
    while (*p == ' ') p++;
    char *token = p;
    while (*p != ' ' && *p != '\0') p++;
    if (field == 4) {
      char *end;
      ppid = strtol(token, &end, 10);
      if (end != p) return -EIO;
    }
  }
  char *end;
  errno = 0;
  unsigned long long start_time = strtoull(p, &end, 10);
  if (end == p || errno != 0) return -EIO;
  out->state = state;
  out->ppid = (pid_t)ppid;
  out->start_time = start_time;
  return 0;
}

int read_proc_stat(pid_t pid, struct proc_stat *out) {
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
  return parse_proc_stat(buf, out);
}
