// Additive Holt-Winters (triple exponential smoothing) with a daily season, per cell
// (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", §8.3):
//   level  l_t = α (y_t − s_{t−m}) + (1 − α)(l_{t−1} + b_{t−1})
//   trend  b_t = β (l_t − l_{t−1}) + (1 − β) b_{t−1}
//   season s_t = γ (y_t − l_t) + (1 − γ) s_{t−m}
//   ŷ_{t+h} = l_t + h·b_t + s_{t+h−m}            (h ≤ m)
// started from the first season (l = its mean, b = 0, s_i = y_i − l). No maintained JS package
// does this, so it is written here. α, β, γ are chosen per variable from a small grid by the
// one-step squared error on the training steps, pooled over a sample of cells (one triple
// per variable: per-cell grids cost seconds on a segment and fit the noise).
// The filter state is advanced from the last origin to the next, so a backtest that walks its
// origins forward runs each cell's filter once.
import { VARIABLES, series, type ForecastModel, type Panel, type Variable } from '../types.ts';

export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
}

export interface HoltWintersOptions {
  /** Season length in steps (default one day of 5-minute steps). */
  season?: number;
  /** Fixed smoothing parameters per variable (skips the grid search). */
  params?: Partial<Record<Variable, HoltWintersParams>>;
  /** Cells the grid search looks at (evenly spaced over the panel). */
  sampleCells?: number;
}

const GRID: HoltWintersParams[] = [];
for (const alpha of [0.2, 0.4, 0.6, 0.8]) for (const beta of [0, 0.02]) for (const gamma of [0.05, 0.15, 0.3]) GRID.push({ alpha, beta, gamma });

/** One cell's filter state. */
class Filter {
  level = 0;
  trend = 0;
  readonly seasonal: Float64Array;
  constructor(season: number) {
    this.seasonal = new Float64Array(season);
  }
  /** Starts from the first season of `y` (indexes base … base+m−1). */
  start(y: Float32Array, base: number): void {
    const m = this.seasonal.length;
    let sum = 0;
    for (let i = 0; i < m; i++) sum += y[base + i]!;
    this.level = sum / m;
    this.trend = 0;
    for (let i = 0; i < m; i++) this.seasonal[i] = y[base + i]! - this.level;
  }
  /** Takes observation number t (t ≥ m) and returns the one-step error made before it. */
  step(yt: number, t: number, p: HoltWintersParams): number {
    const m = this.seasonal.length;
    const k = t % m;
    const s = this.seasonal[k]!;
    const error = yt - (this.level + this.trend + s);
    const level = p.alpha * (yt - s) + (1 - p.alpha) * (this.level + this.trend);
    this.trend = p.beta * (level - this.level) + (1 - p.beta) * this.trend;
    this.level = level;
    this.seasonal[k] = p.gamma * (yt - level) + (1 - p.gamma) * s;
    return error;
  }
  /** Forecast h steps after observation t. */
  ahead(t: number, h: number): number {
    const m = this.seasonal.length;
    return this.level + h * this.trend + this.seasonal[(t + h) % m]!;
  }
}

export function createHoltWinters(opts: HoltWintersOptions = {}): ForecastModel {
  const m = opts.season ?? 288;
  const params: Partial<Record<Variable, HoltWintersParams>> = { ...opts.params };
  let filters: Record<Variable, Filter[]> | undefined;
  let forPanel: Panel | undefined;
  let cursor = -1; // last observation the filters have taken

  const reset = (panel: Panel): void => {
    const make = () => panel.cells.map(() => new Filter(m));
    filters = { speed: make(), flow: make() };
    for (const v of VARIABLES) filters[v].forEach((f, c) => f.start(series(panel, v), c * panel.steps));
    forPanel = panel;
    cursor = m - 1;
  };

  return {
    name: 'holt-winters',
    minHistory: m + 1,
    fit(panel, trainEnd) {
      const sample = Math.min(panel.cells.length, opts.sampleCells ?? 64);
      for (const v of VARIABLES) {
        if (opts.params?.[v]) continue;
        const y = series(panel, v);
        let best = GRID[0]!;
        let bestSse = Infinity;
        for (const p of GRID) {
          let sse = 0;
          for (let i = 0; i < sample; i++) {
            const c = Math.floor((i * panel.cells.length) / sample);
            const f = new Filter(m);
            f.start(y, c * panel.steps);
            for (let t = m; t < trainEnd; t++) {
              const e = f.step(y[c * panel.steps + t]!, t, p);
              if (t >= 2 * m) sse += e * e; // the second season on: the start has settled
            }
          }
          if (sse < bestSse) {
            bestSse = sse;
            best = p;
          }
        }
        params[v] = best;
      }
      forPanel = undefined;
    },
    predict(panel, origin, horizons, out) {
      if (forPanel !== panel || origin < cursor) reset(panel);
      const n = panel.cells.length;
      for (const v of VARIABLES) {
        const y = series(panel, v);
        const p = params[v] ?? GRID[0]!;
        const fs = filters![v];
        for (let c = 0; c < n; c++) {
          const f = fs[c]!;
          for (let t = cursor + 1; t <= origin; t++) f.step(y[c * panel.steps + t]!, t, p);
          for (let h = 0; h < horizons.length; h++) out[v][h * n + c] = f.ahead(origin, horizons[h]!);
        }
      }
      cursor = Math.max(cursor, origin);
    },
  };
}
