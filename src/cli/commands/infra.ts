import type { Command } from 'commander';

// Placeholder until infra/local is wired (Foundation issue).
export function register(program: Command): void {
  program.command('infra').description('(not built yet)');
}
