import type { Command } from 'commander';
import { badOption, intOption, numberOption, stateDirOption, topologyOption, windowOptions, windowSettings } from '../options.ts';

// `iov apply`: carry out the replica plan (docs/cabin.md §8.2–8.3) — on local process groups,
// one per resource domain centre; `--watch` keeps reconciling; `--emit k8s` writes
// Deployments instead of starting processes; `--destroy` stops every group it started.
export const HEARTBEAT_ENV = 'IOV_HEARTBEAT_TIMEOUT_S';
export const DEFAULT_HEARTBEAT_TIMEOUT_S = 30;

export function register(program: Command): void {
  windowOptions(stateDirOption(topologyOption(program
    .command('apply')
    .description('carry out the replica plan: each centre a group of local segment processes (segments moved with a consumer-group hand-over); --watch keeps reconciling as centres, demand and topology change; --emit k8s writes Deployments instead'))))
    .option('--emit <target>', 'k8s: write Deployments (replicas and placement per centre) instead of starting processes')
    .option('--plan <file>', 'carry out this replica plan instead of allocating (with --emit: default <state-dir>/plan.json)')
    .option('--out <file>', 'with --emit: write the manifests here instead of stdout')
    .option('--watch', 'keep reconciling: re-plan when a centre changes, is withdrawn or goes silent, when demand or the topology changes; restart members that exit')
    .option('--destroy', 'stop every process the applied state records and forget the plan')
    .option('--demand <file>', 'demand file (default demand.<topology>.yaml in the cabin folder beside the topology\'s)')
    .option('--centres <dir>', 'centre status folder (instead of the directory store); a file\'s mtime is its heartbeat')
    .option('--store <file>', 'resource directory store (default <state-dir>/directory.json)')
    .option('--solver <name>', 'exact | fast | ga | hybrid | tabu', 'exact')
    .option('--time-limit <ms>', 'solver time limit in milliseconds')
    .option('--groups-dir <dir>', 'the centres\' folders (logs) and applied.json (default <state-dir>/centres)')
    .option('--threads <n>', 'pool threads per segment process: processes = ⌈replicas / threads⌉; 0 = one replica per process on its main thread', '1')
    .option('--heartbeat-timeout <s>', `a reporting centre whose status file is older than this is silent (env ${HEARTBEAT_ENV}, default ${DEFAULT_HEARTBEAT_TIMEOUT_S}; 0 = off)`)
    .option('--demand-threshold <ratio>', 're-plan when a segment\'s demand changes by more than this fraction', '0.2')
    .option('--interval <ms>', 'with --watch: how often to look at the inputs', '2000')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      if (o.emit !== undefined) {
        const { runApply } = await import('../../cabin/cli.ts');
        runApply(o as Parameters<typeof runApply>[0]);
        return;
      }
      if (o.watch && o.plan) throw badOption('--plan and --watch cannot be used together (--watch plans from the inputs)');
      if (o.watch && o.destroy) throw badOption('--destroy and --watch cannot be used together');
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      const heartbeat = o.heartbeatTimeout ?? process.env[HEARTBEAT_ENV];
      const { runApplyCommand } = await import('../../control/cli.ts');
      await runApplyCommand({
        topology: str(o.topology), demand: str(o.demand), centres: str(o.centres), store: str(o.store), stateDir: str(o.stateDir),
        plan: str(o.plan), groupsDir: str(o.groupsDir), solver: String(o.solver),
        ...(o.timeLimit !== undefined ? { timeLimitMs: intOption('--time-limit', o.timeLimit, 1) } : {}),
        threads: intOption('--threads', o.threads, 0, 64),
        ...windowSettings(o),
        heartbeatTimeoutS: heartbeat === undefined ? DEFAULT_HEARTBEAT_TIMEOUT_S : numberOption(o.heartbeatTimeout !== undefined ? '--heartbeat-timeout' : HEARTBEAT_ENV, heartbeat, 0),
        demandThreshold: numberOption('--demand-threshold', o.demandThreshold, 0),
        intervalMs: intOption('--interval', o.interval, 100),
        mode: o.destroy ? 'destroy' : o.watch ? 'watch' : 'once',
      });
    });
}
