import type { Command } from 'commander';
import { listenOptions, portOption, stateDirOption, topologyOption } from '../options.ts';
import { onStopSignal } from '../signals.ts';

export interface LiveViewOpts {
  topology?: string;
  stateDir?: string;
  database?: string;
  scrape: string[];
}

const collect = (v: string, acc: string[]): string[] => [...acc, ...v.split(',').filter(Boolean)];

/** The options `iov ui` and `iov status` share: where the data and the metrics are. */
export function liveViewOptions(cmd: Command): Command {
  return stateDirOption(topologyOption(cmd))
    .option('--database <name>', 'ClickHouse database in every cloud (overrides the topology/local default)')
    .option(
      '--scrape <urls>',
      "a component's /metrics URL (gateway, segment processes, query server); repeat or comma-separate",
      collect,
      [] as string[],
    );
}

/** Federator and status collector for the map and `iov status`, from the composition root. */
export async function openLiveView(opts: LiveViewOpts) {
  const { openRuntime } = await import('../../runtime/index.ts');
  const { infraStatus } = await import('../../infra/index.ts');
  const ui = await import('../../ui/index.ts');
  const rt = await openRuntime({ topology: opts.topology, stateDir: opts.stateDir });
  const stores = await rt.stores(opts.database ? { database: () => opts.database! } : {});
  const federator = await rt.federator({ stores });
  const services = rt.local
    ? async () =>
        (await infraStatus(rt.paths.dir)).servers.map((s) => ({
          name: s.name,
          ok: s.alive && s.healthy,
          detail: `${s.endpoint}${s.alive ? '' : ' (process gone)'}${s.alive && !s.healthy ? ' (not answering)' : ''}`,
        }))
    : undefined;
  const status = ui.createStatusCollector({
    topology: rt.topology,
    federator,
    targets: opts.scrape.map((u) => ui.urlTarget(u)),
    ...(services ? { services } : {}),
  });
  return { topology: rt.topology, federator, status, ui, close: () => rt.close() };
}

// `iov ui`: the live map and pipeline panel (docs/ui.md), over the federator.
export function register(program: Command): void {
  listenOptions(liveViewOptions(program.command('ui').description('serve the live traffic map and pipeline panel (http://127.0.0.1:<port>/)')), 8090)
    .action(async (opts: LiveViewOpts & { port: string; host: string }) => {
      const port = portOption('--port', opts.port);
      const { topology, federator, status, ui, close } = await openLiveView(opts);
      const app = ui.createUiServer({ topology, federator, status });
      await app.listen({ port, host: opts.host });
      const addr = app.server.address() as { port: number };
      // Before the banner (src/cli/signals.ts).
      onStopSignal(async () => {
        await app.close();
        await close();
        process.exit(0);
      });
      process.stdout.write(`map on http://${opts.host}:${addr.port}/ (Ctrl-C stops)\n`);
    });
}
