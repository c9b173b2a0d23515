import type { Command } from 'commander';

// Placeholder: the 'gateway' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('gateway')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov gateway' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
