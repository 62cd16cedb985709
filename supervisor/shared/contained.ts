// PID 1 cannot crash: every handler that runs in it (timer, child exit, probe, request,
// signal) goes through here, so a failure becomes one log line and, where the caller can
// say how, the truth is put back.
import { firstLine } from "./errors.js";
import { logInternalError } from "./log.js";

/** Runs a handler; a failure is one log line, then `recover` puts the truth back. */
export function contained(what: string, handler: () => void, recover?: () => void): void {
  try {
    handler();
  } catch (error) {
    logInternalError(`in ${what}: ${firstLine(error)}${recover ? "; recovered" : ""}`);
    if (recover === undefined) return;
    try {
      recover();
    } catch (again) {
      logInternalError(`recovering from it in ${what}: ${firstLine(again)}`);
    }
  }
}
