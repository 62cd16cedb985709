// What the addon's files share: the N-API error path, argument copying and the functions
// the export table in addon.c names.
#ifndef SANDBOX_SUPERVISOR_ADDON_H
#define SANDBOX_SUPERVISOR_ADDON_H
#include <node_api.h>

#include <stdbool.h>
#include <stdint.h>

// The message names the failed call, so a wrong argument type shows up as the call that
// rejected it. Two macros rather than one calling the other: an argument passed through a
// second macro is expanded before it is stringified (NULL would read ((void *)0)).
#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "reaper: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

#define CHECK_OR_FALSE(call)                                          \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "reaper: N-API call failed: " #call); \
      return false;                                                   \
    }                                                                 \
  } while (0)

// Hidden: the node executable that loads the addon exports thousands of symbols, and none
// of them may take the place of these; the addon exports only its module entry point.
#pragma GCC visibility push(hidden)

// napi-helpers.c. The copies are malloc'd; NULL when the value is not a string (array of
// strings) or memory ran out.
char *dup_string(napi_env env, napi_value value);
char **dup_vector(napi_env env, napi_value array);
void free_vector(char **v);
// Throws an Error "<what>: <strerror>" with .errno = err; returns NULL for the caller to return.
napi_value throw_errno(napi_env env, int err, const char *what);
// false, with a TypeError carrying message thrown, when value is not an int32.
bool int_arg(napi_env env, napi_value value, int32_t *out, const char *message);

// memory.c
void fix_mmap_threshold(void);

// The exports, by file.
napi_value reap_zombies(napi_env env, napi_callback_info info);          // reap.c
napi_value set_child_subreaper(napi_env env, napi_callback_info info);   // reap.c
napi_value spawn_isolated(napi_env env, napi_callback_info info);        // spawn.c
napi_value output_pipe(napi_env env, napi_callback_info info);           // spawn.c
napi_value pidfd_signal(napi_env env, napi_callback_info info);          // pidfd-signal.c
napi_value open_at(napi_env env, napi_callback_info info);               // fs-at.c
napi_value rename_at(napi_env env, napi_callback_info info);             // fs-at.c
napi_value unlink_at(napi_env env, napi_callback_info info);             // fs-at.c
napi_value get_inode_flags(napi_env env, napi_callback_info info);       // fs-at.c
napi_value set_inode_flags(napi_env env, napi_callback_info info);       // fs-at.c
napi_value drop_capabilities(napi_env env, napi_callback_info info);     // capability-drop.c
napi_value trim_malloc(napi_env env, napi_callback_info info);           // memory.c
napi_value sha256_hex(napi_env env, napi_callback_info info);            // digest.c
napi_value random_hex(napi_env env, napi_callback_info info);            // digest.c
napi_value tcp_listeners(napi_env env, napi_callback_info info);         // tcp-listeners.c

#pragma GCC visibility pop

#endif
