import type { Command } from 'commander';

// `iov bench [name...]` (`npm run bench`): run the benches (bench/<name>.ts) one by one in
// fresh processes, write bench/results/<date>-<bench>.json and <date>-summary.md, print the
// summary table. Exit code 1 if a bench failed (a missed target is reported, not a failure).
export function register(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks (all, or the ones named) and write bench/results/')
    .argument('[names...]', 'benches to run: gateway, segment, federation, cabin, e2e (default: all)')
    .option('--list', 'list the benches and exit')
    .option('--summary', "only rewrite today's summary table from the result files")
    .option('--timeout <s>', 'per-bench timeout, seconds', '5400')
    .action(async (names: string[], o: { list?: boolean; summary?: boolean; timeout: string }) => {
      const { runBenches, listBenches, writeSummary } = await import('../../../bench/run.ts');
      if (o.list) {
        process.stdout.write(`${listBenches().join('\n')}\n`);
        return;
      }
      if (o.summary) {
        const { readFileSync } = await import('node:fs');
        const file = writeSummary([]);
        process.stdout.write(`${readFileSync(file, 'utf8')}\nwritten: ${file}\n`);
        return;
      }
      const timeoutS = Number(o.timeout);
      if (!(timeoutS > 0)) throw Object.assign(new Error(`--timeout must be a positive number of seconds, got ${JSON.stringify(o.timeout)}`), { code: 'BAD_OPTION' });
      const { outcomes, summaryFile } = await runBenches(names, { timeoutS });
      const { readFileSync } = await import('node:fs');
      process.stdout.write(`${readFileSync(summaryFile, 'utf8')}\nwritten: ${summaryFile}\n`);
      if (outcomes.some((x) => !x.ok)) process.exitCode = 1;
    });
}
