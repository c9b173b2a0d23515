// The forecasting seam (docs/forecast.md §2): every model sees the same Panel and answers for
// every cell at once, so the backtest, the online forecaster and the speed bench drive all
// models through one interface.

/** Forecast horizons in steps of 5 minutes: 15, 30 and 60 minutes. */
export const HORIZONS = [3, 6, 12] as const;
export const STEP_S = 300;
export const STEPS_PER_DAY = 288;
export const STEPS_PER_WEEK = 7 * STEPS_PER_DAY;

/** The two forecast targets. */
export const VARIABLES = ['speed', 'flow'] as const;
export type Variable = (typeof VARIABLES)[number];

/**
 * A grid of 5-minute windows per cell: series[v][c * steps + t]. `startS` is the first window's
 * start (epoch s); `utcOffsetS` turns it into local time for the time-of-day and day-of-week
 * rhythm. `neighbours` holds, per cell, the panel indexes of its H3 ring-1 and ring-2 cells.
 */
export interface Panel {
  cells: readonly string[];
  startS: number;
  stepS: number;
  steps: number;
  utcOffsetS: number;
  speed: Float32Array;
  flow: Float32Array;
}

/** Out-parameter of predict: values[v][h * cells + c] for horizons[h]. */
export interface Forecast {
  speed: Float64Array;
  flow: Float64Array;
}

export interface ForecastModel {
  readonly name: string;
  /** Least history (steps before the origin) the model needs to predict. */
  readonly minHistory: number;
  /** Too slow to run on every cell and origin: the backtest runs it on a sample only. */
  readonly costly?: boolean;
  /** Learn from steps [0, trainEnd) of the panel. */
  fit(panel: Panel, trainEnd: number): void;
  /**
   * Forecast every cell from origin `origin` (the last observed step) at each horizon, using
   * only steps ≤ origin. Origins may come in any order; in increasing order is fastest.
   * With `cells`, only those cells' entries of `out` must be filled (others may be left).
   */
  predict(panel: Panel, origin: number, horizons: readonly number[], out: Forecast, cells?: readonly number[]): void;
}

export function newForecast(cells: number, horizons: number): Forecast {
  return { speed: new Float64Array(cells * horizons), flow: new Float64Array(cells * horizons) };
}

export function series(panel: Panel, v: Variable): Float32Array {
  return v === 'speed' ? panel.speed : panel.flow;
}
