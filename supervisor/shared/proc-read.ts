// Reads of small /proc files on PID 1's steady paths (the probes and the progress meter read
// a handful every few seconds). They share one scratch buffer: a fresh Buffer per read is
// malloc'ed outside V8's heap and only freed when a garbage collection finds it, so an idle
// PID 1's malloc heap grew by about 100 kB a second between collections (measured with
// uprobes on malloc), where these reads now allocate only the strings they return.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";

const SCRATCH_BYTES = 16 * 1024;
let scratch: Buffer | undefined;

/**
 * The file's text (latin1), read through the scratch buffer; a file longer than `limit`
 * is cut at `limit` bytes (default: no limit). Throws what open and read throw (ENOENT
 * for a process gone).
 */
export function readProcText(path: string, limit = Number.POSITIVE_INFINITY): string {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  const fd = openSync(path, "r");
  try {
    const length = readInto(fd, scratch, Math.min(limit, SCRATCH_BYTES));
    if (length < SCRATCH_BYTES || limit <= SCRATCH_BYTES) return scratch.toString("latin1", 0, length);
    // Rare: longer than the scratch buffer (a process with thousands of children).
    if (!Number.isFinite(limit)) return scratch.toString("latin1", 0, length) + readFileSync(fd, "latin1");
    const whole = Buffer.allocUnsafe(limit);
    scratch.copy(whole, 0, 0, length);
    return whole.toString("latin1", 0, length + readInto(fd, whole.subarray(length), limit - length));
  } finally {
    closeSync(fd);
  }
}

/** Reads from the file's current offset until the end or `room` bytes; how many came. */
function readInto(fd: number, buffer: Buffer, room: number): number {
  let length = 0;
  for (let n = -1; n !== 0 && length < room; length += n) n = readSync(fd, buffer, length, room - length, null);
  return length;
}
