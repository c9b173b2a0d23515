import type { Command } from 'commander';

// Placeholder: the 'allocate' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('allocate')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov allocate' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
