// Imported first by cli.ts, for its side effect alone: see early-signals.ts.
import { catchEarlySignals, isInitCommand } from "./early-signals.js";

if (isInitCommand(process.argv.slice(2))) catchEarlySignals();
