import type { Command } from 'commander';
import { plannerOptions } from './allocate.ts';

// `iov plan`: what the cabin allocator would change in the running replica plan
// (docs/cabin.md §8.1), like `terraform plan`; nothing is written.
export function register(program: Command): void {
  plannerOptions(program
    .command('plan')
    .description('show how the replica plan would change for the current topology, directory and demand (segments to add, move, rescale, remove; cost and latency before and after; why)'))
    .option('--out <file>', 'the running plan to compare with (default <state-dir>/plan.json)')
    .option('--json', 'print the difference as JSON')
    .action(async (opts: Record<string, unknown>) => {
      const { runPlan } = await import('../../cabin/cli.ts');
      await runPlan(opts);
    });
}
