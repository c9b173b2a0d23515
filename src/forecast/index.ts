// Public surface of traffic forecasting (DESIGN.md §11, docs/forecast.md).
export * from './types.ts';
export { ForecastError, FORECAST_ERRORS, type ForecastErrorCode } from './errors.ts';
export { calendar, dayOfWeek, dayType, slotOfDay, slotOfWeek } from './time.ts';
export * from './models/index.ts';
export { runBacktest, type BacktestOptions, type BacktestResult, type ModelScores } from './backtest.ts';
export { backtestMarkdown, targets, METR_LA, type Target } from './report.ts';
export { ErrorAccumulator, type Metrics } from './metrics.ts';
export { RidgeAccumulator } from './ridge.ts';
export { panelNeighbours, type Neighbours } from './neighbours.ts';
export { bucketSql, fromFirstData, joinPanels, loadPanel, panelFromBuckets, type BucketRow } from './panel.ts';
export { createOnlineForecaster, FORECAST_TABLE, type OnlineForecaster, type OnlineOptions, type TickResult } from './online.ts';
