// Which signals PID 1 passes on to its child, and which of them end the supervisor.
//
// SIGUSR1 is Node's (it starts the inspector), SIGKILL/SIGSTOP cannot be caught, and the
// job-control signals SIGTSTP/SIGTTIN/SIGTTOU are about the supervisor's own terminal use.
export const FORWARDED_SIGNALS = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGUSR2",
  "SIGWINCH",
  "SIGCONT",
  "SIGALRM",
] as const satisfies readonly NodeJS.Signals[];

export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** Signals after which the supervisor shuts down: forward, wait the grace period, kill the rest. */
export const SHUTDOWN_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGTERM", "SIGINT", "SIGQUIT"]);
