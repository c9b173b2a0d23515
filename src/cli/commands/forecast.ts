import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badOption, intOption, seedOption, stateDirOption, topologyOption } from '../options.ts';
import { onStopSignal } from '../signals.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface BacktestRunOptions {
  days: number;
  heldBackDays: number;
  models: string[];
  originEvery: number;
  sampleCells: number;
  sampleEvery: number;
  log?: (line: string) => void;
}

export interface SimulatedBacktestOptions extends BacktestRunOptions {
  /** default: the example topology */
  topologyFile?: string;
  seed: number;
  profile: string;
}

type Panel = import('../../forecast/index.ts').Panel;

/** Rolling-origin backtest of a panel whose last `heldBackDays` are held back, with its tables. */
async function backtestPanel(panel: Panel, o: BacktestRunOptions, title: string, description: string, dataset: Record<string, unknown>) {
  const fc = await import('../../forecast/index.ts');
  if (!(o.heldBackDays >= 1 && o.heldBackDays < o.days)) throw new fc.ForecastError('BAD_OPTION', '--held-back', 'must be at least 1 day and fewer than --days');
  const models = o.models.map(fc.createModel);
  const t0 = performance.now();
  const result = fc.runBacktest({
    panel, trainEnd: panel.steps - o.heldBackDays * fc.STEPS_PER_DAY, models, originEvery: o.originEvery,
    sample: { cells: o.sampleCells, originEvery: o.sampleEvery }, log: o.log,
  });
  const markdown = fc.backtestMarkdown(title, description, result);
  const described: Record<string, unknown> = { ...dataset, days: o.days, heldBackDays: o.heldBackDays, cells: panel.cells.length };
  return { dataset: described, result, targets: fc.targets(result), markdown, wallS: (performance.now() - t0) / 1000 };
}

/** Simulated weeks → panel → backtest (the default `iov forecast --backtest`). */
export async function simulatedBacktest(o: SimulatedBacktestOptions) {
  const { loadTopology } = await import('../../topology/index.ts');
  const { DEFAULT_TOPOLOGY_FILE } = await import('../../runtime/index.ts');
  const { simulateWeeks, PROFILES } = await import('../../sim/index.ts');
  const { ForecastError } = await import('../../forecast/index.ts');
  const profile = PROFILES[o.profile];
  if (!profile) throw new ForecastError('BAD_OPTION', '--profile', `unknown profile "${o.profile}" (known: ${Object.keys(PROFILES).join(', ')})`);
  const topology = loadTopology(o.topologyFile ?? DEFAULT_TOPOLOGY_FILE);
  const t0 = performance.now();
  const { panel } = simulateWeeks({ topology, seed: o.seed, days: o.days, profile });
  o.log?.(`simulated ${panel.cells.length} cells × ${panel.steps} steps in ${Math.round(performance.now() - t0)} ms`);
  return backtestPanel(panel, o, `Simulated Shanghai, profile ${o.profile}, seed ${o.seed}`,
    `Data: ${panel.cells.length} road cells (H3 res ${topology.h3.resolution}), ${o.days} days from src/sim/weeks.ts, of which the last ${o.heldBackDays} are held back.`,
    { source: 'sim', generator: 'src/sim/weeks.ts', profile: o.profile, seed: o.seed });
}

/** traffic_flow of every segment in its own cloud's store, the last `days` up to the newest window → backtest. */
export async function storeBacktest(o: BacktestRunOptions & { topology: import('../../topology/index.ts').Topology; stores: ReadonlyMap<string, import('../../store/index.ts').Store>; utcOffsetS: number }) {
  const fc = await import('../../forecast/index.ts');
  let end = 0;
  for (const store of new Set(o.stores.values())) {
    const [row] = await store.query<{ end: number | string }>('SELECT toUInt32(max(window_start + window_s)) AS end FROM traffic_flow');
    end = Math.max(end, Number(row?.end ?? 0));
  }
  end = Math.floor(end / fc.STEP_S) * fc.STEP_S;
  if (end === 0) throw new fc.ForecastError('BAD_OPTION', '--source store', 'the stores hold no traffic_flow windows');
  const from = end - o.days * 86400;
  const panels = [];
  for (const seg of o.topology.segments) panels.push(await fc.loadPanel(o.stores.get(seg.cloud)!, seg.id, from, end, o.utcOffsetS));
  const panel = fc.joinPanels(panels.filter((p) => p.cells.length > 0));
  o.log?.(`loaded ${panel.cells.length} cells × ${panel.steps} steps from ${o.stores.size} stores`);
  const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return backtestPanel(panel, o, `traffic_flow of ${o.topology.name}, ${iso(from)} – ${iso(end)} UTC`,
    `Data: ${panel.cells.length} cells with windows in the stores, ${o.days} days up to the newest window, of which the last ${o.heldBackDays} are held back.`,
    { source: 'store', topology: o.topology.name, fromS: from, toS: end });
}


type BacktestRun = Awaited<ReturnType<typeof simulatedBacktest>>;

function runOptions(opts: ForecastCliOpts, log: (line: string) => void): BacktestRunOptions {
  return {
    days: intOption('--days', opts.days, 2), heldBackDays: intOption('--held-back', opts.heldBack, 1), models: opts.models.split(',').map((m) => m.trim()).filter(Boolean),
    originEvery: intOption('--origin-every', opts.originEvery, 1), sampleCells: intOption('--sample-cells', opts.sampleCells, 1), sampleEvery: intOption('--sample-every', opts.sampleEvery, 1), log,
  };
}

/** bench/results/<date>-forecast-backtest-<label>.{json,md}; the tables on stdout, missed targets on stderr. */
function writeBacktest(dir: string, label: string, runs: BacktestRun[]): void {
  const base = join(dir, `${new Date().toISOString().slice(0, 10)}-forecast-backtest-${label}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify({ runs: runs.map(({ markdown: _m, ...r }) => r) }, null, 2)}\n`);
  writeFileSync(`${base}.md`, `# Forecast backtest (${label})\n\n${runs.map((r) => r.markdown).join('\n')}`);
  process.stdout.write(runs.map((r) => r.markdown).join('\n'));
  const missed = runs.flatMap((r) => r.targets.filter((t) => !t.met).map((t) => `${r.dataset.source} ${String(r.dataset.seed ?? '')}: ${t.what} (${t.variable}, ${t.horizonMin} min)`));
  process.stderr.write(`results: ${base}.json, ${base}.md; targets missed: ${missed.length ? missed.join('; ') : 'none'}\n`);
}

interface ForecastCliOpts {
  topology?: string;
  stateDir?: string;
  backtest?: boolean;
  simulate?: boolean;
  online?: boolean;
  source: string;
  utcOffset: string;
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
  seedOption(stateDirOption(topologyOption(program
    .command('forecast')
    .description('traffic forecasting: --backtest (simulated weeks, DCRNN-style tables), --simulate (write weeks into the stores), --online (write traffic_forecast)')
    .option('--backtest', 'rolling-origin backtest on simulated weeks; JSON + Markdown into --out')
    .option('--simulate', 'write simulated weeks of traffic_flow (5-minute windows) into each segment\'s store')
    .option('--online', 'the online forecaster: one issue per closed 5-minute bucket into traffic_forecast')
    .option('--source <sim|store>', 'backtest data: simulated weeks, or traffic_flow in the stores of --topology', 'sim')
    .option('--utc-offset <hours>', 'backtest --source store: local time of the data (rush hours, weekends)', '8'))))
    .option('--seeds <list>', 'backtest several seeds, e.g. 1,2,3 (overrides --seed)')
    .option('--days <n>', 'days of data: simulated, or (--source store) up to the newest window', '28')
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
      if (modes !== 1) throw badOption('give exactly one of --backtest, --simulate, --online');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      if (opts.backtest && opts.source === 'sim') {
        const seeds = (opts.seeds ?? opts.seed).split(',').map((s) => intOption('--seeds', s.trim(), 0));
        const runs = [];
        for (const seed of seeds) runs.push(await simulatedBacktest({ ...runOptions(opts, log), topologyFile: opts.topology, seed, profile: opts.profile }));
        writeBacktest(opts.out, `${opts.profile}-seed${seeds.join('-')}`, runs);
        return;
      }
      if (opts.source !== 'sim' && opts.source !== 'store') throw badOption(`--source must be sim or store, got ${JSON.stringify(opts.source)}`);

      const { openRuntime } = await import('../../runtime/index.ts');
      const rt = await openRuntime({ topology: opts.topology, stateDir: opts.stateDir, clientId: 'iov-forecast' });
      const topo = rt.topology;
      const stores = new Map((await rt.stores()).map((s) => [s.cloud, s]));
      try {
        for (const s of stores.values()) await s.migrate();
        if (opts.backtest) {
          const utcOffsetS = Math.round(Number(opts.utcOffset) * 3600);
          if (!Number.isFinite(utcOffsetS)) throw badOption(`--utc-offset must be hours, got ${JSON.stringify(opts.utcOffset)}`);
          writeBacktest(opts.out, 'store', [await storeBacktest({ ...runOptions(opts, log), topology: topo, stores, utcOffsetS })]);
          return;
        }
        if (opts.simulate) {
          const { simulateWeeks, writeWeeks, PROFILES } = await import('../../sim/index.ts');
          const profile = PROFILES[opts.profile];
          if (!profile) throw badOption(`--profile: unknown profile "${opts.profile}"`);
          const days = intOption('--days', opts.days, 1);
          // Ends at the last whole 5 minutes before now, so the online forecaster has history to read.
          const end = Math.floor(Date.now() / 1000 / 300) * 300;
          const weeks = simulateWeeks({ topology: topo, seed: intOption('--seed', opts.seed, 0), days, profile, startS: end - days * 86400 });
          const rows = await writeWeeks(weeks, topo, stores);
          process.stdout.write(`${JSON.stringify({ cells: weeks.panel.cells.length, days, rows })}\n`);
          return;
        }
        const fc = await import('../../forecast/index.ts');
        const { SHANGHAI_UTC_OFFSET_S } = await import('../../sim/index.ts');
        const segments = opts.segment ? topo.segments.filter((s) => s.id === opts.segment) : topo.segments;
        if (segments.length === 0) throw badOption(`--segment: unknown segment "${opts.segment}"`);
        const forecasters = segments.map((s) => fc.createOnlineForecaster({
          store: stores.get(s.cloud)!, segment: s.id, model: fc.createModel(opts.model), utcOffsetS: SHANGHAI_UTC_OFFSET_S,
          historyDays: intOption('--history-days', opts.historyDays, 1), log,
        }));
        const intervalMs = intOption('--interval', opts.interval, 1) * 1000;
        // A signal ends the loop after the tick in progress, or at once between ticks.
        let stop = false;
        let wake = () => {};
        onStopSignal(() => {
          stop = true;
          wake();
        });
        if (!opts.once) process.stdout.write(`forecaster running: ${segments.map((s) => s.id).join(', ')}; model ${opts.model}, every ${intervalMs / 1000} s (Ctrl-C stops)\n`);
        while (!stop) {
          for (const [i, f] of forecasters.entries()) log(`${segments[i]!.id}: ${JSON.stringify(await f.tick())}`);
          if (opts.once || stop) break;
          await new Promise<void>((r) => {
            const timer = setTimeout(r, intervalMs);
            wake = () => {
              clearTimeout(timer);
              r();
            };
          });
        }
      } finally {
        await rt.close();
      }
    });
}
