// Errors that say PID 1 itself lacks a resource, not that the gateway failed: a probe that
// cannot open a socket (the sandbox user can exhaust ephemeral ports or file descriptors)
// proves nothing about the gateway, and a launch that cannot stage a file or fork must be
// retried once the resource is back, not counted as a crash. Pure.

const SHORTAGES: Record<string, string> = {
  EADDRNOTAVAIL: "local ports (EADDRNOTAVAIL: no ephemeral port left)",
  EMFILE: "file descriptors of PID 1 (EMFILE)",
  ENFILE: "file descriptors of the system (ENFILE)",
  ENOBUFS: "socket buffers (ENOBUFS)",
  ENOMEM: "memory (ENOMEM)",
  EAGAIN: "processes or threads (EAGAIN: at the pid limit?)",
  ENOSPC: "disk space (ENOSPC)",
  EDQUOT: "disk quota (EDQUOT)",
};

/** The resource an error code (or a message naming one) says is short; undefined otherwise. */
export function shortageOf(codeOrMessage: string | undefined): string | undefined {
  if (codeOrMessage === undefined) return undefined;
  const code = /\b(E[A-Z]+)\b/.exec(codeOrMessage)?.[1];
  return code === undefined ? undefined : SHORTAGES[code];
}
