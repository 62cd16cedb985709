// Log lines go to stderr synchronously, with a stable prefix operators can grep for,
// so nothing is lost when the supervisor exits right after logging.
import { writeSync } from "node:fs";

export type LogPrefix = "[supervisor]" | "[SECURITY]";

export function log(message: string, prefix: LogPrefix = "[supervisor]"): void {
  try {
    writeSync(2, `${prefix} ${message}\n`);
  } catch {
    // stderr closed: a supervisor must not die because nobody reads its log.
  }
}
