import type { Command } from 'commander';
import { intOption } from '../options.ts';
import { liveViewOptions, openLiveView, type LiveViewOpts } from './ui.ts';

// `iov status`: the pipeline panel's facts in the terminal; exit 1 if anything is down.
export function register(program: Command): void {
  liveViewOptions(
    program
      .command('status')
      .description('per segment, gateway and cloud: processes, rates, lag, watermark, last window, health (exit 1 if anything is down)'),
  )
    .option('--interval <ms>', 'time between the two metric reads that rates come from', '1000')
    .option('--json', 'print the status as JSON')
    .action(async (opts: LiveViewOpts & { interval: string; json?: boolean }) => {
      const interval = intOption('--interval', opts.interval, 0);
      const view = await openLiveView(opts);
      const { status, ui } = view;
      try {
        await status.collect();
        await new Promise((r) => setTimeout(r, interval));
        const s = await status.collect();
        process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : `${ui.formatStatus(s)}\n`);
        if (s.down.length > 0) process.exitCode = 1;
      } finally {
        await view.close();
      }
    });
}
