// The native addon: the few things an init needs that Node cannot do. Each export lives in
// the file that holds its job (see addon.h); this file only publishes them.
//
//   reapZombies(exclude: Int32Array) -> number[]         reap.c
//   setChildSubreaper() -> boolean                       reap.c
//   spawnIsolated(file, argv[], envp[], cwd, foreground[, stdio]), outputPipe() spawn.c
//   pidfdSignal(pid, expectedStartTime, signal)          pidfd-signal.c
//   openAt, renameAt, unlinkAt, getInodeFlags, setInodeFlags   fs-at.c
//   dropCapabilities(capabilityNumbers[])                capability-drop.c
//   trimMalloc() -> boolean                              memory.c
//   sha256Hex(bytes), randomHex(count)                   digest.c
//   tcpListeners(port) -> number[]                       tcp-listeners.c
#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"reapZombies", NULL, reap_zombies, NULL, NULL, NULL, napi_default, NULL},
      {"spawnIsolated", NULL, spawn_isolated, NULL, NULL, NULL, napi_default, NULL},
      {"outputPipe", NULL, output_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"setChildSubreaper", NULL, set_child_subreaper, NULL, NULL, NULL, napi_default, NULL},
      {"pidfdSignal", NULL, pidfd_signal, NULL, NULL, NULL, napi_default, NULL},
      {"openAt", NULL, open_at, NULL, NULL, NULL, napi_default, NULL},
      {"renameAt", NULL, rename_at, NULL, NULL, NULL, napi_default, NULL},
      {"unlinkAt", NULL, unlink_at, NULL, NULL, NULL, napi_default, NULL},
      {"getInodeFlags", NULL, get_inode_flags, NULL, NULL, NULL, napi_default, NULL},
      {"setInodeFlags", NULL, set_inode_flags, NULL, NULL, NULL, napi_default, NULL},
      {"dropCapabilities", NULL, drop_capabilities, NULL, NULL, NULL, napi_default, NULL},
      {"trimMalloc", NULL, trim_malloc, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_default, NULL},
      {"randomHex", NULL, random_hex, NULL, NULL, NULL, napi_default, NULL},
      {"tcpListeners", NULL, tcp_listeners, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  // At load rather than on first use: the threshold must be fixed before PID 1 frees its
  // first large block.
  fix_mmap_threshold();
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
