import type { Command } from 'commander';

const DEFAULT_TOPOLOGY = 'infra/topology/shanghai.yaml';

interface SegmentCliOptions {
  id?: string;
  all?: boolean;
  topology: string;
  workers?: string;
  window: string;
  lateness: string;
  metricsPort?: string;
  stateDir?: string;
  plan?: string;
  processes?: string;
}

function bad(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_OPTION' });
}

function intOpt(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw bad(`${name} must be an integer from ${min} to ${max}, got ${v}`);
  return n;
}

// `iov segment`: one segment's processor (or every segment's, --all) in this process. Kafka
// and ClickHouse come from the topology or the local infrastructure's state file.
export function register(program: Command): void {
  program
    .command('segment')
    .description('segment processor: consume iov.seg.<id>.packets, traffic flow per H3 cell and window into the segment cloud\'s ClickHouse (exactly once)')
    .option('--id <segment>', 'segment to process')
    .option('--all', 'process every segment of the topology')
    .option('-t, --topology <file>', 'topology file', DEFAULT_TOPOLOGY)
    .option('-w, --workers <n>', 'pool threads per segment (0 = main thread; default: plan file, else 2)')
    .option('--window <seconds>', 'tumbling window length', '60')
    .option('--lateness <seconds>', 'allowed lateness', '1')
    .option('--plan <file>', 'cabin replica plan to size pools from', '.iov/plan.json')
    .option('--metrics-port <n>', 'serve /metrics, /healthz and /readyz on 127.0.0.1:<n>')
    .option('--state-dir <dir>', 'local infrastructure folder (env IOV_STATE_DIR, default .iov)')
    .option('--processes <n>', 'run N copies of this command as child processes in one consumer group, restarting any that dies (docs/scaleout.md)')
    .action(async (opts: SegmentCliOptions) => {
      if (!opts.all === !opts.id) throw bad('give exactly one of --id <segment> or --all');
      if (opts.processes !== undefined) {
        const n = intOpt('--processes', opts.processes, 1, 64);
        if (opts.metricsPort !== undefined && opts.metricsPort !== '0') throw bad('--metrics-port with --processes: give 0 (each process picks a free port) or leave it out');
        const { superviseCopies } = await import('../../local/index.ts');
        await superviseCopies('segment', n, process.argv.slice(3));
        return;
      }
      const workers = opts.workers === undefined ? undefined : intOpt('--workers', opts.workers, 0, 64);
      const windowS = intOpt('--window', opts.window, 1, 86_400);
      const lateness = Number(opts.lateness);
      if (!Number.isFinite(lateness) || lateness < 0) throw bad(`--lateness must be a number ≥ 0, got ${opts.lateness}`);
      const metricsPort = opts.metricsPort === undefined ? undefined : intOpt('--metrics-port', opts.metricsPort, 0, 65535);

      const { loadTopology, readLocalState, stateFile, kafkaEndpoint, clickhouseEndpoint, redisEndpoint } = await import('../../topology/index.ts');
      const { createKafkaBus } = await import('../../bus/index.ts');
      const { createClickHouseStore } = await import('../../store/index.ts');
      const { createRedisFence } = await import('../../fence/index.ts');
      const { runAllSegments, segmentHttpHandler, SegmentError } = await import('../../segment/index.ts');
      const topo = loadTopology(opts.topology);
      if (opts.id && !topo.segments.some((s) => s.id === opts.id)) throw new SegmentError('SEG_UNKNOWN_SEGMENT', [opts.id, topo.name]);
      const local = readLocalState(stateFile(opts.stateDir));
      const kafka = kafkaEndpoint(topo, local);
      const bus = createKafkaBus({ brokers: kafka.brokers, clientId: `iov-segment-${opts.id ?? 'all'}` });
      const stores = new Map<string, ReturnType<typeof createClickHouseStore>>();
      const storeFor = (cloud: string) => {
        let s = stores.get(cloud);
        if (!s) stores.set(cloud, (s = createClickHouseStore({ cloud, endpoint: clickhouseEndpoint(topo, cloud, local) })));
        return s;
      };
      // With a Schema Registry, writer ids are resolved there (docs/schemas.md).
      const { connectSchemaRegistry } = await import('../../schemas/index.ts');
      const schemaRegistry = kafka.schemaRegistry ? connectSchemaRegistry(kafka.schemaRegistry) : undefined;
      // Per-partition leases, so any number of these processes may share a segment (docs/segment.md, Fencing).
      const fence = createRedisFence({ url: redisEndpoint(topo, local).url });
      const all = runAllSegments(topo, {
        bus, storeFor, fence, ...(schemaRegistry ? { schemaRegistry } : {}), segments: opts.id ? [opts.id] : undefined, workers, planFile: opts.plan, windowS, allowedLatenessS: lateness,
      });

      let server: import('node:http').Server | undefined;
      if (metricsPort !== undefined) {
        const { createServer } = await import('node:http');
        server = createServer(segmentHttpHandler(all));
        await new Promise<void>((r) => server!.listen(metricsPort, '127.0.0.1', r));
      }
      await all.start();
      const names = all.processors.map((p) => `${p.segmentId} (${p.stats().workers} workers)`).join(', ');
      const { drainOnSignal } = await import('../../local/index.ts');
      drainOnSignal(all);
      process.stdout.write(`segment processors running: ${names}; window ${windowS} s, lateness ${lateness} s${server ? `; metrics on 127.0.0.1:${(server.address() as { port: number }).port}/metrics` : ''}\n`);

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = async () => {
          if (stopping) return;
          stopping = true;
          await all.stop();
          await bus.close();
          await fence.close();
          await Promise.all([...stores.values()].map((s) => s.close()));
          server?.close();
          resolve();
        };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
      });
    });
}
