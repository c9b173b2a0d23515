import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_TOPOLOGY = 'infra/topology/shanghai.yaml';
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface SimulatedBacktestOptions {
  topologyFile: string;
  seed: number;
  days: number;
  heldBackDays: number;
  profile: string;
  models: string[];
  originEvery: number;
  sampleCells: number;
  sampleEvery: number;
  log?: (line: string) => void;
}

/** Simulated weeks → panel → rolling-origin backtest → tables (the `iov forecast --backtest` run). */
export async function simulatedBacktest(o: SimulatedBacktestOptions) {
  const { loadTopology } = await import('../../topology/index.ts');
  const { simulateWeeks, PROFILES } = await import('../../sim/weeks.ts');
  const fc = await import('../../forecast/index.ts');
  const profile = PROFILES[o.profile];
  if (!profile) throw new fc.ForecastError('BAD_OPTION', '--profile', `unknown profile "${o.profile}" (known: ${Object.keys(PROFILES).join(', ')})`);
  if (!(o.heldBackDays >= 1 && o.heldBackDays < o.days)) throw new fc.ForecastError('BAD_OPTION', '--held-back', 'must be at least 1 day and fewer than --days');
  const models = o.models.map(fc.createModel);
  const t0 = performance.now();
  const weeks = simulateWeeks({ topology: loadTopology(o.topologyFile), seed: o.seed, days: o.days, profile });
  const { panel } = weeks;
  o.log?.(`simulated ${panel.cells.length} cells × ${panel.steps} steps in ${Math.round(performance.now() - t0)} ms`);
  const result = fc.runBacktest({
    panel, trainEnd: (o.days - o.heldBackDays) * fc.STEPS_PER_DAY, models, originEvery: o.originEvery,
    sample: { cells: o.sampleCells, originEvery: o.sampleEvery }, log: o.log,
  });
  const dataset = { generator: 'src/sim/weeks.ts', profile: o.profile, seed: o.seed, days: o.days, heldBackDays: o.heldBackDays, cells: panel.cells.length };
  const title = `Simulated Shanghai, profile ${o.profile}, seed ${o.seed}`;
  const markdown = fc.backtestMarkdown(title, `Data: ${panel.cells.length} road cells (H3 res ${loadTopology(o.topologyFile).h3.resolution}), ${o.days} days from src/sim/weeks.ts, of which the last ${o.heldBackDays} are held back.`, result);
  return { dataset, result, targets: fc.targets(result), markdown, wallS: (performance.now() - t0) / 1000 };
}

function int(name: string, v: string, min = 1): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw Object.assign(new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`), { code: 'BAD_OPTION' });
  return x;
}

interface ForecastCliOpts {
  topology: string;
  root: string;
  backtest?: boolean;
  simulate?: boolean;
  online?: boolean;
  seed: string;
  seeds?: string;
  days: string;
  heldBack: string;
  profile: string;
  models: string;
  originEvery: string;
  sampleCells: string;
  sampleEvery: string;
  out: string;
  segment?: string;
  model: string;
  interval: string;
  historyDays: string;
  once?: boolean;
}

// `iov forecast --backtest | --simulate | --online`: docs/forecast.md.
export function register(program: Command): void {
  program
    .command('forecast')
    .description('traffic forecasting: --backtest (simulated weeks, DCRNN-style tables), --simulate (write weeks into the stores), --online (write traffic_forecast)')
    .option('-t, --topology <file>', 'topology file', DEFAULT_TOPOLOGY)
    .option('--root <dir>', 'local infrastructure state folder (env IOV_STATE_DIR)', process.env.IOV_STATE_DIR ?? '.iov')
    .option('--backtest', 'rolling-origin backtest on simulated weeks; JSON + Markdown into --out')
    .option('--simulate', 'write simulated weeks of traffic_flow (5-minute windows) into each segment\'s store')
    .option('--online', 'the online forecaster: one issue per closed 5-minute bucket into traffic_forecast')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--seeds <list>', 'backtest several seeds, e.g. 1,2,3 (overrides --seed)')
    .option('--days <n>', 'simulated days', '28')
    .option('--held-back <n>', 'days held back for the backtest', '7')
    .option('--profile <name>', 'simulator profile: shanghai | stormy | calm', 'shanghai')
    .option('--models <list>', 'models to backtest', 'persistence,historical-average,seasonal-naive,holt-winters,sarima,spatial')
    .option('--origin-every <n>', 'backtest: score every n-th origin', '3')
    .option('--sample-cells <n>', 'backtest: cells in the paired sample (SARIMA runs only there)', '32')
    .option('--sample-every <n>', 'backtest: origins of the paired sample every n steps', '24')
    .option('--out <dir>', 'where backtest results go', RESULTS_DIR)
    .option('--segment <id>', 'online: one segment (default: every segment)')
    .option('--model <name>', 'online: the model', 'spatial')
    .option('--interval <s>', 'online: seconds between ticks', '30')
    .option('--history-days <n>', 'online: days of history to fit on', '14')
    .option('--once', 'online: one tick per segment, then exit')
    .action(async (opts: ForecastCliOpts) => {
      const modes = [opts.backtest, opts.simulate, opts.online].filter(Boolean).length;
      if (modes !== 1) throw Object.assign(new Error('give exactly one of --backtest, --simulate, --online'), { code: 'BAD_OPTION' });
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (opts.backtest) {
        const seeds = (opts.seeds ?? opts.seed).split(',').map((s) => int('seeds', s.trim(), 0));
        const runs = [];
        for (const seed of seeds) {
          runs.push(await simulatedBacktest({
            topologyFile: opts.topology, seed, days: int('days', opts.days, 2), heldBackDays: int('held-back', opts.heldBack), profile: opts.profile,
            models: opts.models.split(',').map((m) => m.trim()).filter(Boolean), originEvery: int('origin-every', opts.originEvery),
            sampleCells: int('sample-cells', opts.sampleCells), sampleEvery: int('sample-every', opts.sampleEvery), log,
          }));
        }
        const date = new Date().toISOString().slice(0, 10);
        const base = join(opts.out, `${date}-forecast-backtest-${opts.profile}`);
        mkdirSync(opts.out, { recursive: true });
        writeFileSync(`${base}.json`, `${JSON.stringify({ runs: runs.map(({ markdown: _m, ...r }) => r) }, null, 2)}\n`);
        writeFileSync(`${base}.md`, `# Forecast backtest (${opts.profile})\n\n${runs.map((r) => r.markdown).join('\n')}`);
        process.stdout.write(runs.map((r) => r.markdown).join('\n'));
        const missed = runs.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `seed ${r.dataset.seed}: ${t.what} (${t.variable}, ${t.horizonMin} min)`));
        process.stderr.write(`results: ${base}.json, ${base}.md; targets missed: ${missed.length ? missed.join('; ') : 'none'}\n`);
        return;
      }

      const { loadTopology, clickhouseEndpoint, readLocalState, stateFile, storageClouds } = await import('../../topology/index.ts');
      const { createClickHouseStore } = await import('../../store/index.ts');
      const topo = loadTopology(opts.topology);
      const state = readLocalState(stateFile(opts.root));
      const stores = new Map(storageClouds(topo).map((cloud) => [cloud, createClickHouseStore({ cloud, endpoint: clickhouseEndpoint(topo, cloud, state) })]));
      try {
        for (const s of stores.values()) await s.migrate();
        if (opts.simulate) {
          const { simulateWeeks, writeWeeks, PROFILES } = await import('../../sim/weeks.ts');
          const profile = PROFILES[opts.profile];
          if (!profile) throw Object.assign(new Error(`--profile: unknown profile "${opts.profile}"`), { code: 'BAD_OPTION' });
          const days = int('days', opts.days);
          // Ends at the last whole 5 minutes before now, so the online forecaster has history to read.
          const end = Math.floor(Date.now() / 1000 / 300) * 300;
          const weeks = simulateWeeks({ topology: topo, seed: int('seed', opts.seed, 0), days, profile, startS: end - days * 86400 });
          const rows = await writeWeeks(weeks, topo, stores);
          process.stdout.write(`${JSON.stringify({ cells: weeks.panel.cells.length, days, rows })}\n`);
          return;
        }
        const fc = await import('../../forecast/index.ts');
        const { SHANGHAI_UTC_OFFSET_S } = await import('../../sim/weeks.ts');
        const segments = opts.segment ? topo.segments.filter((s) => s.id === opts.segment) : topo.segments;
        if (segments.length === 0) throw Object.assign(new Error(`--segment: unknown segment "${opts.segment}"`), { code: 'BAD_OPTION' });
        const forecasters = segments.map((s) => fc.createOnlineForecaster({
          store: stores.get(s.cloud)!, segment: s.id, model: fc.createModel(opts.model), utcOffsetS: SHANGHAI_UTC_OFFSET_S,
          historyDays: int('history-days', opts.historyDays), log,
        }));
        const intervalMs = int('interval', opts.interval) * 1000;
        let stop = false;
        process.once('SIGINT', () => { stop = true; });
        process.once('SIGTERM', () => { stop = true; });
        while (!stop) {
          for (const [i, f] of forecasters.entries()) log(`${segments[i]!.id}: ${JSON.stringify(await f.tick())}`);
          if (opts.once) break;
          await new Promise((r) => setTimeout(r, intervalMs));
        }
      } finally {
        for (const s of stores.values()) await s.close();
      }
    });
}
