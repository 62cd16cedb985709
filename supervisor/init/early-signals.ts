// PID 1 ignores a signal it has no handler for, so a TERM that arrives while the rest of the
// program is still being evaluated would be lost for good. For the commands that may be PID 1
// (`run`, `boot`), the forwarded signals are caught from the first module the entry point
// evaluates (catch-early-signals.ts) and kept, in order, until the loop that owns them
// installs its own handlers and takes them (takeEarlySignals), handling each as if it had
// just arrived. Node's own start comes before any of this: a signal in that window is still
// lost (measured by `npm run bench`, explained in docs/startup-and-memory.md).
import { FORWARDED_SIGNALS, type ForwardedSignal } from "../shared/signals.js";

const INIT_COMMANDS: ReadonlySet<string> = new Set(["run", "boot"]);

const caught: ForwardedSignal[] = [];
const catchers = new Map<ForwardedSignal, () => void>();

/**
 * The command is the first word that is not an option (only flags without a value may come
 * before it), so a control command keeps Node's default: TERM or INT still ends it.
 */
export function isInitCommand(argv: readonly string[]): boolean {
  const command = argv.find((arg) => !arg.startsWith("-"));
  return command !== undefined && INIT_COMMANDS.has(command);
}

export function catchEarlySignals(): void {
  for (const signal of FORWARDED_SIGNALS) {
    if (catchers.has(signal)) continue;
    const catcher = (): void => void caught.push(signal);
    catchers.set(signal, catcher);
    process.on(signal, catcher);
  }
}

/**
 * The signals caught so far, oldest first; stops catching. Call it once the owner's handlers
 * are installed, so that no moment is left without one (a signal arriving after this call
 * goes to the owner directly).
 */
export function takeEarlySignals(): ForwardedSignal[] {
  for (const [signal, catcher] of catchers) process.off(signal, catcher);
  catchers.clear();
  return caught.splice(0);
}
