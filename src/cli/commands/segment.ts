import type { Command } from 'commander';
import { badOption as bad, intOption, portOption, stateDirOption, topologyOption, windowOptions, windowSettings } from '../options.ts';
import { onStopSignal } from '../signals.ts';

/** How long a crashed processor's shut-down may take before the process exits anyway. */
const CRASH_EXIT_GRACE_MS = 10_000;

interface SegmentCliOptions {
  id?: string;
  all?: boolean;
  topology?: string;
  workers?: string;
  window: string;
  lateness: string;
  stepInterval?: string;
  metricsPort?: string;
  stateDir?: string;
  plan?: string;
  processes?: string;
}

// `iov segment`: one segment's processor (or every segment's, --all) in this process,
// assembled by the composition root (src/runtime): Kafka and ClickHouse from the topology or
// the state folder's infra.json, pool sizes from its plan.json.
export function register(program: Command): void {
  windowOptions(stateDirOption(topologyOption(program
    .command('segment')
    .description('segment processor: consume iov.seg.<id>.packets, traffic flow per H3 cell and window into the segment cloud\'s ClickHouse (exactly once)')
    .option('--id <segment>', 'segment to process')
    .option('--all', 'process every segment of the topology'))))
    .option('-w, --workers <n>', 'pool threads per segment (0 = main thread; default: the replica plan, else 2)')
    .option('--step-interval <ms>', 'step pacing, ms: a partition\'s steps (insert + commit) start at least this far apart (default: the processor\'s, docs/segment.md "Step cadence")')
    .option('--plan <file>', 'replica plan to size pools from (default <state-dir>/plan.json)')
    .option('--metrics-port <n>', 'serve /metrics, /healthz and /readyz on 127.0.0.1:<n>')
    .option('--processes <n>', 'run N copies of this command as child processes in one consumer group, restarting any that dies (docs/scaleout.md)')
    .action(async (opts: SegmentCliOptions) => {
      if (!opts.all === !opts.id) throw bad('give exactly one of --id <segment> or --all');
      if (opts.processes !== undefined) {
        const n = intOption('--processes', opts.processes, 1, 64);
        if (opts.metricsPort !== undefined && opts.metricsPort !== '0') throw bad('--metrics-port with --processes: give 0 (each process picks a free port) or leave it out');
        const { superviseCopies } = await import('../../local/index.ts');
        await superviseCopies('segment', n, process.argv.slice(3));
        return;
      }
      const workers = opts.workers === undefined ? undefined : intOption('--workers', opts.workers, 0, 64);
      const { windowS, allowedLatenessS } = windowSettings(opts);
      const metricsPort = opts.metricsPort === undefined ? undefined : portOption('--metrics-port', opts.metricsPort);
      const stepIntervalMs = opts.stepInterval === undefined ? undefined : intOption('--step-interval', opts.stepInterval, 0, 60_000);

      const { openRuntime } = await import('../../runtime/index.ts');
      const { readPlan } = await import('../../topology/index.ts');
      const { segmentHttpHandler, SegmentError } = await import('../../segment/index.ts');
      const rt = await openRuntime({
        topology: opts.topology, stateDir: opts.stateDir, clientId: `iov-segment-${opts.id ?? 'all'}`,
        ...(opts.plan ? { plan: readPlan(opts.plan) } : {}),
      });
      const topo = rt.topology;
      if (opts.id && !topo.segments.some((s) => s.id === opts.id)) {
        await rt.close();
        throw new SegmentError('SEG_UNKNOWN_SEGMENT', [opts.id, topo.name]);
      }
      // With a Schema Registry, writer ids are resolved there (docs/schemas.md). Per-partition
      // leases, so any number of these processes may share a segment (docs/segment.md, Fencing).
      const schemaRegistry = await rt.schemaRegistry();
      // A crashed processor (e.g. fenced after a pause) ends this process non-zero, so a
      // supervisor (iov segment --processes, systemd, Kubernetes) starts a fresh one.
      let crashed: Error | undefined;
      // A crashed (e.g. fenced) processor writes nothing more, so ending the process the hard
      // way is as safe as a SIGKILL (docs/segment.md); it must not stay alive when its
      // shut-down hangs (a consumer that never finishes leaving its group), or its
      // supervisor never starts a fresh one.
      const exitAfterGrace = () => {
        setTimeout(() => {
          process.stderr.write(`segment: shut-down after a crash did not finish within ${CRASH_EXIT_GRACE_MS / 1000} s; exiting 1\n`);
          process.exit(1);
        }, CRASH_EXIT_GRACE_MS).unref();
      };
      let stop: () => Promise<void> = async () => {};
      const onCrash = (err: Error) => {
        crashed ??= err;
        process.exitCode = 1;
        exitAfterGrace();
        void stop();
      };
      const all = await rt.segments({
        onCrash,
        fence: await rt.fence(), ...(schemaRegistry ? { schemaRegistry } : {}),
        segments: opts.id ? [opts.id] : undefined, workers, windowS, allowedLatenessS, stepIntervalMs,
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
      let stopped!: () => void;
      const done = new Promise<void>((resolve) => (stopped = resolve));
      let stopping = false;
      stop = async () => {
        if (stopping) return;
        stopping = true;
        // Flush what the watermark has closed, commit, and say what stays open: those
        // windows wait in the log for more packets or ticks (docs/segment.md, CLI).
        if (!crashed) {
          const left = await all.settle().catch((err: Error) => {
            process.stdout.write(`shut-down flush failed: ${err.message}\n`);
            return [];
          });
          process.stdout.write(`${leftOpenReport(left)}\n`);
        }
        await all.stop().catch(() => {});
        await rt.close();
        server?.close();
        stopped();
      };
      // Before the banner (src/cli/signals.ts): a SIGTERM sent on seeing it settles and exits 0.
      onStopSignal(() => stop());
      if (crashed) void stop();
      process.stdout.write(`segment processors running: ${names}; window ${windowS} s, lateness ${allowedLatenessS} s${server ? `; metrics on 127.0.0.1:${(server.address() as { port: number }).port}/metrics` : ''}\n`);
      await done;
      if (crashed) throw crashed;
    });
}

/** The shut-down line(s): windows left open per segment partition, or that none are. */
export function leftOpenReport(left: readonly import('../../segment/index.ts').LeftOpen[]): string {
  if (left.length === 0) return 'stopped: every window the watermark closed is stored; none left open';
  const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19) + 'Z';
  return [`stopped: ${left.reduce((n, l) => n + l.windows.length, 0)} window(s) left open in ${left.length} partition(s), resumed from the last commit on restart:`,
    ...left.map((l) => `  ${l.segment} partition ${l.partition}: watermark ${Number.isFinite(l.watermark) ? new Date(l.watermark).toISOString() : 'none'}, open ${l.windows.map(iso).join(', ')}`)].join('\n');
}
