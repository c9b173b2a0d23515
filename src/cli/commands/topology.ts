import type { Command } from 'commander';

export function register(program: Command): void {
  const topo = program.command('topology').description('inspect and validate topology files');
  topo
    .command('check <file>')
    .description('validate a topology file; prints a summary, or every problem with its path')
    .option('--json', 'print the resolved topology as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { loadTopology, TopologyError } = await import('../../topology/index.ts');
      try {
        const t = loadTopology(file);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `ok: ${t.name}: ${t.clouds.length} clouds, ${t.segments.length} segments, ` +
            `res ${t.h3.resolution} (segments at res ${t.h3.segmentResolution})\n`,
        );
        for (const s of t.segments) {
          process.stdout.write(`  ${s.id.padEnd(12)} cloud ${s.cloud.padEnd(14)} ${String(s.cells.length).padStart(5)} cells  maxReplicas ${s.maxReplicas}\n`);
        }
      } catch (err) {
        if (err instanceof TopologyError) {
          process.stderr.write(`${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
