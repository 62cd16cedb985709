// signal-probe DELAY_US PROGRAM ARGS...: runs PROGRAM as PID 1 of a new PID namespace (with
// its own /proc), sends it SIGTERM DELAY_US microseconds after the moment it was exec'ed, and
// prints the status PID 1 ended with (128+N when killed by signal N). An init that forwards
// the TERM to a child that dies of it ends with 143; one that never saw it ends with its
// child's own status. As root (unshare needs CAP_SYS_ADMIN).
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  long delay_us = atol(argv[1]);
  int pipefd[2];
  if (pipe(pipefd) != 0 || unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
    perror("signal-probe");
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) _exit(126);
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    if (write(pipefd[1], &at, sizeof at) != sizeof at) _exit(126);
    close(pipefd[1]);
    execv(argv[2], argv + 2);
    _exit(127);
  }
  close(pipefd[1]);
  struct timespec at;
  if (pid < 0 || read(pipefd[0], &at, sizeof at) != sizeof at) return 2;
  at.tv_nsec += (delay_us % 1000000) * 1000;
  at.tv_sec += delay_us / 1000000 + at.tv_nsec / 1000000000;
  at.tv_nsec %= 1000000000;
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
  kill(pid, SIGTERM);
  int status;
  if (waitpid(pid, &status, 0) != pid) return 2;
  printf("%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
