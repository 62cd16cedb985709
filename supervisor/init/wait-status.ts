// Decoding of a raw waitpid(2) status into what a shell would report.
import { constants } from "node:os";

export interface ExitStatus {
  /** Exit code when the process exited normally, else null. */
  code: number | null;
  /** Signal number when the process was killed by a signal, else null. */
  signal: number | null;
}

export function decodeWaitStatus(raw: number): ExitStatus {
  const termSignal = raw & 0x7f;
  if (termSignal === 0) return { code: (raw >> 8) & 0xff, signal: null };
  return { code: null, signal: termSignal };
}

/** The status a shell (and tini) reports: the exit code, or 128 + the signal number. */
export function shellStatus(status: ExitStatus): number {
  return status.signal !== null ? 128 + status.signal : (status.code ?? 0);
}

export function signalName(signal: number): string {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : `signal ${signal}`;
}

export function describeStatus(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${signalName(status.signal)}` : `exited with ${status.code}`;
}
