import type { Command } from 'commander';

const DEFAULT_TOPOLOGY = 'infra/topology/shanghai.yaml';

interface QueryCliOpts {
  topology: string;
  root: string;
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
  program
    .command('query')
    .description('federated SQL over every cloud\'s ClickHouse (packets, traffic_flow); --serve for the HTTP API')
    .argument('[sql]', 'one SELECT statement')
    .option('-t, --topology <file>', 'topology file', DEFAULT_TOPOLOGY)
    .option('--root <dir>', 'local infrastructure state folder (env IOV_STATE_DIR)', process.env.IOV_STATE_DIR ?? '.iov')
    .option('-f, --format <format>', 'table | json | csv | ndjson', 'table')
    .option('--partial', 'return the clouds that answered when some fail')
    .option('--explain', 'print the plan (clouds, pushed-down SQL) without running it')
    .option('--database <name>', 'ClickHouse database in every cloud (overrides the topology/local default)')
    .option('--timeout <ms>', 'per-query time limit in ms')
    .option('--serve', 'serve POST /v1/query over HTTP instead of running one query')
    .option('-p, --port <port>', 'HTTP port for --serve', '8082')
    .option('--host <host>', 'HTTP host for --serve', '127.0.0.1')
    .action(async (sql: string | undefined, opts: QueryCliOpts) => {
      const { loadTopology, clickhouseEndpoint, readLocalState, stateFile, storageClouds } = await import('../../topology/index.ts');
      const { createClickHouseStore } = await import('../../store/index.ts');
      const fedMod = await import('../../federation/index.ts');
      if (!['table', 'json', 'csv', 'ndjson'].includes(opts.format)) throw Object.assign(new Error('--format must be table, json, csv or ndjson'), { code: 'BAD_OPTION' });
      const timeoutMs = opts.timeout === undefined ? undefined : Number(opts.timeout);
      if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw Object.assign(new Error('--timeout must be a positive integer (ms)'), { code: 'BAD_OPTION' });
      if (!opts.serve && !sql) throw Object.assign(new Error('give a SELECT statement, or --serve'), { code: 'BAD_OPTION' });

      const topo = loadTopology(opts.topology);
      const state = readLocalState(stateFile(opts.root));
      const stores = storageClouds(topo).map((cloud) => {
        const ep = clickhouseEndpoint(topo, cloud, state);
        return createClickHouseStore({ cloud, endpoint: { ...ep, database: opts.database ?? ep.database } });
      });
      const fed = fedMod.createFederator({ topology: topo, stores, closeStores: true, limits: timeoutMs ? { timeoutMs } : undefined });

      if (opts.serve) {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw Object.assign(new Error('--port must be 0–65535'), { code: 'BAD_OPTION' });
        const app = fedMod.createQueryServer({ federator: fed, logger: true });
        const addr = await app.listen({ port, host: opts.host });
        process.stdout.write(`query server on ${addr} (POST /v1/query)\n`);
        const stop = async () => { await app.close(); await fed.close(); process.exit(0); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
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
        await fed.close();
      }
    });
}
