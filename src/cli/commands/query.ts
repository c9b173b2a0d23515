import type { Command } from 'commander';

// Placeholder: the 'query' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('query')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov query' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
