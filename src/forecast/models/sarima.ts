// SARIMA(p,0,q)(0,1,0)_m through npm `arima` (ctsa compiled to WebAssembly), refitted at every
// origin on a trailing window of each cell's series: conditional sum of squares, L-BFGS.
// Choices (docs/forecast.md §2): the seasonal difference at m = 288 (one day) carries the daily
// rhythm; seasonal AR/MA terms at that lag make this build run out of WebAssembly memory
// ("memory access out of bounds"), so there are none. Exact maximum likelihood (method 0)
// returned explosive fits for 25 of 192 simulated series (forecasts of 1e+26 km/h), conditional
// sum of squares for none, at the same accuracy elsewhere; a fit that still diverges falls back
// to the seasonal naive value (the model's own forecast with a zero ARMA part). A fit takes ~10–20 ms for three days of
// 5-minute values, so the backtest runs it on a sample of cells and origins (`costly`).
import ARIMA from 'arima';
import { VARIABLES, series, type ForecastModel } from '../types.ts';

export interface SarimaOptions {
  p?: number;
  q?: number;
  /** Seasonal period in steps (default one day). */
  season?: number;
  /** Trailing steps each fit sees (default three seasons). */
  window?: number;
}

export function createSarima(opts: SarimaOptions = {}): ForecastModel & { costly: true } {
  const p = opts.p ?? 1;
  const q = opts.q ?? 1;
  const s = opts.season ?? 288;
  const window = opts.window ?? 3 * s;
  const buf = new Array<number>(window);
  return {
    name: 'sarima',
    costly: true,
    minHistory: window,
    fit() {},
    predict(panel, origin, horizons, out, cells) {
      const n = panel.cells.length;
      const maxH = Math.max(...horizons);
      const which = cells ?? Array.from({ length: n }, (_, c) => c);
      // One instance, retrained per series: each train() frees the previous fit's memory.
      const model = new ARIMA({ p, d: 0, q, P: 0, D: 1, Q: 0, s, method: 1, verbose: false });
      try {
        for (const v of VARIABLES) {
          const y = series(panel, v);
          for (const c of which) {
          const base = c * panel.steps + origin - window + 1;
            let top = 0;
            for (let i = 0; i < window; i++) {
              buf[i] = y[base + i]!;
              top = Math.max(top, Math.abs(buf[i]!));
            }
            const [pred] = model.train(buf).predict(maxH);
            for (let h = 0; h < horizons.length; h++) {
              const k = horizons[h]!;
              const value = pred[k - 1];
              const sane = value !== undefined && Number.isFinite(value) && Math.abs(value) <= 10 * top + 1;
              out[v][h * n + c] = sane ? value : y[c * panel.steps + origin + k - s]!;
            }
          }
        }
      } finally {
        model.destroy();
      }
    },
  };
}
