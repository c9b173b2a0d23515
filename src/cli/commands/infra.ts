import type { Command } from 'commander';

const DEFAULT_TOPOLOGY = 'infra/topology/shanghai.yaml';

export function register(program: Command): void {
  const infra = program
    .command('infra')
    .description('local servers on 127.0.0.1: redis-server, one clickhouse-server per cloud, a Kafka wire-protocol cluster, mosquitto (MQTT)');
  const rootOpt = ['--root <dir>', 'folder for the state file and server data (env IOV_STATE_DIR)', process.env.IOV_STATE_DIR ?? '.iov'] as const;

  infra
    .command('up')
    .description('start (or reuse) every server the topology needs and record them in <root>/infra.json')
    .option('-t, --topology <file>', 'topology file', DEFAULT_TOPOLOGY)
    .option(...rootOpt)
    .option('--extra-clickhouse <names...>', 'extra ClickHouse servers to start (e.g. oracle)')
    .action(async (opts: { topology: string; root: string; extraClickhouse?: string[] }) => {
      const { loadTopology } = await import('../../topology/index.ts');
      const { infraUp } = await import('../../infra/index.ts');
      const { parseApiKeys } = await import('../../gateway/index.ts');
      const topo = loadTopology(opts.topology);
      // The MQTT broker's logins are the gateway keys (docs/mqtt.md).
      const mqttUsers = parseApiKeys(process.env.IOV_API_KEYS ?? '');
      await infraUp(topo, { root: opts.root, extraClickHouse: opts.extraClickhouse, mqttUsers, log: (l) => process.stdout.write(`${l}\n`) });
      process.stdout.write(`state: ${opts.root}/infra.json\n`);
    });

  infra
    .command('status')
    .description('health of every recorded server; exit 1 if any is down')
    .option(...rootOpt)
    .option('--json', 'print JSON')
    .action(async (opts: { root: string; json?: boolean }) => {
      const { infraStatus } = await import('../../infra/index.ts');
      const st = await infraStatus(opts.root);
      if (opts.json) process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
      else if (st.length === 0) process.stdout.write(`no local infrastructure recorded under ${opts.root} (run: iov infra up)\n`);
      else {
        for (const s of st) {
          process.stdout.write(`${s.name.padEnd(22)} ${(s.healthy ? 'healthy' : s.alive ? 'UNHEALTHY' : 'DOWN').padEnd(10)} pid ${String(s.pid).padEnd(8)} ${s.endpoint}\n`);
        }
      }
      if (st.length === 0 || st.some((s) => !s.healthy)) process.exitCode = 1;
    });

  infra
    .command('down')
    .description('stop exactly the servers recorded in the state file')
    .option(...rootOpt)
    .option('--purge', 'also delete their data folders')
    .action(async (opts: { root: string; purge?: boolean }) => {
      const { infraDown } = await import('../../infra/index.ts');
      const n = await infraDown(opts.root, { purge: opts.purge, log: (l) => process.stdout.write(`${l}\n`) });
      process.stdout.write(`${n} server(s) stopped\n`);
    });
}
