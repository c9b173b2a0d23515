import type { Command } from 'commander';

// Placeholder: the 'simulate' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('simulate')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov simulate' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
