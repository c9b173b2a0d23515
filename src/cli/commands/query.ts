import type { Command } from 'commander';
import { badOption, intOption, listenOptions, portOption, stateDirOption, topologyOption } from '../options.ts';
import { onStopSignal } from '../signals.ts';

interface QueryCliOpts {
  topology?: string;
  stateDir?: string;
  format: string;
  partial?: boolean;
  explain?: boolean;
  database?: string;
  timeout?: string;
  serve?: boolean;
  port: string;
  host: string;
}

// `iov query "SELECT …"` runs one federated query; `iov query --serve` runs POST /v1/query.
export function register(program: Command): void {
  listenOptions(stateDirOption(topologyOption(program
    .command('query')
    .description('federated SQL over every cloud\'s ClickHouse (packets, traffic_flow); --serve for the HTTP API')
    .argument('[sql]', 'one SELECT statement')))
    .option('-f, --format <format>', 'table | json | csv | ndjson', 'table')
    .option('--partial', 'return the clouds that answered when some fail')
    .option('--explain', 'print the plan (clouds, pushed-down SQL) without running it')
    .option('--database <name>', 'ClickHouse database in every cloud (overrides the topology/local default)')
    .option('--timeout <ms>', 'per-query time limit in ms')
    .option('--serve', 'serve POST /v1/query over HTTP instead of running one query'), 8082, 'with --serve: HTTP')
    .action(async (sql: string | undefined, opts: QueryCliOpts) => {
      if (!['table', 'json', 'csv', 'ndjson'].includes(opts.format)) throw badOption('--format must be table, json, csv or ndjson');
      const timeoutMs = opts.timeout === undefined ? undefined : intOption('--timeout', opts.timeout, 1);
      if (!opts.serve && !sql) throw badOption('give a SELECT statement, or --serve');
      const port = opts.serve ? portOption('--port', opts.port) : 0;
      const { openRuntime } = await import('../../runtime/index.ts');
      const fedMod = await import('../../federation/index.ts');
      const rt = await openRuntime({ topology: opts.topology, stateDir: opts.stateDir });
      const stores = await rt.stores(opts.database ? { database: () => opts.database! } : {});
      const fed = await rt.federator({ stores, limits: timeoutMs ? { timeoutMs } : undefined });

      if (opts.serve) {
        const app = fedMod.createQueryServer({ federator: fed, logger: true });
        const addr = await app.listen({ port, host: opts.host });
        // Before the banner (src/cli/signals.ts): requests in flight finish, then exit 0.
        onStopSignal(async () => { await app.close(); await rt.close(); process.exit(0); });
        process.stdout.write(`query server on ${addr} (POST /v1/query)\n`);
        return;
      }

      try {
        if (opts.explain) {
          process.stdout.write(`${JSON.stringify(fed.explain(sql!), null, 2)}\n`);
          return;
        }
        const res = await fed.query(sql!, { partial: opts.partial === true });
        const summary = res.clouds.map((c) => `${c.cloud}: ${c.status}${c.status === 'pruned' ? '' : ` ${c.rows} rows ${c.ms} ms`}${c.error ? ` (${c.error})` : ''}`).join('; ');
        if (opts.format === 'json') process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
        else if (opts.format === 'csv') process.stdout.write(fedMod.toCsv(res.columns, res.rows));
        else if (opts.format === 'ndjson') process.stdout.write(fedMod.toNdjson(res.rows));
        else process.stdout.write(fedMod.toTable(res.columns, res.rows));
        if (opts.format !== 'json') process.stderr.write(`${res.rows.length} rows in ${res.ms} ms${res.partial ? ' (PARTIAL)' : ''} — ${summary}\n`);
      } finally {
        await rt.close();
      }
    });
}
