// SIGUSR2 asks a running `iov segment` to drain: process everything in its topics as of now,
// flush every open window of its partitions, commit, and print `drained` (or `drain failed:
// <reason>`) on stdout. It keeps running afterwards. Local runs end this way (the chaos
// demo drains every segment process before its checks), since a last window otherwise stays
// open until later packets close it.
export interface Drainable {
  drain(opts?: { timeoutMs?: number }): Promise<void>;
}

export const DRAIN_SIGNAL = 'SIGUSR2';

export function drainOnSignal(target: Drainable, timeoutMs = 120_000): void {
  let chain = Promise.resolve();
  process.on(DRAIN_SIGNAL, () => {
    chain = chain.then(() => target.drain({ timeoutMs })).then(
      () => void process.stdout.write('drained\n'),
      (err: Error) => void process.stdout.write(`drain failed: ${err.message.replace(/\n/g, ' ')}\n`),
    );
  });
}
