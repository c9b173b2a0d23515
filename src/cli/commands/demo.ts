import type { Command } from 'commander';

// Placeholder: the 'demo' command is added by its component's issue.
export function register(program: Command): void {
  program
    .command('demo')
    .description('(not built yet)')
    .action(() => {
      throw Object.assign(new Error("'iov demo' is not built yet"), { code: 'NOT_IMPLEMENTED' });
    });
}
