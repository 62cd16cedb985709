// pid1-probe: runs a program as PID 1 of a new PID namespace with its own /proc (optionally
// chrooted into a root file system, with the host's /dev), the way a container runtime starts an init, and
// measures it from the instant of its exec. As root (unshare needs CAP_SYS_ADMIN).
//
//   pid1-probe [--root DIR] time PROGRAM ARGS...
//       prints "STATUS MICROSECONDS": PID 1's exit status (128+N if killed by signal N) and
//       the time from its exec to its exit.
//   pid1-probe [--root DIR] term DELAY_US PROGRAM ARGS...
//       sends PID 1 SIGTERM DELAY_US microseconds after its exec; prints "STATUS". An init
//       that passes the TERM on to a child that dies of it ends with 143; one that never
//       saw it (PID 1 ignores signals it has no handler for) ends with its child's status.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long since_us(const struct timespec *from) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - from->tv_sec) * 1000000LL + (now.tv_nsec - from->tv_nsec) / 1000;
}

int main(int argc, char **argv) {
  const char *root = NULL;
  int arg = 1;
  if (arg + 1 < argc && strcmp(argv[arg], "--root") == 0) root = argv[arg + 1], arg += 2;
  if (arg >= argc) return 2;
  int term = strcmp(argv[arg], "term") == 0;
  if (!term && strcmp(argv[arg], "time") != 0) return 2;
  arg++;
  long delay_us = term && arg < argc ? atol(argv[arg++]) : 0;
  if (arg >= argc) return 2;

  int pipefd[2];
  if (pipe(pipefd) != 0 || unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
    perror("pid1-probe");
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    char proc[4096], dev[4096];
    snprintf(proc, sizeof proc, "%s/proc", root ? root : "");
    snprintf(dev, sizeof dev, "%s/dev", root ? root : "");
    // A root file system unpacked from an image has an empty /dev: the host's stands in for
    // the one a container runtime would mount (/dev/null, /dev/urandom).
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 ||
        (root && (mount("/dev", dev, NULL, MS_BIND | MS_REC, NULL) != 0 || chroot(root) != 0 || chdir("/") != 0))) {
      perror("pid1-probe: set-up");
      _exit(126);
    }
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    if (write(pipefd[1], &at, sizeof at) != sizeof at) _exit(126);
    close(pipefd[1]);
    execv(argv[arg], argv + arg);
    perror("pid1-probe: exec");
    _exit(127);
  }
  close(pipefd[1]);
  struct timespec at;
  if (pid < 0 || read(pipefd[0], &at, sizeof at) != sizeof at) return 2;
  if (term) {
    struct timespec when = at;
    when.tv_nsec += (delay_us % 1000000) * 1000;
    when.tv_sec += delay_us / 1000000 + when.tv_nsec / 1000000000;
    when.tv_nsec %= 1000000000;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, NULL);
    kill(pid, SIGTERM);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) return 2;
  long long elapsed = since_us(&at);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (term) printf("%d\n", code);
  else printf("%d %lld\n", code, elapsed);
  return 0;
}
