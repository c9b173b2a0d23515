// The three baselines without parameters to estimate beyond averages (docs/forecast.md §2):
// persistence (the last window), historical average by time of week (the mean of the same
// slot in the training weeks, as in DCRNN's "HA"), and seasonal naive (the same slot one week
// earlier).
import { ForecastError } from '../errors.ts';
import { calendar } from '../time.ts';
import { STEPS_PER_DAY, STEPS_PER_WEEK, VARIABLES, series, type Forecast, type ForecastModel, type Panel } from '../types.ts';

export function createPersistence(): ForecastModel {
  return {
    name: 'persistence',
    minHistory: 1,
    fit() {},
    predict(panel, origin, horizons, out) {
      const n = panel.cells.length;
      for (const v of VARIABLES) {
        const s = series(panel, v);
        for (let c = 0; c < n; c++) {
          const last = s[c * panel.steps + origin]!;
          for (let h = 0; h < horizons.length; h++) out[v][h * n + c] = last;
        }
      }
    },
  };
}

export function createHistoricalAverage(): ForecastModel {
  let means: Record<'speed' | 'flow', Float64Array> | undefined;
  let cellCount = 0;
  return {
    name: 'historical-average',
    minHistory: 0,
    fit(panel, trainEnd) {
      const n = panel.cells.length;
      cellCount = n;
      const slots = calendar(panel).week;
      means = { speed: new Float64Array(n * STEPS_PER_WEEK), flow: new Float64Array(n * STEPS_PER_WEEK) };
      for (const v of VARIABLES) {
        const s = series(panel, v);
        const m = means[v];
        const count = new Float64Array(STEPS_PER_WEEK);
        for (let t = 0; t < trainEnd; t++) count[slots[t]!]! += 1;
        for (let c = 0; c < n; c++) {
          let all = 0;
          for (let t = 0; t < trainEnd; t++) {
            const y = s[c * panel.steps + t]!;
            m[c * STEPS_PER_WEEK + slots[t]!]! += y;
            all += y;
          }
          // A slot the training never saw takes the cell's overall mean.
          for (let k = 0; k < STEPS_PER_WEEK; k++) m[c * STEPS_PER_WEEK + k] = count[k]! > 0 ? m[c * STEPS_PER_WEEK + k]! / count[k]! : all / Math.max(1, trainEnd);
        }
      }
    },
    predict(panel, origin, horizons, out) {
      if (!means || cellCount !== panel.cells.length) throw new ForecastError('NOT_FITTED', 'historical-average');
      const n = panel.cells.length;
      for (let h = 0; h < horizons.length; h++) {
        const slot = calendar(panel).week[origin + horizons[h]!]!;
        for (const v of VARIABLES) for (let c = 0; c < n; c++) out[v][h * n + c] = means[v][c * STEPS_PER_WEEK + slot]!;
      }
    },
  };
}

/** The same slot `season` steps earlier (default one week); a day earlier while the history is shorter. */
export function createSeasonalNaive(season = STEPS_PER_WEEK, fallback = STEPS_PER_DAY): ForecastModel {
  return {
    name: 'seasonal-naive',
    minHistory: fallback,
    fit() {},
    predict(panel: Panel, origin: number, horizons: readonly number[], out: Forecast) {
      const n = panel.cells.length;
      for (let h = 0; h < horizons.length; h++) {
        const target = origin + horizons[h]!;
        const back = target - season >= 0 ? target - season : target - fallback * Math.ceil(horizons[h]! / fallback);
        if (back < 0) throw new ForecastError('HISTORY_TOO_SHORT', 'seasonal-naive', fallback, origin + 1);
        for (const v of VARIABLES) {
          const s = series(panel, v);
          for (let c = 0; c < n; c++) out[v][h * n + c] = s[c * panel.steps + back]!;
        }
      }
    },
  };
}
