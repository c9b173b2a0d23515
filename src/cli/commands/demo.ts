import type { Command } from 'commander';
import { DEFAULT_ALLOWED_LATENESS_S } from '../../flow/index.ts';
import { stateDirOption } from '../options.ts';

// `iov demo` (`npm start`): the whole pipeline in one process with a simulated fleet, live
// progress, federated queries, the replica plan and end-of-run checks; exit code 0 only if
// every check holds. Embedded by default (no servers); --local uses `iov infra up`'s servers.
// See docs/demo.md.
export function register(program: Command): void {
  stateDirOption(program
    .command('demo')
    .description('run the whole pipeline on a simulated fleet (embedded: no servers needed) and check the results')
    .option('--duration <s>', 'seconds of simulated traffic (wall clock)', '60')
    .option('--ticks <n>', 'stop after N fleet ticks (every vehicle reports once per tick) instead of after --duration: the same traffic on any machine')
    .option('--vehicles <n>', 'fleet size (event time runs as fast as the pipeline goes: fewer vehicles, more windows)', '2000')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--local', 'use the local servers started by `iov infra up` instead of the embedded ones')
    .option('--mqtt', 'with --local: publish the fleet over MQTT through the local mosquitto into the gateway (docs/mqtt.md)')
    .option('--topology <file>', 'topology file (default infra/topology/shanghai.yaml)')
    .option('--window <s>', 'tumbling window, seconds', '60')
    .option('--lateness <s>', 'allowed lateness, seconds (the segment processors\' default)', String(DEFAULT_ALLOWED_LATENESS_S))
    .option('--max-workers <n>', 'cap on pool threads per segment (the plan may ask for more; 0 = no pool)', '2')
    .option('--solver <name>', 'cabin solver for the replica plan: exact | fast | ga', 'exact')
    .option('--concurrency <n>', 'gateway requests in flight at once', '1')
    .option('--json', 'print the summary as JSON instead of text')
    .option('--quiet', 'no progress lines')
    .option('--ui [port]', 'serve the live map during the run and after it, until Ctrl-C (port default 8090; docs/ui.md)')
    .option('--processes <n>', 'with --local: run N segment processes (each `iov segment --all`) as separate OS processes (docs/scaleout.md)')
    .option('--gateways <n>', 'with --local: run N gateway processes; the simulator spreads requests over them and retries timeouts')
    .option('--chaos', 'with --local: SIGKILL and SIGSTOP/SIGCONT processes at seeded random moments (default 3 processes, 2 gateways)'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const int = (name: string, v: unknown): number => {
        const x = Number(v);
        if (!/^\d+$/.test(String(v)) || !(x > 0)) throw Object.assign(new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`), { code: 'BAD_OPTION' });
        return x;
      };
      if (o.mqtt && !o.local) throw Object.assign(new Error('--mqtt needs --local (the embedded mode has no broker; `iov infra up` starts mosquitto)'), { code: 'BAD_OPTION' });
      if (o.mqtt && (o.processes !== undefined || o.gateways !== undefined || o.chaos)) throw Object.assign(new Error('--mqtt feeds the in-process gateway: not with --processes, --gateways or --chaos'), { code: 'BAD_OPTION' });
      if (o.processes !== undefined || o.gateways !== undefined || o.chaos) {
        if (!o.local) throw Object.assign(new Error('--processes, --gateways and --chaos run separate processes on the local servers: add --local'), { code: 'BAD_OPTION' });
        if (o.ticks !== undefined) throw Object.assign(new Error('--ticks paces the in-process demo: not with --processes, --gateways or --chaos (they run for --duration)'), { code: 'BAD_OPTION' });
        const { runChaosDemo, formatChaosSummary } = await import('../../chaos/index.ts');
        const { DEFAULT_TOPOLOGY } = await import('../../embedded/index.ts');
        const summary = await runChaosDemo({
          topologyFile: typeof o.topology === 'string' ? o.topology : DEFAULT_TOPOLOGY,
          ...(typeof o.stateDir === 'string' ? { stateDir: o.stateDir } : {}),
          processes: o.processes === undefined ? 3 : int('processes', o.processes),
          gateways: o.gateways === undefined ? 2 : int('gateways', o.gateways),
          chaos: !!o.chaos, durationS: int('duration', o.duration), seed: Number(o.seed), vehicles: int('vehicles', o.vehicles),
          windowS: int('window', o.window), allowedLatenessS: Number(o.lateness),
          ...(o.quiet || o.json ? { log: () => {} } : {}),
        });
        process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatChaosSummary(summary)}\n`);
        if (!summary.ok) process.exitCode = 1;
        return;
      }
      const { runPipeline, formatProgress, formatSummary } = await import('../../embedded/index.ts');
      const print = (s: Awaited<ReturnType<typeof runPipeline>>) => process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatSummary(s)}\n`);
      const ui = o.ui === undefined ? undefined : await import('../../ui/index.ts');
      let map: Awaited<ReturnType<NonNullable<typeof ui>['serveLiveMap']>> | undefined;
      const summary = await runPipeline({
        mode: o.local ? 'local' : 'embedded',
        ...(o.mqtt ? { mqtt: true } : {}),
        ...(o.ticks === undefined ? { durationS: int('duration', o.duration) } : { ticks: int('ticks', o.ticks) }),
        vehicles: int('vehicles', o.vehicles),
        seed: Number(o.seed),
        windowS: int('window', o.window),
        allowedLatenessS: Number(o.lateness),
        maxWorkersPerSegment: Number(o.maxWorkers),
        ingestConcurrency: int('concurrency', o.concurrency),
        solver: o.solver as 'exact' | 'fast' | 'ga',
        ...(typeof o.stateDir === 'string' ? { stateDir: o.stateDir } : {}),
        ...(typeof o.topology === 'string' ? { topologyFile: o.topology } : {}),
        ...(o.quiet || o.json ? {} : {
          onProgress: (p) => process.stderr.write(`${formatProgress(p)}\n`),
          onStep: (st) => process.stderr.write(`${st.status === 'ok' ? 'ok  ' : st.status.toUpperCase()} ${st.name}: ${st.detail}\n`),
        }),
        ...(ui ? {
          onLive: async (run) => {
            map = await ui.serveLiveMap({ ...run, port: o.ui === true ? 8090 : int('ui', o.ui) });
            process.stderr.write(`map on ${map.url}\n`);
          },
          holdOpen: async (s) => {
            print(s);
            process.stderr.write(`the map stays on ${map?.url} until Ctrl-C\n`);
            await new Promise((r) => process.once('SIGINT', r));
            await map?.close();
          },
        } : {}),
      });
      if (!ui) print(summary);
      if (!summary.ok) process.exitCode = 1;
    });
}
