import type { Command } from 'commander';

// `iov directory`: the cross-domain resource directory of the cabin allocator.
export function register(program: Command): void {
  const dir = program.command('directory').description('resource directory: provider → location → centre');
  const store = '.iov/directory.json';
  dir
    .command('register <folder>')
    .description('register or refresh every centre status file (JSON/YAML) in a folder')
    .option('--store <file>', 'directory store', store)
    .action(async (folder: string, o: { store: string }) => {
      (await import('../../cabin/cli.ts')).runDirectoryRegister(folder, o.store);
    });
  dir
    .command('list')
    .description('print the directory tree')
    .option('--store <file>', 'directory store', store)
    .option('--json', 'print the store as JSON')
    .action(async (o: { store: string; json?: boolean }) => {
      (await import('../../cabin/cli.ts')).runDirectoryList(o.store, o.json === true);
    });
  dir
    .command('show <centre>')
    .description('print one centre')
    .option('--store <file>', 'directory store', store)
    .action(async (id: string, o: { store: string }) => {
      (await import('../../cabin/cli.ts')).runDirectoryShow(id, o.store);
    });
  dir
    .command('withdraw <centre>')
    .description('remove a centre from the directory')
    .option('--store <file>', 'directory store', store)
    .action(async (id: string, o: { store: string }) => {
      (await import('../../cabin/cli.ts')).runDirectoryWithdraw(id, o.store);
    });
}
