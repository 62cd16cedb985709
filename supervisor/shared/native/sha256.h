// SHA-256 (FIPS 180-4) of a buffer, for the config's integrity record: the boot chain
// hashes the config at every start, and node:crypto would cost it 37 built-in modules
// compiled from source (see docs/startup-and-memory.md).
#ifndef SANDBOX_SUPERVISOR_SHA256_H
#define SANDBOX_SUPERVISOR_SHA256_H
#include <stddef.h>
#include <stdint.h>

void sha256(const uint8_t *data, size_t length, uint8_t digest[32]);

#endif
