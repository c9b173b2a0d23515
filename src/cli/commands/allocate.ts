import type { Command } from 'commander';
import { stateDirOption, topologyOption } from '../options.ts';

/** The allocator's inputs, the options `iov allocate` and `iov plan` share. */
export function plannerOptions(cmd: Command): Command {
  return stateDirOption(topologyOption(cmd))
    .option('--demand <file>', 'demand file (packets/s, packet size, window, deadline; default demand.<topology>.yaml in the cabin folder beside the topology\'s)')
    .option('--centres <dir>', 'centre status folder (instead of the directory store)')
    .option('--store <file>', 'resource directory store (default <state-dir>/directory.json; the example centres in infra/cabin/centres if it does not exist)')
    .option('--solver <name>', 'exact | fast (the product\'s) | ga | hybrid | tabu (the laboratory\'s)', 'exact')
    .option('--time-limit <ms>', 'solver time limit in milliseconds');
}

// `iov allocate`: size each segment's replicas with the cabin allocator (DESIGN.md §6,
// docs/cabin.md). The solver modules load inside the action so `--help` is instant.
export function register(program: Command): void {
  plannerOptions(program
    .command('allocate')
    .description('size each segment\'s replicas at minimum cost under a deadline (cabin allocator); writes a replica plan'))
    .option('--seed <n>', 'random seed (fast and ga solvers)')
    .option('--out <file>', 'replica plan to write (default <state-dir>/plan.json)')
    .option('--json', 'print the full result as JSON')
    .option('--gap <file>', 'solve an OR-Library GAP file instead (benchmark)')
    .option('--instance <file>', 'solve a generated allocation instance (JSON)')
    .option('--generate <sizes>', 'write generated instances: table4, large, or e.g. 5x10,20x20 (blocks x centres)')
    .option('--out-dir <dir>', 'folder for --generate', 'infra/cabin/instances')
    .action(async (opts: Record<string, unknown>) => {
      const { runAllocate } = await import('../../cabin/cli.ts');
      await runAllocate(opts);
    });
}
