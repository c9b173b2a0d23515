// SIGINT/SIGTERM of the long-running commands (gateway, segment, query --serve, ui,
// forecast --online). Node installs a handler for a signal only once a listener is added, so
// a SIGTERM that a supervisor (or a test) sends the moment it sees the command's ready line
// ("listening on", "running") would take the default action and kill the process without
// draining. Each command therefore calls this BEFORE it prints that line.

/** Run `stop` on the first SIGINT or SIGTERM (once; a second signal takes the default action). */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void | Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void stop(signal);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
