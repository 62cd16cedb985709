// One decoded request to the supervise loop and back: the final answer of every request,
// never a rejection. A handler failure becomes an "unavailable" answer, not a crash.
import type { ControlHandler, ControlResult } from "../supervise/control-contract.js";
import { firstLine } from "../shared/errors.js";
import { failure, type ControlRequest, type FinalMessage } from "./protocol.js";

function outcome(work: () => Promise<ControlResult>): Promise<FinalMessage> {
  let pending: Promise<ControlResult>;
  try {
    pending = work();
  } catch (error) {
    pending = Promise.reject(error);
  }
  return Promise.resolve(pending).then(
    (result) => ({ result }),
    (error: unknown) => failure("unavailable", `the supervisor failed to handle the request: ${firstLine(error)}`),
  );
}

export function dispatch(handler: ControlHandler, request: ControlRequest, progress: (message: string) => void): Promise<FinalMessage> {
  switch (request.op) {
    case "status":
    case "health":
      try {
        return Promise.resolve({ status: handler.status() });
      } catch (error) {
        return Promise.resolve(failure("unavailable", `the supervisor failed to report its status: ${firstLine(error)}`));
      }
    case "restart": {
      const { timeoutMs, expect, from, drainMs } = request;
      return outcome(() =>
        handler.restart({ timeoutMs, ...(expect ? { expect } : {}), ...(from !== undefined ? { from } : {}), ...(drainMs !== undefined ? { drainMs } : {}) }, progress),
      );
    }
    case "start": {
      const { timeoutMs, from } = request;
      return outcome(() => handler.startIfStopped({ timeoutMs, ...(from !== undefined ? { from } : {}) }, progress));
    }
    case "stop":
      return outcome(() => handler.stop(progress, request.from, request.drainMs));
  }
}
