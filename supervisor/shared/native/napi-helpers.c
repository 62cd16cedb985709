// Argument copying and errors shared by the exports (declared in addon.h).
#include "addon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A copy, because N-API gives no pointer into a JS string and the strings must outlive
// the call that read them (spawn.c hands them to a vforked child).
char *dup_string(napi_env env, napi_value value) {
  size_t len;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, value, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

void free_vector(char **v) {
  if (v == NULL) return;
  for (char **p = v; *p != NULL; p++) free(*p);
  free(v);
}

// NULL-terminated, the shape execve wants for argv and envp.
char **dup_vector(napi_env env, napi_value array) {
  uint32_t len;
  if (napi_get_array_length(env, array, &len) != napi_ok) return NULL;
  char **v = calloc(len + 1, sizeof(char *));
  if (v == NULL) return NULL;
  for (uint32_t i = 0; i < len; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok || (v[i] = dup_string(env, item)) == NULL) {
      free_vector(v);
      return NULL;
    }
  }
  return v;
}

// .errno lets the TypeScript side tell causes apart without parsing the message.
napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value msg, error, code;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

bool int_arg(napi_env env, napi_value value, int32_t *out, const char *message) {
  if (napi_get_value_int32(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, NULL, message);
  return false;
}
