// `iov segment --processes N`: N copies of one command as child processes, supervised
// (restart policy in supervisor.ts). The copies of a segment join one consumer group, so
// Kafka spreads the partitions over them; this process only starts, restarts and stops them.
import { createSupervisor } from './supervisor.ts';

/** `args` without `--processes N` / `--processes=N`. */
export function withoutProcessesOption(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--processes') i++;
    else if (!args[i]!.startsWith('--processes=')) out.push(args[i]!);
  }
  return out;
}

/** Lines a command prints on stdout once it runs (the copy is then "ready"); the gateway's is a log record. */
export const READY_LINES = { segment: /^segment processors running/, gateway: /gateway listening on / } as const;

export async function superviseCopies(command: 'segment' | 'gateway', copies: number, args: readonly string[]): Promise<void> {
  const childArgs = [command, ...withoutProcessesOption(args)];
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} supervisor: ${line}\n`);
  const sup = createSupervisor({
    specs: Array.from({ length: copies }, (_, i) => ({ name: `${command}-${i + 1}`, args: childArgs, ready: READY_LINES[command] })),
    log,
    onLine: (name, line) => process.stdout.write(`[${name}] ${line}\n`),
  });
  const stop = () => void sup.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // SIGUSR2 (drain, see drainOnSignal) goes to every copy.
  process.on('SIGUSR2', () => {
    for (const m of sup.members()) sup.signal(m.name, 'SIGUSR2');
  });
  await sup.start();
  log(`${copies} × iov ${childArgs.join(' ')} running: ${sup.members().map((m) => `${m.name} pid ${m.pid}`).join(', ')}`);
  try {
    await sup.done;
  } catch (err) {
    await sup.stop(5_000);
    throw err;
  }
}
