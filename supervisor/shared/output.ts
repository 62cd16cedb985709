// A command's output streams, written synchronously so that nothing is lost when the
// program exits right after (Ctrl-C, process.exit), and so that a closed pipe never turns an
// answer into a crash: the exit status still tells.
import { writeSync } from "node:fs";

export interface Output {
  write(text: string): void;
}

export function fdOutput(fd: number): Output {
  return {
    write(text: string): void {
      let rest = Buffer.from(text);
      while (rest.length > 0) {
        try {
          rest = rest.subarray(writeSync(fd, rest));
        } catch (error) {
          // A non-blocking pipe that is full: try again; anything else (EPIPE): give up.
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
        }
      }
    },
  };
}
