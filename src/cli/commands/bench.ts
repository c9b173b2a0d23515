import type { Command } from 'commander';

// Placeholder: the 'bench' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('bench')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov bench' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
