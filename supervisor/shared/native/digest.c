// What keeps node:crypto out of boot (docs/startup-and-memory.md):
//   sha256Hex(bytes: Uint8Array) -> string         SHA-256 (sha256.c), 64 hex digits
//   randomHex(count) -> string                     count (1-64) bytes of getrandom(2), as hex
#define _GNU_SOURCE
#include "addon.h"
#include "sha256.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

static void to_hex(const uint8_t *bytes, size_t length, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < length; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_typed = false;
  if (argc >= 1) CHECK(napi_is_typedarray(env, argv[0], &is_typed));
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void *data = NULL;
  if (is_typed) CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (!is_typed || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "sha256Hex(bytes) needs a Uint8Array");
    return NULL;
  }
  uint8_t digest[32];
  char hex[64];
  sha256(data, length, digest);
  to_hex(digest, sizeof digest, hex);
  napi_value result;
  CHECK(napi_create_string_latin1(env, hex, sizeof hex, &result));
  return result;
}

// Unpredictable names for temporary files, from getrandom(2) (no node:crypto at boot).
napi_value random_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t count = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &count) != napi_ok || count < 1 || count > 64) {
    napi_throw_range_error(env, NULL, "randomHex(bytes) needs 1 to 64 bytes");
    return NULL;
  }
  uint8_t bytes[64];
  size_t got = 0;
  while (got < (size_t)count) {
    ssize_t n = getrandom(bytes + got, (size_t)count - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, errno, "randomHex: getrandom");
    }
    got += (size_t)n;
  }
  char hex[128];
  to_hex(bytes, (size_t)count, hex);
  napi_value result;
  CHECK(napi_create_string_latin1(env, hex, (size_t)count * 2, &result));
  return result;
}
