// Rolling-origin backtest (docs/forecast.md §3): every model is fitted once on the training
// steps [0, trainEnd), then walks the held-back steps: at each origin it sees everything up to
// the origin and forecasts 3, 6 and 12 steps ahead; errors are pooled over cells and origins.
// Costly models (SARIMA refits per series and origin) run on a sample of cells and origins;
// every other model is scored on that same sample too, so the comparison there is paired.
import { ErrorAccumulator, type Metrics } from './metrics.ts';
import { ForecastError } from './errors.ts';
import { HORIZONS, VARIABLES, newForecast, series, type ForecastModel, type Panel, type Variable } from './types.ts';

export interface BacktestOptions {
  panel: Panel;
  /** First held-back step: models learn from [0, trainEnd). */
  trainEnd: number;
  models: ForecastModel[];
  horizons?: readonly number[];
  /** Score every `originEvery` steps (default 1: every origin). */
  originEvery?: number;
  /** The paired sample: this many cells (evenly spaced), an origin every `originEvery` steps. */
  sample?: { cells: number; originEvery: number };
  /** MAPE leaves out actual values below these. */
  mapeFloor?: Record<Variable, number>;
  log?: (line: string) => void;
}

export type ModelScores = Record<Variable, Metrics[]>;

export interface BacktestResult {
  horizons: number[];
  stepS: number;
  cells: number;
  trainSteps: number;
  heldBackSteps: number;
  origins: number;
  /** Scores over every cell and origin (costly models absent). */
  all: Record<string, ModelScores>;
  sample: { cells: number; origins: number; scores: Record<string, ModelScores> };
  /** Wall time per model: fit and all predictions, ms. */
  timing: Record<string, { fitMs: number; predictMs: number }>;
}

export function runBacktest(o: BacktestOptions): BacktestResult {
  const { panel, trainEnd } = o;
  const horizons = [...(o.horizons ?? HORIZONS)];
  const maxH = Math.max(...horizons);
  const every = o.originEvery ?? 1;
  const sampleEvery = o.sample?.originEvery ?? 24;
  const floor = o.mapeFloor ?? { speed: 1, flow: 1 };
  const n = panel.cells.length;
  if (trainEnd <= 0 || trainEnd + maxH > panel.steps) throw new ForecastError('BAD_OPTION', 'trainEnd', `must leave at least ${maxH} held-back steps (panel has ${panel.steps}, trainEnd ${trainEnd})`);
  for (const m of o.models) if (trainEnd - 1 < m.minHistory) throw new ForecastError('HISTORY_TOO_SHORT', m.name, m.minHistory, trainEnd);

  const sampleCount = Math.min(n, o.sample?.cells ?? 32);
  const sampleCells = Array.from({ length: sampleCount }, (_, i) => Math.floor(((i + 0.5) * n) / sampleCount));
  const accs = () => Object.fromEntries(VARIABLES.map((v) => [v, horizons.map(() => new ErrorAccumulator(floor[v]))])) as Record<Variable, ErrorAccumulator[]>;
  const all = new Map<string, Record<Variable, ErrorAccumulator[]>>();
  const sample = new Map<string, Record<Variable, ErrorAccumulator[]>>();
  const timing: BacktestResult['timing'] = {};
  for (const m of o.models) {
    if (!m.costly) all.set(m.name, accs());
    sample.set(m.name, accs());
    const t0 = performance.now();
    m.fit(panel, trainEnd);
    timing[m.name] = { fitMs: performance.now() - t0, predictMs: 0 };
    o.log?.(`fitted ${m.name} in ${Math.round(timing[m.name]!.fitMs)} ms`);
  }

  const out = newForecast(n, horizons.length);
  const score = (acc: Record<Variable, ErrorAccumulator[]>, origin: number, cells: Iterable<number>): void => {
    for (const v of VARIABLES) {
      const y = series(panel, v);
      for (let h = 0; h < horizons.length; h++) {
        const a = acc[v][h]!;
        for (const c of cells) a.add(y[c * panel.steps + origin + horizons[h]!]!, out[v][h * n + c]!);
      }
    }
  };
  const allCells = { [Symbol.iterator]: function* () { for (let c = 0; c < n; c++) yield c; } };
  let origins = 0;
  let sampleOrigins = 0;
  for (let origin = trainEnd - 1, k = 0; origin + maxH < panel.steps; origin++, k++) {
    const inAll = k % every === 0;
    const inSample = k % sampleEvery === 0;
    if (!inAll && !inSample) continue;
    if (inAll) origins++;
    if (inSample) sampleOrigins++;
    for (const m of o.models) {
      if (m.costly && !inSample) continue;
      const t0 = performance.now();
      m.predict(panel, origin, horizons, out, m.costly ? sampleCells : undefined);
      timing[m.name]!.predictMs += performance.now() - t0;
      if (inAll && !m.costly) score(all.get(m.name)!, origin, allCells);
      if (inSample) score(sample.get(m.name)!, origin, sampleCells);
    }
    if (o.log && inSample && sampleOrigins % 12 === 1) o.log(`origin ${origin - trainEnd + 1}/${panel.steps - trainEnd - maxH}`);
  }
  const done = (m: Map<string, Record<Variable, ErrorAccumulator[]>>) =>
    Object.fromEntries([...m].map(([name, acc]) => [name, Object.fromEntries(VARIABLES.map((v) => [v, acc[v].map((a) => a.result())])) as ModelScores]));
  return {
    horizons, stepS: panel.stepS, cells: n, trainSteps: trainEnd, heldBackSteps: panel.steps - trainEnd, origins,
    all: done(all), sample: { cells: sampleCount, origins: sampleOrigins, scores: done(sample) }, timing,
  };
}
