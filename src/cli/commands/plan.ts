import type { Command } from 'commander';
import { stateDirOption } from '../options.ts';

// `iov plan`: what the cabin allocator would change in the running replica plan
// (docs/cabin.md §8.1), like `terraform plan`; nothing is written.
export function register(program: Command): void {
  stateDirOption(program
    .command('plan')
    .description('show how the replica plan would change for the current topology, directory and demand (segments to add, move, rescale, remove; cost and latency before and after; why)')
    .option('--topology <file>', 'topology file (default infra/topology/shanghai.yaml)')
    .option('--demand <file>', 'demand file (default demand.<topology>.yaml in the cabin folder beside the topology\'s)')
    .option('--centres <dir>', 'centre status folder (instead of the directory store)')
    .option('--store <file>', 'resource directory store (default <state-dir>/directory.json)')
    .option('--solver <name>', 'exact | fast | ga | hybrid | tabu', 'exact')
    .option('--time-limit <ms>', 'solver time limit in milliseconds')
    .option('--out <file>', 'the running plan to compare with (default <state-dir>/plan.json)')
    .option('--json', 'print the difference as JSON'))
    .action(async (opts: Record<string, unknown>) => {
      const { runPlan } = await import('../../cabin/cli.ts');
      await runPlan(opts);
    });
}
