import type { Command } from 'commander';

// Placeholder: the 'segment' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('segment')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov segment' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
