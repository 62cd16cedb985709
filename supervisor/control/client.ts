// The client end of the control socket: sends one request, passes progress lines on as
// they arrive and resolves with the final answer. It never rejects: every way of not
// getting an answer (no socket, no permission, no supervisor, no reply in time) becomes a
// failure in the "unavailable" layer with one line saying what to do.
import { createConnection } from "node:net";
import { decodeMessage, encodeRequest, failure, type ControlRequest, type FinalMessage } from "./protocol.js";

/** How long status and health wait for their answer. */
export const STATUS_ANSWER_MS = 10_000;
/** An answer line longer than this is not from a supervisor. */
const MAX_ANSWER_BYTES = 1024 * 1024;

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function connectFailure(socketPath: string, error: NodeJS.ErrnoException): FinalMessage {
  switch (error.code) {
    case "ENOENT":
      return failure("unavailable", `supervisor control socket ${socketPath} not found: is PID 1 the sandbox supervisor?`);
    case "ECONNREFUSED":
      return failure("unavailable", `nothing listens on supervisor control socket ${socketPath}: is PID 1 the sandbox supervisor?`);
    case "EACCES":
    case "EPERM":
      return failure("unavailable", `permission denied on ${socketPath} (ask as its owner: docker exec --user root ..., or the container's own user in non-root mode)`);
    default:
      return failure("unavailable", `cannot reach supervisor control socket ${socketPath} (${error.code ?? error.message})`);
  }
}

/**
 * Sends `request` and resolves with the server's final message. `answerMs` bounds the
 * whole exchange (default: STATUS_ANSWER_MS).
 */
export function request(
  socketPath: string,
  req: ControlRequest,
  onProgress: (message: string) => void,
  answerMs: number = STATUS_ANSWER_MS,
): Promise<FinalMessage> {
  return new Promise((resolve) => {
    let settled = false;
    let connected = false;
    let pending = "";
    const socket = createConnection(socketPath);
    const settle = (message: FinalMessage): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(message);
    };
    const timer = setTimeout(
      () => settle(failure("unavailable", `no answer from the supervisor within ${seconds(answerMs)}`)),
      answerMs,
    );

    socket.setEncoding("utf8");
    socket.once("connect", () => {
      connected = true;
      socket.write(encodeRequest(req));
    });
    socket.on("data", (chunk: string) => {
      pending += chunk;
      let newline: number;
      while (!settled && (newline = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const decoded = decodeMessage(line);
        if (!decoded.ok) return settle(failure("unavailable", `unexpected answer from the supervisor: ${decoded.message}`));
        const message = decoded.value;
        if ("progress" in message) onProgress(message.progress);
        else return settle(message);
      }
      if (pending.length > MAX_ANSWER_BYTES) settle(failure("unavailable", "unexpected answer from the supervisor: line too long"));
    });
    const hungUp = (): void => settle(failure("unavailable", "the supervisor closed the connection without an answer"));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (!connected) return settle(connectFailure(socketPath, error));
      if (error.code === "EPIPE" || error.code === "ECONNRESET") return hungUp();
      settle(failure("unavailable", `connection to the supervisor failed (${error.code ?? error.message})`));
    });
    socket.once("close", hungUp);
  });
}
