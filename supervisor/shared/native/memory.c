// What keeps PID 1's memory flat over months of restarts (docs/startup-and-memory.md):
//   trimMalloc() -> boolean    malloc_trim(0): free heap pages back to the kernel
// and the fixed mmap threshold set when the addon loads.
#define _GNU_SOURCE
#include "addon.h"

#include <malloc.h>

// Gives free pages inside malloc's heaps back to the kernel (what is freed in the middle
// of a heap stays resident otherwise). Called after a full garbage collection.
napi_value trim_malloc(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_get_boolean(env, malloc_trim(0) == 1, &result));
  return result;
}

// PID 1 lives as long as the container. glibc raises its mmap threshold (up to 32 MB)
// each time a large mmapped block is freed, after which such blocks come from the brk
// heap and fragment it for good: 10-17 MB of growth over a few hundred restarts,
// measured. A fixed threshold turns that adjustment off; blocks of 64 kB and more are
// mapped and given back on free.
void fix_mmap_threshold(void) {
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
}
