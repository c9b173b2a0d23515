import type { Command } from 'commander';
import { badOption, intOption, portOption, seedOption, stateDirOption, topologyOption, windowOptions, windowSettings } from '../options.ts';

// `iov demo` (`npm start`): the whole pipeline in one process with a simulated fleet, live
// progress, federated queries, the replica plan and end-of-run checks; exit code 0 only if
// every check holds. Embedded by default (no servers); --local uses `iov infra up`'s servers.
// See docs/demo.md.
export function register(program: Command): void {
  windowOptions(seedOption(topologyOption(stateDirOption(program
    .command('demo')
    .description('run the whole pipeline on a simulated fleet (embedded: no servers needed) and check the results')
    .option('--duration <s>', 'seconds of simulated traffic (wall clock)', '60')
    .option('--ticks <n>', 'stop after N fleet ticks (every vehicle reports once per tick) instead of after --duration: the same traffic on any machine')
    .option('--vehicles <n>', 'fleet size (event time runs as fast as the pipeline goes: fewer vehicles, more windows)', '2000')
    .option('--local', 'use the local servers started by `iov infra up` instead of the embedded ones')
    .option('--mqtt', 'with --local: publish the fleet over MQTT through the local mosquitto into the gateway (docs/mqtt.md)')))))
    .option('--max-workers <n>', 'cap on pool threads per segment (the plan may ask for more; 0 = no pool)', '2')
    .option('--solver <name>', 'cabin solver for the replica plan: exact | fast | ga', 'exact')
    .option('--concurrency <n>', 'gateway requests in flight at once', '1')
    .option('--json', 'print the summary as JSON instead of text')
    .option('--quiet', 'no progress lines')
    .option('--ui [port]', 'serve the live map during the run and after it, until Ctrl-C (port default 8090; docs/ui.md)')
    .option('--processes <n>', 'with --local: run N segment processes (each `iov segment --all`) as separate OS processes (docs/scaleout.md)')
    .option('--gateways <n>', 'with --local: run N gateway processes; the simulator spreads requests over them and retries timeouts')
    .option('--chaos', 'with --local: SIGKILL and SIGSTOP/SIGCONT processes at seeded random moments (default 3 processes, 2 gateways)')
    .option('--apply', 'with --local: the segment processes run by the apply controller, one process group per centre (docs/cabin.md §8.4)')
    .option('--fail-centre <id>', 'with --apply: this centre (or `cheapest`: the running plan\'s cheapest) fails mid-run — heartbeat stops, processes SIGKILLed', 'cheapest')
    .option('--fail-at <s>', 'with --apply: seconds into the traffic when the centre fails (default a third of --duration)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      if (o.mqtt && !o.local) throw badOption('--mqtt needs --local (the embedded mode has no broker; `iov infra up` starts mosquitto)');
      if (o.mqtt && (o.processes !== undefined || o.gateways !== undefined || o.chaos)) throw badOption('--mqtt feeds the in-process gateway: not with --processes, --gateways or --chaos');
      const fleet = { seed: intOption('--seed', o.seed, 0), vehicles: intOption('--vehicles', o.vehicles, 1), ...windowSettings(o) };
      if (o.apply) {
        if (!o.local) throw badOption('--apply runs process groups on the local servers: add --local');
        if (o.processes !== undefined || o.gateways !== undefined || o.chaos || o.mqtt || o.ticks !== undefined) throw badOption('--apply: not with --processes, --gateways, --chaos, --mqtt or --ticks (the controller sizes the groups from the plan; the traffic runs for --duration)');
        const { runApplyDemo, formatApplyDemoSummary } = await import('../../control/index.ts');
        const { DEFAULT_TOPOLOGY_FILE } = await import('../../runtime/index.ts');
        const durationS = intOption('--duration', o.duration, 1);
        const summary = await runApplyDemo({
          topologyFile: typeof o.topology === 'string' ? o.topology : DEFAULT_TOPOLOGY_FILE,
          ...(typeof o.stateDir === 'string' ? { stateDir: o.stateDir } : {}),
          failCentre: String(o.failCentre), failAtS: o.failAt === undefined ? Math.round(durationS / 3) : intOption('--fail-at', o.failAt, 0),
          durationS, ...fleet,
          ...(o.quiet || o.json ? { log: () => {} } : {}),
        });
        process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatApplyDemoSummary(summary)}\n`);
        if (!summary.ok) process.exitCode = 1;
        return;
      }
      if (o.processes !== undefined || o.gateways !== undefined || o.chaos) {
        if (!o.local) throw badOption('--processes, --gateways and --chaos run separate processes on the local servers: add --local');
        if (o.ticks !== undefined) throw badOption('--ticks paces the in-process demo: not with --processes, --gateways or --chaos (they run for --duration)');
        const { runChaosDemo, formatChaosSummary } = await import('../../chaos/index.ts');
        const { DEFAULT_TOPOLOGY_FILE } = await import('../../runtime/index.ts');
        const summary = await runChaosDemo({
          topologyFile: typeof o.topology === 'string' ? o.topology : DEFAULT_TOPOLOGY_FILE,
          ...(typeof o.stateDir === 'string' ? { stateDir: o.stateDir } : {}),
          processes: o.processes === undefined ? 3 : intOption('--processes', o.processes, 1),
          gateways: o.gateways === undefined ? 2 : intOption('--gateways', o.gateways, 1),
          chaos: !!o.chaos, durationS: intOption('--duration', o.duration, 1), ...fleet,
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
        ...(o.ticks === undefined ? { durationS: intOption('--duration', o.duration, 1) } : { ticks: intOption('--ticks', o.ticks, 1) }),
        ...fleet,
        maxWorkersPerSegment: intOption('--max-workers', o.maxWorkers, 0),
        ingestConcurrency: intOption('--concurrency', o.concurrency, 1),
        solver: o.solver as 'exact' | 'fast' | 'ga',
        ...(typeof o.stateDir === 'string' ? { stateDir: o.stateDir } : {}),
        ...(typeof o.topology === 'string' ? { topologyFile: o.topology } : {}),
        ...(o.quiet || o.json ? {} : {
          onProgress: (p) => process.stderr.write(`${formatProgress(p)}\n`),
          onStep: (st) => process.stderr.write(`${st.status === 'ok' ? 'ok  ' : st.status.toUpperCase()} ${st.name}: ${st.detail}\n`),
        }),
        ...(ui ? {
          onLive: async (run) => {
            map = await ui.serveLiveMap({ ...run, port: o.ui === true ? 8090 : portOption('--ui', o.ui) });
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
