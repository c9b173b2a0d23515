import type { Command } from 'commander';
import { stateDirOption } from '../options.ts';

interface DirectoryCliOptions {
  store?: string;
  stateDir?: string;
  json?: boolean;
}

async function storeOf(o: DirectoryCliOptions): Promise<string> {
  if (o.store) return o.store;
  const { resolveStateDir, statePaths } = await import('../../topology/index.ts');
  return statePaths(resolveStateDir(o.stateDir)).directory;
}

// `iov directory`: the cross-domain resource directory of the cabin allocator, kept in
// <state-dir>/directory.json unless --store names another file.
export function register(program: Command): void {
  const dir = program.command('directory').description('resource directory: provider → location → centre');
  const withStore = (cmd: Command) => stateDirOption(cmd.option('--store <file>', 'directory store (default <state-dir>/directory.json)'));
  withStore(dir
    .command('register <folder>')
    .description('register or refresh every centre status file (JSON/YAML) in a folder'))
    .action(async (folder: string, o: DirectoryCliOptions) => {
      (await import('../../cabin/cli.ts')).runDirectoryRegister(folder, await storeOf(o));
    });
  withStore(dir
    .command('list')
    .description('print the directory tree'))
    .option('--json', 'print the store as JSON')
    .action(async (o: DirectoryCliOptions) => {
      (await import('../../cabin/cli.ts')).runDirectoryList(await storeOf(o), o.json === true);
    });
  withStore(dir
    .command('show <centre>')
    .description('print one centre'))
    .action(async (id: string, o: DirectoryCliOptions) => {
      (await import('../../cabin/cli.ts')).runDirectoryShow(id, await storeOf(o));
    });
  withStore(dir
    .command('withdraw <centre>')
    .description('remove a centre from the directory'))
    .action(async (id: string, o: DirectoryCliOptions) => {
      (await import('../../cabin/cli.ts')).runDirectoryWithdraw(id, await storeOf(o));
    });
}
