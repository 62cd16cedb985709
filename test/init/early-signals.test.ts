// Signals that reach `run` or `boot` before their loop exists are kept, in order, and handed
// to the loop (which passes them on once there is a child), instead of being lost as PID 1.
import { describe, expect, it } from "vitest";
import { catchEarlySignals, isInitCommand, takeEarlySignals } from "../../supervisor/init/early-signals.js";

describe("early signals", () => {
  it("are caught only for the commands that may be PID 1", () => {
    expect(isInitCommand(["run", "--", "true"])).toBe(true);
    expect(isInitCommand(["-v", "boot"])).toBe(true);
    expect(isInitCommand(["boot", "--", "status"])).toBe(true);
    expect(isInitCommand(["status", "--json"])).toBe(false);
    expect(isInitCommand(["help", "run"])).toBe(false);
    expect(isInitCommand(["--version"])).toBe(false);
  });

  // process.emit stands in for the kernel: it calls the listeners a delivered signal would.
  it("are kept in order and handed over once, leaving no catcher behind", () => {
    const before = process.listenerCount("SIGHUP");
    catchEarlySignals();
    expect(process.listenerCount("SIGHUP")).toBe(before + 1);
    process.emit("SIGWINCH", "SIGWINCH");
    process.emit("SIGHUP", "SIGHUP");
    expect(takeEarlySignals()).toEqual(["SIGWINCH", "SIGHUP"]);
    expect(process.listenerCount("SIGHUP")).toBe(before);
    process.emit("SIGHUP", "SIGHUP");
    expect(takeEarlySignals()).toEqual([]);
  });
});
