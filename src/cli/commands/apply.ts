import type { Command } from 'commander';
import { stateDirOption } from '../options.ts';

// `iov apply --emit k8s`: the replica plan as Kubernetes Deployments (docs/cabin.md §8.1).
// Applying it to local process groups is not there yet.
export function register(program: Command): void {
  stateDirOption(program
    .command('apply')
    .description('carry out the replica plan; --emit k8s writes Deployments (replicas and placement per centre) instead of starting processes')
    .requiredOption('--emit <target>', 'k8s (the only target so far)')
    .option('--plan <file>', 'replica plan (default <state-dir>/plan.json)')
    .option('--out <file>', 'write the manifests here instead of stdout'))
    .action(async (opts: Record<string, unknown>) => {
      const { runApply } = await import('../../cabin/cli.ts');
      runApply(opts);
    });
}
