// The `iov` command. Each subcommand lives in its own file under commands/ and registers
// itself on the program; heavy modules are imported inside the action so `--help` is instant.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as infra } from './commands/infra.ts';
import { register as topology } from './commands/topology.ts';
import { register as gateway } from './commands/gateway.ts';
import { register as segment } from './commands/segment.ts';
import { register as query } from './commands/query.ts';
import { register as allocate } from './commands/allocate.ts';
import { register as plan } from './commands/plan.ts';
import { register as apply } from './commands/apply.ts';
import { register as directory } from './commands/directory.ts';
import { register as simulate } from './commands/simulate.ts';
import { register as demo } from './commands/demo.ts';
import { register as bench } from './commands/bench.ts';
import { register as ui } from './commands/ui.ts';
import { register as status } from './commands/status.ts';
import { register as forecast } from './commands/forecast.ts';

/** The package's version (package.json), for `iov --version`. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('iov')
    .description('iov-pipeline: multi-cloud Internet-of-Vehicles stream pipeline')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const reg of [infra, topology, gateway, segment, query, allocate, plan, apply, directory, simulate, demo, bench, ui, status, forecast]) reg(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`iov: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    process.exitCode = process.exitCode || 1;
  }
}
