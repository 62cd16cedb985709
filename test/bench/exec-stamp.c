// Prints CLOCK_MONOTONIC in nanoseconds as soon as it runs: the moment the init's child
// was exec'ed, on the same clock as Node's process.hrtime.
#include <stdio.h>
#include <time.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  return 0;
}
