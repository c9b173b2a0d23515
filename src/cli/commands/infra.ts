import type { Command } from 'commander';
import { stateDirOption, topologyOption } from '../options.ts';

interface InfraCliOptions {
  stateDir?: string;
  topology?: string;
  extraClickhouse?: string[];
  json?: boolean;
  purge?: boolean;
}

export function register(program: Command): void {
  const infra = program
    .command('infra')
    .description('local servers on 127.0.0.1: redis-server, one clickhouse-server per cloud, a Kafka wire-protocol cluster, mosquitto (MQTT)');

  stateDirOption(topologyOption(infra
    .command('up')
    .description('start (or reuse) every server the topology needs, create the schema and topics, record them in <state-dir>/infra.json')))
    .option('--extra-clickhouse <names...>', 'extra ClickHouse servers to start (e.g. oracle)')
    .action(async (opts: InfraCliOptions) => {
      const { openRuntime } = await import('../../runtime/index.ts');
      const { infraUp } = await import('../../infra/index.ts');
      const { parseApiKeys } = await import('../../gateway/index.ts');
      const rt = await openRuntime({ topology: opts.topology, stateDir: opts.stateDir, clientId: 'iov-infra' });
      await rt.close();
      // The MQTT broker's logins are the gateway keys (docs/mqtt.md).
      const mqttUsers = parseApiKeys(process.env.IOV_API_KEYS ?? '');
      await infraUp(rt.topology, { root: rt.paths.dir, plan: rt.plan, extraClickHouse: opts.extraClickhouse, mqttUsers, log: (l) => process.stdout.write(`${l}\n`) });
      process.stdout.write(`state: ${rt.paths.infra}\n`);
    });

  stateDirOption(infra
    .command('status')
    .description('health of every recorded server and the local Kafka cluster\'s retention limit; exit 1 if any is down'))
    .option('--json', 'print JSON')
    .action(async (opts: InfraCliOptions) => {
      const { infraStatus } = await import('../../infra/index.ts');
      const { statePaths, resolveStateDir } = await import('../../topology/index.ts');
      const paths = statePaths(resolveStateDir(opts.stateDir));
      const st = await infraStatus(paths.dir);
      if (opts.json) process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
      else if (st.servers.length === 0) process.stdout.write(`no local infrastructure recorded: ${paths.infra} does not exist (run: iov infra up)\n`);
      else {
        for (const s of st.servers) {
          process.stdout.write(`${s.name.padEnd(22)} ${(s.healthy ? 'healthy' : s.alive ? 'UNHEALTHY' : 'DOWN').padEnd(10)} pid ${String(s.pid).padEnd(8)} ${s.endpoint}\n`);
        }
        for (const n of st.notes) process.stdout.write(`note: ${n}\n`);
      }
      if (st.servers.length === 0 || st.servers.some((s) => !s.healthy)) process.exitCode = 1;
    });

  stateDirOption(infra
    .command('down')
    .description('stop exactly the servers recorded in <state-dir>/infra.json'))
    .option('--purge', 'also delete their data folders')
    .action(async (opts: InfraCliOptions) => {
      const { infraDown } = await import('../../infra/index.ts');
      const { statePaths, resolveStateDir } = await import('../../topology/index.ts');
      const paths = statePaths(resolveStateDir(opts.stateDir));
      const r = await infraDown(paths.dir, { purge: opts.purge, log: (l) => process.stdout.write(`${l}\n`) });
      if (!r.found) {
        // Nothing recorded here: the servers (if any) were started with another state folder.
        process.stdout.write(`nothing to stop: ${paths.infra} does not exist (servers started with another --state-dir or IOV_STATE_DIR are not touched)\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${r.stopped} of ${r.recorded} recorded server(s) stopped${r.recorded > r.stopped ? ` (${r.recorded - r.stopped} were not running)` : ''}; removed ${paths.infra}\n`);
    });
}
