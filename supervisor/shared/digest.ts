// SHA-256 and random names through the native addon that useNativeFs registered (dir-fd.ts).
// node:crypto would cost every boot 37 built-in modules compiled from source: the V8 flags
// the executable runs with make Node reject its own code cache (docs/startup-and-memory.md).
import { nativeFs } from "./dir-fd.js";

/** SHA-256 of the bytes, as 64 lowercase hex digits (what sha256sum prints). */
export function sha256Hex(bytes: Uint8Array): string {
  return nativeFs().sha256Hex(bytes);
}

/** count (1 to 64) unpredictable bytes, as lowercase hex. */
export function randomHex(count: number): string {
  return nativeFs().randomHex(count);
}
